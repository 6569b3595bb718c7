"""droverd and tasks on a 3-node sandbox: droverd on every node (restarted by
the keeper after kill -9), node status visible cluster-wide, tasks of one
node listed, logged (also followed) and stopped from another, a killed
worker shown as "unexpected status", and the cold start: with all nodes
stopped and started again, the onboot guests come up once quorum returns
and not before, in startup order with up= delays, locked guests skipped;
a node's stop shuts them down in reverse order.

The cold start guests here are droverd's test
guest type (tests/tools/droverd_testguest.c: plain processes as "qemu"
guests), run by the test build's droverd-testguest through
$DROVER_DROVERD. The production start of VMs (drover vm's) is tested
through `drover node startall`.
"""
import json
import os
import signal
import subprocess
import time

import pytest

from cluster_cli import wait_for as wait_until
from conftest import BUILD, DROVER, _sandbox_ready, sandbox_name

TESTGUEST_DROVERD = os.path.join(BUILD, "tests", "tools", "droverd-testguest")
PROD_DROVERD = os.path.join(BUILD, "src", "droverd", "droverd")
TASK_TOOL = os.path.join(BUILD, "tests", "tools", "drover-task-tool")


def exe_of(pid):
    try:
        return os.path.realpath(f"/proc/{pid}/exe")
    except OSError:
        return None


@pytest.fixture(scope="module")
def sb():
    from sandbox import Sandbox
    if not _sandbox_ready():
        pytest.skip("drover sandbox needs root, corosync, iproute2 and iptables")
    box = Sandbox(sandbox_name(), nodes=3)
    try:
        box.up()
        # drover cluster create/add started the production droverd on every node
        for node in box.node_names:
            pid = wait_until(f"droverd on {node}", lambda: box.pid(node, "droverd"), 30)
            assert exe_of(pid) == os.path.realpath(PROD_DROVERD)
        # from here on the test build's droverd with its test guest type
        box.env = {"DROVER_DROVERD": TESTGUEST_DROVERD}
        for node in box.node_names:
            box.restart(node, "droverd")
            assert exe_of(box.pid(node, "droverd")) == os.path.realpath(TESTGUEST_DROVERD)
        yield box
    finally:
        box.down(check=False)


def drover(sb, node, *args, check=True, timeout=60):
    return sb.exec(node, "drover", *args, check=check, timeout=timeout)


def tasks(sb, node, *args):
    return json.loads(drover(sb, node, "task", "list", "--output-format", "json", *args).stdout)


def task_of(sb, node, upid):
    for t in tasks(sb, node):
        if t["upid"] == upid:
            return t
    return None


def node_status(sb, node):
    return {n["node"]: n for n in
            json.loads(drover(sb, node, "node", "status", "--output-format", "json").stdout)}


def run_task_tool(sb, node, vmid, seconds, mode="ok"):
    """Start drover-task-tool in node (background); returns the Popen."""
    argv = [DROVER, "sandbox", "exec", "--name", sb.name, node, "--", TASK_TOOL, "run",
            "testop", str(vmid), str(seconds), mode]
    return subprocess.Popen(argv, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)


def running_upid(sb, node, vmid):
    """The UPID of the running testop task of vmid, as node sees it."""
    def find():
        for t in tasks(sb, node, "--vmid", str(vmid)):
            if t["status"] == "running":
                return t["upid"]
        return None
    return wait_until(f"task of {vmid} running, seen from {node}", find, 30)


def test_droverd_on_every_node(sb):
    for node in sb.node_names:
        assert sb.pid(node, "droverd")
    status = sb.status()
    assert status.count("droverd") == 3


def test_node_status_cluster_wide(sb):
    def fresh():
        st = node_status(sb, "node3")
        ok = all(st[n]["state"] == "online" and st[n]["status"]["memory"]["total"] > 0
                 for n in sb.node_names)
        return st if ok and len(st) == 3 else None
    st = wait_until("every node's status on node3", fresh, 30)
    now = time.time()
    for n in sb.node_names:
        assert abs(now - st[n]["status"]["time"]) < 30, st[n]
        assert st[n]["status"]["cpus"] >= 1
        assert len(st[n]["status"]["loadavg"]) == 3
    text = drover(sb, "node2", "node", "status").stdout
    assert text.startswith("NODE") and "node1" in text and "online" in text


