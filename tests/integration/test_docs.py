"""Documentation is part of the feature: every command has --help, every man page renders."""
import os
import re
import subprocess

import pytest

from conftest import DROVER, DROVERFS, ROOT

MAN_PAGES = ["droverfs.8", "drover.1", "drover-cfs.1", "drover-sandbox.1", "drover-cluster.1",
             "drover-replication.1", "drover-storage.1", "drover-vm.1", "drover-node.1", "drover-task.1",
             "droverd.8", "drover-ct.1"]
COMMANDS = [[], ["cfs"], ["cfs", "status"], ["cfs", "watch"], ["cfs", "log"], ["cfs", "flush"],
            ["sandbox"]] + [["sandbox", c] for c in (
                "up", "down", "status", "list", "shell", "exec", "cut", "heal", "netem",
                "start", "stop", "restart")] + [["cluster"]] + [["cluster", c] for c in (
                    "create", "add", "join-info", "status", "nodes", "expected", "delnode",
                    "nextid", "updatecerts", "separate", "qdevice")] + [
                        ["cluster", "qdevice", c] for c in ("setup", "remove")] + [
                            ["replication"]] + [["replication", c] for c in (
                                "create-local-job", "update", "delete", "enable", "disable",
                                "list", "read", "status", "run", "schedule-now", "log",
                                "calendar", "metrics", "prepare-local-job",
                                "finalize-local-job", "set-state")] + [
                                ["storage"]] + [["storage", c] for c in (
                                    "status", "config", "add", "set", "remove", "list", "alloc",
                                    "free", "path", "resize", "snapshot", "delsnapshot", "rollback",
                                    "snapshots", "export", "import", "copy")] + [
                                ["task"], ["task", "list"], ["task", "log"], ["task", "stop"],
                                ["node"], ["node", "status"], ["node", "startall"],
                                ["node", "stopall"], ["vm"]] + [["vm", c] for c in (
                                    "create", "set", "config", "list", "showcmd", "start", "stop",
                                    "shutdown", "reboot", "suspend", "resume", "status",
                                    "destroy", "snapshot", "rollback", "delsnapshot",
                                    "listsnapshot", "unlock", "agent", "resize", "terminal",
                                    "monitor", "recover")] + [["ct"]] + [["ct", c] for c in (
                                    "template", "create", "set", "config", "list", "start",
                                    "stop", "shutdown", "status", "enter", "exec", "destroy",
                                    "snapshot", "rollback", "delsnapshot", "listsnapshot",
                                    "unlock", "recover")]


@pytest.mark.parametrize("page", MAN_PAGES)
def test_man_page_renders_cleanly(page):
    """man renders the page without groff warnings."""
    path = os.path.join(ROOT, "docs", page)
    proc = subprocess.run(["man", "--warnings", "-l", path], capture_output=True, text=True,
                          env=dict(os.environ, MANWIDTH="80", MAN_KEEP_FORMATTING="0"))
    assert proc.returncode == 0, proc.stderr
    assert proc.stderr == "", proc.stderr
    text = re.sub(".\b", "", proc.stdout)  # drop overstrike (bold) formatting
    assert "SYNOPSIS" in text and "SEE ALSO" in text


@pytest.mark.parametrize("args", COMMANDS, ids=lambda a: " ".join(a) or "drover")
def test_help(args):
    """Every command and group answers --help on stdout with exit 0."""
    proc = subprocess.run([DROVER] + args + ["--help"], capture_output=True, text=True)
    assert proc.returncode == 0, proc.stderr
    assert proc.stdout.startswith("Usage: drover")


def test_droverfs_help_and_bad_options():
    """droverfs --help works; a bad option or value exits 2 with a message."""
    proc = subprocess.run([DROVERFS, "--help"], capture_output=True, text=True)
    assert proc.returncode == 0 and "Usage: droverfs" in proc.stdout
    for bad in (["--nodename", "-bad-"], ["--max-file-size", "lots"], ["--max-entries", "3"],
                ["--mount", "relative"], ["extra"]):
        proc = subprocess.run([DROVERFS, "-f", "-l"] + bad, capture_output=True, text=True)
        assert proc.returncode == 2, bad
        assert proc.stderr.startswith("droverfs:"), proc.stderr


def test_droverd_help_and_bad_options():
    """droverd --help works; a bad option or value exits 2 with a message."""
    droverd = os.path.join(os.path.dirname(DROVERFS), "..", "droverd", "droverd")
    proc = subprocess.run([droverd, "--help"], capture_output=True, text=True)
    assert proc.returncode == 0 and "Usage: droverd" in proc.stdout
    for bad in (["--interval", "0"], ["--interval", "soon"], ["--socket", "relative"],
                ["--stop-timeout", "-1"], ["--nope"], ["extra"]):
        proc = subprocess.run([droverd, "-f"] + bad, capture_output=True, text=True)
        assert proc.returncode == 2, bad
        assert proc.stderr.startswith("droverd:"), proc.stderr


def test_unknown_command_is_a_usage_error():
    proc = subprocess.run([DROVER, "cfs", "nope"], capture_output=True, text=True)
    assert proc.returncode == 2
    assert "unknown command 'drover cfs nope'" in proc.stderr
