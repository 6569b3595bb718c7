"""drover ct on a 2-node sandbox: real LXC, btrfs subvolumes on loop files.

A container from the busybox template on local-btrfs: created, started,
`exec` runs inside (a file it writes is in the root volume on the host), a
snapshot and a rollback restore that file, a clean shutdown, destroy frees
the volume. A locked container refuses start; a VMID is unique across the
nodes; hostile inputs (a bad template, an unknown storage, another VMID's
volume, a bad or bridgeless net0, memory 0) fail with a clear error and
create nothing; destroy refuses a running or protected container. `enter`
runs a shell inside, from stdin and on a terminal; a container whose init
dies is cleaned up after by droverd; hostile configs written by hand
(unknown keys, memory 0, an unknown storage, another CTID's volume, a
missing bridge, a 10 MB file) fail with FILE:LINE where it applies and
start nothing; destroy refuses a container with replication jobs unless
--purge, which removes them.
"""
import json
import os
import pty
import re
import select
import time

import pytest

from cluster_cli import drover
from polling import wait_for
from conftest import _sandbox_ready
from sandbox import Sandbox

BTRFS = "/var/lib/drover/local-btrfs"
CTIDS = (8101, 8102, 8103, 8105, 8106, 8107)


@pytest.fixture(scope="module")
def sb():
    if not _sandbox_ready():
        pytest.skip("drover sandbox needs root, corosync, iproute2 and iptables")
    if not os.path.exists("/usr/bin/lxc-start") or not os.path.exists("/bin/busybox"):
        pytest.skip("needs lxc and busybox-static (scripts/install-deps)")
    s = Sandbox(f"hct{os.getpid() % 10000}", nodes=2)
    try:
        s.up()
        yield s
    finally:
        # LXC's monitors are not the node's: stop what a failed test left running
        for node in s.node_names:
            for ctid in CTIDS:
                s.exec(node, "lxc-stop", "-P", "/run/drover/lxc", "-n", str(ctid), "-k",
                       check=False)
        s.down(check=False)


def ct(sb, node, *args, check=True, timeout=120, input=None):
    if input is None:
        return drover(sb, node, "ct", *[str(a) for a in args], check=check, timeout=timeout)
    proc = sb.exec(node, "drover", "ct", *[str(a) for a in args], check=False, timeout=timeout,
                   input=input)
    assert not check or proc.returncode == 0, proc.stdout + proc.stderr
    return proc


def fails(sb, node, *args):
    proc = ct(sb, node, *args, check=False)
    out = proc.stdout + proc.stderr
    assert proc.returncode != 0, f"drover ct {args} succeeded:\n{out}"
    return out


def conf_exists(sb, node, ctid):
    return sb.exec(node, "test", "-e", f"/etc/drover/nodes/{node}/lxc/{ctid}.conf",
                   check=False).returncode == 0


def volumes(sb, node):
    proc = sb.exec(node, "ls", f"{BTRFS}/images", check=False)
    return proc.stdout.split() if proc.returncode == 0 else []


@pytest.fixture(scope="module")
def template(sb):
    out = ct(sb, "node1", "template", "busybox", "--storage", "shared").stdout
    volid = out.strip().splitlines()[-1]
    assert volid == "shared:vztmpl/busybox.tar.gz"
    return volid