def test_task_of_node1_listed_on_node2(sb):
    proc = run_task_tool(sb, "node1", 100, 2)
    out, _ = proc.communicate(timeout=60)
    assert proc.returncode == 0, out
    assert out.splitlines() == ["step 0", "step 1", "TASK OK"]

    def listed():
        found = [t for t in tasks(sb, "node2", "--node", "node1", "--vmid", "100")
                 if t["type"] == "testop" and t["status"] == "stopped"]
        return found[0] if found else None
    t = wait_until("the task in node2's list", listed, 20)
    assert t["exitstatus"] == "OK" and t["node"] == "node1" and t["user"] == "root@pam"
    assert t["upid"].startswith("UPID:node1:") and t["id"] == "100"
    assert t["endtime"] >= t["starttime"]
    # other filters leave it out
    assert not [x for x in tasks(sb, "node2", "--node", "node3") if x["upid"] == t["upid"]]
    assert not [x for x in tasks(sb, "node2", "--vmid", "999") if x["upid"] == t["upid"]]
    # its log, read on node3 from node1 over SSH
    log = drover(sb, "node3", "task", "log", t["upid"]).stdout
    assert log.splitlines() == ["step 0", "step 1", "TASK OK"]


def test_task_log_from_a_node_whose_own_known_hosts_lack_the_other(sb):
    """`drover task log` reaches the task's node the way replication does:
    at its corosync link0 address, its host key checked against droverfs's
    pinned priv/known_hosts under the node's name (HostKeyAlias). node1's
    own known_hosts files (root's and the system's; nodes have their own
    /root and /etc/ssh) are set aside: with them ssh would accept node2
    for the wrong reason."""
    proc = run_task_tool(sb, "node2", 104, 1)
    out, _ = proc.communicate(timeout=60)
    assert proc.returncode == 0, out
    upid = wait_until("node2's task seen from node1",
                      lambda: [t["upid"] for t in tasks(sb, "node1", "--vmid", "104")
                               if t["status"] == "stopped"], 20)[0]
    aside = ["/root/.ssh/known_hosts", "/etc/ssh/ssh_known_hosts"]
    sb.exec("node1", "sh", "-c", " && ".join(
        f"if [ -e {f} ] || [ -L {f} ]; then mv {f} {f}.aside; fi" for f in aside))
    try:
        # ssh of its own, with node1's usual files only, refuses node2 now
        plain = sb.exec("node1", "ssh", "-o", "BatchMode=yes", "-o",
                        "StrictHostKeyChecking=yes", "root@node2", "true", check=False)
        assert plain.returncode == 255, plain
        log = drover(sb, "node1", "task", "log", upid)
        assert log.stdout.splitlines() == ["step 0", "TASK OK"], log
    finally:
        sb.exec("node1", "sh", "-c", " ; ".join(
            f"if [ -e {f}.aside ] || [ -L {f}.aside ]; then mv {f}.aside {f}; fi"
            for f in aside))


def test_failed_task(sb):
    proc = run_task_tool(sb, "node2", 101, 1, "fail")
    out, _ = proc.communicate(timeout=60)
    assert proc.returncode == 1
    assert out.splitlines()[-1] == "TASK ERROR: failed on purpose"
    t = wait_until("the failed task on node1",
                   lambda: [x for x in tasks(sb, "node1", "--vmid", "101")
                            if x["status"] == "stopped"], 20)[0]
    assert t["exitstatus"] == "failed on purpose"