def test_lifecycle(sb, template):
    root = f"{BTRFS}/images/8101/subvol-8101-disk-0"
    out = ct(sb, "node1", "create", 8101, template, "--rootfs", "local-btrfs:1",
             "--hostname", "ct8101", "--memory", "256").stdout
    assert "TASK OK" in out
    conf = json.loads(ct(sb, "node1", "config", 8101, "--output-format", "json").stdout)
    assert conf["hostname"] == "ct8101" and conf["memory"] == "256"
    assert conf["rootfs"].startswith("local-btrfs:8101/subvol-8101-disk-0")
    assert "lock" not in conf
    assert json.loads(ct(sb, "node1", "status", 8101, "--output-format", "json").stdout)[
        "status"] == "stopped"

    assert "TASK OK" in ct(sb, "node1", "start", 8101).stdout
    st = json.loads(ct(sb, "node1", "status", 8101, "--output-format", "json").stdout)
    assert st["status"] == "running" and st["pid"] > 0
    # exec runs inside: the container's host name, and a file in its root volume
    assert ct(sb, "node1", "exec", 8101, "--", "hostname").stdout.strip() == "ct8101"
    ct(sb, "node1", "exec", 8101, "--", "sh", "-c", "echo one > /root/f")
    assert sb.read_file("node1", f"{root}/root/f") == "one\n"
    assert fails(sb, "node1", "exec", 8101, "--", "sh", "-c", "exit 3") is not None

    # both nodes list it, with its node and state
    for node in sb.node_names:
        cts = json.loads(ct(sb, node, "list", "--output-format", "json").stdout)
        mine = [c for c in cts if c["vmid"] == 8101]
        assert mine and mine[0]["node"] == "node1" and mine[0]["name"] == "ct8101"
    assert [c for c in json.loads(ct(sb, "node1", "list", "--output-format", "json").stdout)
            if c["vmid"] == 8101][0]["status"] == "running"
    # node2 knows its state from the status node1's droverd publishes
    wait_for("node2 to list CT 8101 as running", lambda: [
        c for c in json.loads(ct(sb, "node2", "list", "--output-format", "json").stdout)
        if c["vmid"] == 8101][0]["status"] == "running", timeout=60, interval=2)

    # snapshot (of the running container), change, rollback restores the file
    assert "TASK OK" in ct(sb, "node1", "snapshot", 8101, "s1", "--description", "before").stdout
    ct(sb, "node1", "exec", 8101, "--", "sh", "-c", "echo two > /root/f")
    assert "s1" in ct(sb, "node1", "listsnapshot", 8101).stdout
    assert "running" in fails(sb, "node1", "rollback", 8101, "s1")
    assert "running" in fails(sb, "node1", "destroy", 8101)
    assert "TASK OK" in ct(sb, "node1", "shutdown", 8101, "--timeout", "30").stdout
    assert ct(sb, "node1", "status", 8101).stdout.strip() == "status: stopped"
    assert "TASK OK" in ct(sb, "node1", "rollback", 8101, "s1").stdout
    assert sb.read_file("node1", f"{root}/root/f") == "one\n"
    conf = json.loads(ct(sb, "node1", "config", 8101, "--output-format", "json").stdout)
    assert conf["parent"] == "s1" and "lock" not in conf
    assert "TASK OK" in ct(sb, "node1", "delsnapshot", 8101, "s1").stdout
    assert "s1" not in ct(sb, "node1", "listsnapshot", 8101).stdout

    # start again, stop hard, protection, destroy frees the volume
    ct(sb, "node1", "start", 8101)
    assert "TASK OK" in ct(sb, "node1", "stop", 8101).stdout
    ct(sb, "node1", "set", 8101, "--protection", "1")
    assert "protected" in fails(sb, "node1", "destroy", 8101)
    ct(sb, "node1", "set", 8101, "--delete", "protection")
    assert "TASK OK" in ct(sb, "node1", "destroy", 8101).stdout
    assert "8101" not in volumes(sb, "node1")
    assert not conf_exists(sb, "node1", 8101)


def test_dir_rootfs_and_network(sb, template):
    """A raw image with ext4 on dir storage; net0 on vmbr0, reached from the other node."""
    ct(sb, "node1", "create", 8105, template, "--rootfs", "local:1",
       "--net0", "name=eth0,bridge=vmbr0,ip=10.99.0.105/24")
    conf = json.loads(ct(sb, "node1", "config", 8105, "--output-format", "json").stdout)
    assert conf["rootfs"].startswith("local:8105/vm-8105-disk-0.raw")
    assert "hwaddr=" in conf["net0"]
    ct(sb, "node1", "start", 8105)
    try:
        assert "10.99.0.105/24" in ct(sb, "node1", "exec", 8105, "--", "ip", "addr").stdout
        ct(sb, "node1", "exec", 8105, "--", "sh", "-c", "echo raw > /root/g")
        ping = sb.exec("node2", "busybox", "ping", "-c", "1", "-W", "5", "10.99.0.105",
                       check=False)
        assert ping.returncode == 0, ping.stdout + ping.stderr
    finally:
        ct(sb, "node1", "stop", 8105)
    # stopped: the image is unmounted, its content kept
    assert "8105" not in sb.exec("node1", "cat", "/proc/self/mounts").stdout
    ct(sb, "node1", "start", 8105)
    assert ct(sb, "node1", "exec", 8105, "--", "cat", "/root/g").stdout == "raw\n"
    ct(sb, "node1", "stop", 8105)
    ct(sb, "node1", "destroy", 8105)
    assert sb.exec("node1", "ls", "/var/lib/drover/local/images/8105",
                   check=False).returncode != 0


def test_locked_refuses_start(sb, template):
    ct(sb, "node1", "create", 8102, template, "--rootfs", "local-btrfs:1")
    ct(sb, "node1", "set", 8102, "--lock", "backup")
    out = fails(sb, "node1", "start", 8102)
    assert "locked (backup)" in out
    assert ct(sb, "node1", "status", 8102).stdout.strip() == "status: stopped"
    assert "locked" in fails(sb, "node1", "set", 8102, "--memory", "300")
    ct(sb, "node1", "unlock", 8102)
    ct(sb, "node1", "destroy", 8102)