def test_task_log_follow_and_stop_from_another_node(sb):
    proc = run_task_tool(sb, "node1", 102, 120)
    try:
        upid = running_upid(sb, "node2", 102)
        wait_until("two steps in the log",
                   lambda: "step 1" in drover(sb, "node2", "task", "log", upid).stdout, 30)
        follow = subprocess.Popen([DROVER, "sandbox", "exec", "--name", sb.name, "node3", "--",
                                   "drover", "task", "log", "--follow", upid],
                                  stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
        time.sleep(1.5)
        assert follow.poll() is None, "a follower of a running task ends only with it"
        drover(sb, "node2", "task", "stop", upid)
        out, _ = proc.communicate(timeout=60)
        assert proc.returncode == 1
        assert out.splitlines()[-1] == "TASK ERROR: interrupted by signal"
        fout, _ = follow.communicate(timeout=60)
        assert follow.returncode == 0
        lines = fout.splitlines()
        assert lines[0] == "step 0" and lines[-1] == "TASK ERROR: interrupted by signal"
        t = wait_until("the stopped task on node3",
                       lambda: (lambda x: x if x and x["status"] == "stopped" else None)(
                           task_of(sb, "node3", upid)), 20)
        assert t["exitstatus"] == "interrupted by signal"
        # stopping it again: it is not running
        again = drover(sb, "node2", "task", "stop", upid, check=False)
        assert again.returncode == 1 and "not running" in again.stderr
    finally:
        if proc.poll() is None:
            proc.kill()


def test_killed_worker_shows_unexpected_status(sb):
    proc = run_task_tool(sb, "node1", 103, 300)
    try:
        upid = running_upid(sb, "node1", 103)
        worker = int(upid.split(":")[2], 16)
        # the command that waits for it goes first, so only droverd is left to notice
        for p in os.listdir("/proc"):
            try:
                with open(f"/proc/{p}/cmdline", "rb") as f:
                    argv = f.read().split(b"\0")
                if argv[:5] == [TASK_TOOL.encode(), b"run", b"testop", b"103", b"300"] \
                        and int(p) != worker:
                    os.kill(int(p), signal.SIGKILL)
            except (OSError, ValueError):
                pass
        os.kill(worker, signal.SIGKILL)

        def ended():
            t = task_of(sb, "node2", upid)
            return t if t and t["status"] == "stopped" else None
        t = wait_until("droverd on node1 noticing the dead worker", ended, 30)
        assert t["exitstatus"] == "unexpected status"
        # what it wrote is still there, without an end line
        log = drover(sb, "node1", "task", "log", upid).stdout.splitlines()
        assert log and log[0] == "step 0" and not log[-1].startswith("TASK ")
    finally:
        proc.kill()
        proc.wait()


def test_droverd_killed_is_restarted_by_the_keeper(sb):
    old = sb.pid("node2", "droverd")
    os.kill(old, signal.SIGKILL)
    try:
        new = wait_until("a new droverd on node2",
                         lambda: (lambda p: p if p and p != old else None)(
                             sb.pid("node2", "droverd")), 30)
    except AssertionError as e:
        with open(os.path.join(sb.state_dir, "keeper.log")) as f:
            raise AssertionError(f"{e}; keeper log:\n{f.read()}") from None
    assert exe_of(new) == os.path.realpath(TESTGUEST_DROVERD)
    # it publishes again, and it did not start the node's guests a second time
    before = time.time()
    wait_until("a fresh status of node2",
               lambda: node_status(sb, "node1")["node2"]["status"]["time"] > before, 30)
    assert "started in this boot already" in sb.log("node2", "droverd")
    # a stop is a stop: the keeper leaves it stopped
    sb.stop("node2", "droverd")
    time.sleep(3)
    assert sb.pid("node2", "droverd") is None
    sb.start("node2", "droverd")
    assert sb.pid("node2", "droverd")


GUESTS = {
    101: "memory: 128\nonboot: 1\nstartup: order=2\n",
    102: "memory: 128\nonboot: 1\nstartup: order=1,up=3\n",
    103: "memory: 128\nonboot: 1\n",
    104: "memory: 128\n",
    105: "memory: 128\nonboot: 1\nlock: backup\n",
}


def events(sb):
    """[(what, vmid, seconds)] of node1's test guests."""
    try:
        with open(sb.host_path("node1", "run", "drover", "testguest", "events")) as f:
            lines = f.read().split()
    except OSError:
        return []
    return [(lines[i], int(lines[i + 1]), int(lines[i + 2]) / 1e9)
            for i in range(0, len(lines) - 2, 3)]


def test_cold_start_after_whole_cluster_stop(sb):
    for vmid, conf in GUESTS.items():
        sb.write_file("node1", f"/etc/drover/nodes/node1/qemu-server/{vmid}.conf", conf)
    # the cluster goes down (droverd stops its node's guests first: none run yet)
    for node in reversed(sb.node_names):
        sb.stop(node)
    assert events(sb) == []
    # node1 alone: not quorate, so nothing starts
    sb.start("node1")
    time.sleep(8)
    assert sb.quorate("node1") is False
    assert events(sb) == [], "a guest started without quorum"
    lines = sb.log("node1", "droverd").splitlines()
    started = max(i for i, line in enumerate(lines) if "droverd started" in line)
    # this boot's set-up lines: after the last stop, up to "droverd started"
    boot = max(i for i, line in enumerate(lines[:started]) if "droverd stopped" in line)
    assert any("cold start: waiting for quorum" in line for line in lines[boot:started]), \
        lines[boot:started + 1]
    assert "quorate" not in "\n".join(lines[started:])
    quorum_from = time.time()
    sb.start("node2")
    starts = wait_until("three onboot guests started",
                        lambda: (lambda e: e if len(e) >= 3 else None)(
                            [x for x in events(sb) if x[0] == "start"]), 60)
    time.sleep(2)
    starts = [x for x in events(sb) if x[0] == "start"]
    assert [v for _, v, _ in starts] == [102, 101, 103], starts
    assert starts[0][2] >= quorum_from
    assert starts[1][2] - starts[0][2] >= 3 - 0.1, "the up=3 delay after VM 102"
    # one startall task, with the locked guest skipped; each start a task of its own
    all_tasks = tasks(sb, "node1", "--node", "node1")
    startall = [t for t in all_tasks
                if t["type"] == "startall" and t["starttime"] >= quorum_from - 1]
    assert len(startall) == 1 and startall[0]["exitstatus"] == "OK", startall
    log = drover(sb, "node1", "task", "log", startall[0]["upid"]).stdout.splitlines()
    assert log == ["Starting VM 102", "Waiting for 3 seconds (startup delay)",
                   "Starting VM 101", "Starting VM 103",
                   "Skipping VM 105: it is locked (backup)", "TASK OK"], log
    qmstarts = {t["id"]: t for t in all_tasks if t["type"] == "qmstart"
                and t["starttime"] >= quorum_from - 1}
    assert sorted(qmstarts) == ["101", "102", "103"]
    assert all(t["exitstatus"] == "OK" for t in qmstarts.values())
    sb.start("node3")
    sb.wait_quorate("node3")
    # the guests' state, seen from node3
    guests = wait_until("node1's guests running, seen from node3",
                        lambda: (lambda g: g if sum(x["status"] == "running" for x in g) == 3
                                 else None)(node_status(sb, "node3")["node1"]["guests"]), 30)
    by_id = {g["vmid"]: g for g in guests}
    assert sorted(by_id) == [101, 102, 103, 104, 105]
    assert by_id[104]["status"] == "stopped" and by_id[105]["status"] == "stopped"
    assert by_id[101]["pid"] > 0 and by_id[101]["mem"] > 0

    # node1 goes down: its guests stop in reverse order, then droverd exits
    stop_from = time.time()
    sb.stop("node1")
    stops = [x for x in events(sb) if x[0] == "stop" and x[2] >= stop_from]
    assert [v for _, v, _ in stops] == [103, 101, 102], stops
    # and comes back: the onboot guests start again (a new boot for them)
    sb.start("node1")
    wait_until("the guests started again",
               lambda: len([x for x in events(sb) if x[0] == "start" and x[2] > stop_from])
               == 3, 60)


def test_production_startall_starts_vms(sb):
    """The production code starts the node's onboot VMs with drover vm's start (real QEMU)."""
    sb.write_file("node2", "/etc/drover/nodes/node2/qemu-server/201.conf",
                  "memory: 127\nonboot: 1\nvga: none\n")
    try:
        proc = drover(sb, "node2", "node", "startall", check=False)
        assert proc.returncode == 0, proc.stdout + proc.stderr
        assert proc.stdout.splitlines()[0] == "Starting VM 201" and "TASK OK" in proc.stdout
        t = [x for x in tasks(sb, "node1", "--vmid", "201") if x["type"] == "qmstart"]
        assert t and t[0]["exitstatus"] == "OK", t
        st = json.loads(drover(sb, "node2", "vm", "status", "201", "--output-format",
                               "json").stdout)
        assert st["status"] == "running"
    finally:
        drover(sb, "node2", "vm", "stop", "201", check=False)