def test_vmid_unique_across_nodes(sb, template):
    ct(sb, "node1", "create", 8103, template, "--rootfs", "local-btrfs:1", "--unprivileged", "1")
    # unprivileged: root inside is uid 100000 outside
    ct(sb, "node1", "start", 8103)
    ct(sb, "node1", "exec", 8103, "--", "sh", "-c", "echo u > /root/u")
    owner = sb.exec("node1", "stat", "-c", "%u:%g",
                    f"{BTRFS}/images/8103/subvol-8103-disk-0/root/u").stdout.strip()
    assert owner == "100000:100000"
    ct(sb, "node1", "stop", 8103)
    out = fails(sb, "node2", "create", 8103, template, "--rootfs", "local-btrfs:1")
    assert "8103" in out and "node1" in out
    assert not conf_exists(sb, "node2", 8103)
    assert "8103" not in volumes(sb, "node2")
    # another node's container is not this node's to start
    assert "node1" in fails(sb, "node2", "start", 8103)
    ct(sb, "node1", "destroy", 8103)


@pytest.mark.parametrize("args,words", [
    (["local:vztmpl/nope.tar.gz", "--rootfs", "local-btrfs:1"], "does not exist"),
    (["local:iso/x.iso", "--rootfs", "local-btrfs:1"], "template"),
    (["TPL", "--rootfs", "nostore:1"], "nostore"),
    (["TPL", "--rootfs", "local-btrfs:subvol-8101-disk-0"], "VMID 8101"),
    (["TPL", "--rootfs", "local-btrfs:1", "--net0", "name=eth0,bridge=vmbr9"], "vmbr9"),
    (["TPL", "--rootfs", "local-btrfs:1", "--net0", "bogus=1"], "net0"),
    (["TPL", "--rootfs", "local-btrfs:1", "--memory", "0"], "memory"),
    (["TPL", "--rootfs", "local-btrfs:1", "--nokey", "1"], "nokey"),
    (["TPL"], "--rootfs"),
])
def test_hostile_create(sb, template, args, words):
    args = [template if a == "TPL" else a for a in args]
    out = fails(sb, "node1", "create", 8104, *args)
    assert words in out
    assert not conf_exists(sb, "node1", 8104)
    assert "8104" not in volumes(sb, "node1")


def enter_on_pty(sb, node, ctid, keys, expect, timeout=30):
    """`drover ct enter CTID` on a terminal: type keys, read until expect shows, exit."""
    pid, fd = pty.fork()
    if pid == 0:
        os.execv(sb.drover, [sb.drover, "sandbox", "exec", "--name", sb.name, node, "--",
                             "drover", "ct", "enter", str(ctid)])
    out = b""

    def read_until(what, deadline):
        nonlocal out
        while what not in out and time.monotonic() < deadline:
            if select.select([fd], [], [], 1)[0]:
                try:
                    out += os.read(fd, 4096)
                except OSError:
                    return

    try:
        # type once the shell inside shows its prompt (keys typed earlier are lost)
        read_until(b"# ", time.monotonic() + timeout)
        os.write(fd, keys.encode())
        read_until(expect.encode(), time.monotonic() + timeout)
        os.write(fd, b"exit\n")
        deadline = time.monotonic() + 10
        while time.monotonic() < deadline:
            done, status = os.waitpid(pid, os.WNOHANG)
            if done:
                return out.decode(errors="replace"), os.waitstatus_to_exitcode(status)
            try:
                if select.select([fd], [], [], 0.2)[0]:
                    out += os.read(fd, 4096)
            except OSError:
                pass
        os.kill(pid, 9)
        os.waitpid(pid, 0)
        raise AssertionError(f"drover ct enter did not end after exit:\n{out!r}")
    finally:
        os.close(fd)


def lxc_running(sb, node):
    return sb.exec(node, "lxc-ls", "-P", "/run/drover/lxc", "--running",
                   check=False).stdout.split()


def test_enter_with_stdin_and_on_a_terminal(sb, template):
    ct(sb, "node1", "create", 8106, template, "--rootfs", "local:1", "--hostname", "ct8106")
    ct(sb, "node1", "start", 8106)
    # commands on stdin: a shell inside, its exit status is enter's
    proc = ct(sb, "node1", "enter", 8106, check=False,
              input="hostname\necho IN-$((6*7))\ncat /proc/1/comm\nexit 3\n")
    assert proc.returncode == 3, proc.stdout + proc.stderr
    lines = proc.stdout.split()
    assert "ct8106" in lines and "IN-42" in lines and "init" in lines
    # on a terminal: an interactive shell with a terminal of its own inside
    out, code = enter_on_pty(sb, "node1", 8106, "tty; echo PTY-$((2*21))\n", "PTY-42")
    assert "PTY-42" in out and "/dev/" in out and "not a tty" not in out, out
    assert code == 0, out
    # a stopped container has nothing to enter
    proc = ct(sb, "node2", "enter", 8106, check=False, input="exit\n")
    assert proc.returncode != 0 and "node1" in proc.stdout + proc.stderr


def test_stopped_by_itself_is_cleaned_up(sb, template):
    """The container's init goes (poweroff inside, or killed): droverd releases its mounts."""
    mnt = "/run/drover/lxc/8106/mnt"
    mounts = lambda: [l for l in sb.exec("node1", "cat", "/proc/self/mounts").stdout.splitlines()
                      if mnt in l]
    assert mounts(), "the raw rootfs of CT 8106 is mounted while it runs"
    st = json.loads(ct(sb, "node1", "status", 8106, "--output-format", "json").stdout)
    assert st["status"] == "running"
    # let droverd see it running first
    time.sleep(6)
    sb.exec("node1", "kill", "-9", str(st["pid"]))
    wait_for("CT 8106 stopped", lambda: ct(sb, "node1", "status", 8106).stdout.strip()
             == "status: stopped", timeout=30, interval=0.5)
    wait_for("droverd to release CT 8106's mounts", lambda: not mounts(), timeout=30,
             interval=1)
    tasks = json.loads(drover(sb, "node1", "task", "list", "--vmid", "8106",
                              "--output-format", "json").stdout)
    assert any(t["type"] == "vzcleanup" for t in tasks), tasks
    # starts again as after a stop
    ct(sb, "node1", "start", 8106)
    assert ct(sb, "node1", "exec", 8106, "--", "hostname").stdout.strip() == "ct8106"
    ct(sb, "node1", "stop", 8106)
    ct(sb, "node1", "destroy", 8106)


ROOT = "rootfs: local-btrfs:{id}/subvol-{id}-disk-0.subvol,size=1G\n"
HOSTILE = {
    8110: ("arch: amd64\nbogus: 1\n" + ROOT, r"8110\.conf:2: .*bogus"),
    8111: ("memory: 0\n" + ROOT, r"8111\.conf:1: .*memory"),
    8112: ("rootfs: nosuch:8112/subvol-8112-disk-0.subvol,size=1G\n", r"rootfs: .*nosuch"),
    8113: ("rootfs: local-btrfs:8101/subvol-8101-disk-0.subvol,size=1G\n",
           r"rootfs: volume .* belongs to VMID 8101, not to 8113"),
    8114: (ROOT + "net0: name=eth0,bridge=vmbr9,hwaddr=BC:24:11:00:00:14\n",
           r"net0: bridge 'vmbr9' does not exist"),
}


def test_hostile_configs_start_nothing(sb):
    d = "/etc/drover/nodes/node1/lxc"
    for ctid, (text, why) in HOSTILE.items():
        sb.write_file("node1", f"{d}/{ctid}.conf", text.format(id=ctid))
        proc = ct(sb, "node1", "start", ctid, check=False)
        out = proc.stdout + proc.stderr
        assert proc.returncode == 1, (ctid, out)
        assert re.search(why, out), (ctid, out)
        assert str(ctid) not in lxc_running(sb, "node1")
    # a 10 MB config: droverfs or the parser refuses it, nothing starts
    sb.exec("node1", "sh", "-c", f"head -c 10000000 /dev/zero | tr '\\0' '#' > {d}/8115.conf",
            check=False)
    proc = ct(sb, "node1", "start", 8115, check=False)
    assert proc.returncode == 1
    assert re.search(r"too large|does not exist", proc.stdout + proc.stderr), proc.stderr
    assert not [c for c in lxc_running(sb, "node1") if c.startswith("811")]
    for ctid in list(HOSTILE) + [8115]:
        sb.exec("node1", "rm", "-f", f"{d}/{ctid}.conf")


def test_destroy_with_replication_jobs_needs_purge(sb, template):
    ct(sb, "node1", "create", 8107, template, "--rootfs", "local-btrfs:1")
    drover(sb, "node1", "replication", "create-local-job", "8107-0", "node2",
           "--schedule", "2099-01-01")
    out = fails(sb, "node1", "destroy", 8107)
    assert "replication jobs: 8107-0 (to node2)" in out and "--purge" in out
    assert conf_exists(sb, "node1", 8107)
    out = ct(sb, "node1", "destroy", 8107, "--purge").stdout
    assert "removed replication job 8107-0" in out and "TASK OK" in out
    assert not conf_exists(sb, "node1", 8107)
    jobs = json.loads(drover(sb, "node1", "replication", "list", "--output-format",
                             "json").stdout)
    assert not [j for j in jobs if j["id"] == "8107-0"]
