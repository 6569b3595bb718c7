"""`drover vm` on a 2-node sandbox with real QEMU (TCG) booting the test guest.

A VM on local-btrfs is created, started (its console shows the guest up),
its guest agent answers ping and freezes/thaws its file systems, a
snapshot and a rollback bring back a file's content on its data disk, a
snapshot with RAM (--vmstate) rolls back to a guest that runs on from the
snapshot's instant without booting, a
VM on node1 reaches one on node2 over vmbr0, it is shut down through the
agent and destroyed with its volumes. VMIDs are unique across nodes; a
locked VM refuses to start; a killed QEMU reads as stopped, and droverd
cleans up after it (taps, pid file, sockets) as after a guest that powers
itself off; a VM whose pid file (and QMP socket) was deleted still reads
as running, refuses a second start, keeps its taps and stops;
hostile configs give clear errors and start nothing.
"""
import json
import os
import re
import time

import pytest

from conftest import BUILD, _sandbox_ready

MAKE_GUEST = os.path.join(os.path.dirname(os.path.dirname(os.path.dirname(
    os.path.abspath(__file__)))), "scripts", "make-test-guest")
# Not a multiple of 256 KiB (QEMU 7.2 TCG migration loses pages otherwise).
MEMORY = "262080K"
RUN = "/run/drover/qemu-server"
CONFS = "/etc/drover/nodes/{node}/qemu-server"


def wait_for(what, predicate, timeout, interval=0.3):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        value = predicate()
        if value:
            return value
        time.sleep(interval)
    raise AssertionError(f"timed out after {timeout} s waiting for {what}")


@pytest.fixture(scope="module")
def guest():
    import subprocess
    out = subprocess.run([MAKE_GUEST, "--build", BUILD], check=True, capture_output=True,
                         text=True, timeout=900).stdout.splitlines()[-1]
    with open(os.path.join(out, "guest.json")) as f:
        return json.load(f)


@pytest.fixture(scope="module")
def sb():
    from sandbox import Sandbox
    if not _sandbox_ready():
        pytest.skip("drover sandbox needs root, corosync, iproute2 and iptables")
    box = Sandbox(f"hvm{os.getpid() % 100000}", nodes=2)
    try:
        box.up()
        yield box
    finally:
        # QEMU is no sandbox daemon: stop our VMs before the namespaces go
        for node in ("node1", "node2"):
            box.exec(node, "sh", "-c",
                     f"for p in {RUN}/*.pid; do [ -f \"$p\" ] && kill -9 $(cat \"$p\"); done",
                     check=False)
        box.down(check=False)


def vm(sb, node, *args, check=True, timeout=120, input=None):
    proc = sb.exec(node, "drover", "vm", *[str(a) for a in args], check=False, timeout=timeout,
                   input=input)
    if check and proc.returncode != 0:
        raise AssertionError(f"drover vm {' '.join(map(str, args))} on {node} failed "
                             f"({proc.returncode}): {proc.stdout}{proc.stderr}")
    return proc


def create(sb, node, vmid, guest, ip, extra=()):
    append = (f"console=ttyS0 panic=-1 quiet drover.ip={ip}/24 drover.port=7000 "
              f"drover.disk=vda drover.blocks=64 drover.data=vdb")
    return vm(sb, node, "create", vmid, "--name", f"hvm{vmid}", "--memory", MEMORY,
              "--cores", "1", "--vga", "none", "--agent", "1", "--serial0", "socket",
              "--virtio0", "local-btrfs:32M", "--virtio1", "local-btrfs:64M",
              "--net0", "virtio,bridge=vmbr0",
              "--args", f"-kernel {guest['kernel']} -initrd {guest['initrd']} -append '{append}'",
              *extra)


def console_log(sb, node, vmid):
    return sb.exec(node, "cat", f"{RUN}/{vmid}.serial0.log", check=False).stdout


def wait_ready(sb, node, vmid):
    wait_for(f"VM {vmid} READY", lambda: "READY" in console_log(sb, node, vmid), 120)


def console(sb, node, vmid, line, expect, timeout=60):
    """Type a line on the serial console until expect shows in what comes back."""
    def attempt():
        out = vm(sb, node, "terminal", vmid, input=line + "\n", timeout=30).stdout
        return expect in out and out
    return wait_for(f"'{expect}' on VM {vmid}'s console", attempt, timeout, interval=1)


def status(sb, node, vmid):
    return json.loads(vm(sb, node, "status", vmid, "--verbose", "--output-format",
                         "json").stdout)


def listed(sb, node):
    return {v["vmid"]: v for v in json.loads(vm(sb, node, "list", "--output-format",
                                                 "json").stdout)}


@pytest.fixture(scope="module")
def vm101(sb, guest):
    out = create(sb, "node1", 101, guest, "10.99.0.101").stdout
    assert "allocated local-btrfs:101/vm-101-disk-0.raw" in out
    t0 = time.monotonic()
    out = vm(sb, "node1", "start", 101).stdout
    started = time.monotonic() - t0
    assert "TASK OK" in out and "Starting VM 101" in out
    print(f"drover vm start 101 (to QMP running): {started:.2f} s")
    wait_ready(sb, "node1", 101)
    return 101


def test_started_vm_console_and_state(sb, vm101):
    console(sb, "node1", 101, "echo MARK-$((6*7))", "MARK-42")
    st = status(sb, "node1", 101)
    assert st["status"] == "running" and st["qmpstatus"] == "running"
    assert st["maxmem"] == 262080 * 1024 and st["node"] == "node1"
    # the cluster's list, from either node
    for node in ("node1", "node2"):
        entry = wait_for("VM 101 listed running", lambda: (
            lambda v: v.get(101, {}).get("status") == "running" and v[101])(listed(sb, node)), 30)
        assert entry["node"] == "node1" and entry["name"] == "hvm101"
    conf = json.loads(vm(sb, "node1", "config", 101, "--output-format", "json").stdout)
    assert re.fullmatch(r"virtio=BC:24:11:[0-9A-F:]{8},bridge=vmbr0", conf["net0"])
    assert conf["virtio0"] == "local-btrfs:101/vm-101-disk-0.raw,size=32M"


def test_agent_ping_and_fsfreeze(sb, vm101):
    wait_for("agent ping", lambda: vm(sb, "node1", "agent", 101, "ping",
                                      check=False).returncode == 0, 60, interval=1)
    vm(sb, "node1", "agent", 101, "fsfreeze-freeze")
    assert json.loads(vm(sb, "node1", "agent", 101, "fsfreeze-status").stdout) == "frozen"
    vm(sb, "node1", "agent", 101, "fsfreeze-thaw")
    assert json.loads(vm(sb, "node1", "agent", 101, "fsfreeze-status").stdout) == "thawed"
    info = json.loads(vm(sb, "node1", "agent", 101, "get-osinfo").stdout)
    assert info["name"] == "drover test guest"


def test_snapshot_and_rollback_restore_a_file(sb, vm101):
    console(sb, "node1", 101, "echo before > /data/f; sync; cat /data/f", "before")
    out = vm(sb, "node1", "snapshot", 101, "s1", "--description", "first").stdout
    assert "TASK OK" in out and "snapshot s1 of local-btrfs:101/vm-101-disk-1.raw" in out
    console(sb, "node1", 101, "echo after > /data/f; sync; cat /data/f", "after")
    refused = vm(sb, "node1", "rollback", 101, "s1", check=False)
    assert "stop it before a rollback" in refused.stdout + refused.stderr
    vm(sb, "node1", "stop", 101)
    assert status(sb, "node1", 101)["status"] == "stopped"
    assert "TASK OK" in vm(sb, "node1", "rollback", 101, "s1").stdout
    conf = json.loads(vm(sb, "node1", "config", 101, "--output-format", "json").stdout)
    assert conf["parent"] == "s1" and "lock" not in conf
    assert "s1" in vm(sb, "node1", "listsnapshot", 101).stdout
    # QEMU starts the console log afresh
    vm(sb, "node1", "start", 101)
    wait_ready(sb, "node1", 101)
    console(sb, "node1", 101, "cat /data/f", "before")
    assert "TASK OK" in vm(sb, "node1", "delsnapshot", 101, "s1").stdout
    assert "s1" not in vm(sb, "node1", "listsnapshot", 101).stdout


def workload(sb, node, ip):
    """The test guest's workload state: (last written block, guest uptime in s)."""
    line = sb.exec(node, "/usr/bin/python3", "-c",
                   f"import socket;s=socket.create_connection(('{ip}',7000),timeout=10);"
                   "print(s.makefile().readline())").stdout
    m = re.match(r"DROVER-WORKLOAD seq=(\d+) uptime=([\d.]+)", line)
    assert m, f"workload answered {line!r}"
    return int(m.group(1)), float(m.group(2))


def test_snapshot_with_vmstate_resumes_where_it_was(sb, vm101):
    console(sb, "node1", 101, "echo vs-before > /data/g; sync; cat /data/g", "vs-before")
    seq_before, up_before = workload(sb, "node1", "10.99.0.101")
    out = vm(sb, "node1", "snapshot", 101, "vs1", "--vmstate").stdout
    assert "TASK OK" in out and "saved the RAM state" in out and "resumed VM 101" in out
    seq_snap, up_snap = workload(sb, "node1", "10.99.0.101")
    assert up_snap >= up_before
    snap = json.loads(vm(sb, "node1", "config", 101, "--snapshot", "vs1", "--output-format",
                         "json").stdout)
    state = "local-btrfs:101/vm-101-state-vs1.raw"
    assert snap["vmstate"] == state
    assert re.fullmatch(r"pc-i440fx-\d+\.\d+", snap["runningmachine"])
    assert snap["runningcpu"].startswith("qemu64")
    conf = json.loads(vm(sb, "node1", "config", 101, "--output-format", "json").stdout)
    assert "vmstate" not in conf and "lock" not in conf
    assert status(sb, "node1", 101)["qmpstatus"] == "running"
    path = sb.exec("node1", "drover", "storage", "path", state).stdout.strip()
    assert sb.exec("node1", "test", "-s", path, check=False).returncode == 0
    # the guest goes on: a file changes, time passes, the workload writes
    console(sb, "node1", 101, "echo vs-after > /data/g; sync; cat /data/g", "vs-after")
    wait_for("guest time to pass", lambda: workload(sb, "node1", "10.99.0.101")[1]
             > up_snap + 20, 120, interval=1)
    seq_late, up_late = workload(sb, "node1", "10.99.0.101")
    assert seq_late > seq_snap
    vm(sb, "node1", "stop", 101)
    out = vm(sb, "node1", "rollback", 101, "vs1").stdout
    assert "TASK OK" in out and "from its saved RAM state" in out
    # running right after the rollback, without a boot: the guest's clock and
    # workload go on from the snapshot's instant
    assert status(sb, "node1", 101)["qmpstatus"] == "running"
    seq_back, up_back = workload(sb, "node1", "10.99.0.101")
    assert up_before <= up_back < up_late, (up_before, up_back, up_late)
    assert seq_before <= seq_back < seq_late, (seq_before, seq_back, seq_late)
    assert "READY" not in console_log(sb, "node1", 101)
    console(sb, "node1", 101, "cat /data/g", "vs-before")
    conf = json.loads(vm(sb, "node1", "config", 101, "--output-format", "json").stdout)
    assert conf["parent"] == "vs1" and "lock" not in conf and "runningmachine" not in conf
    out = vm(sb, "node1", "delsnapshot", 101, "vs1").stdout
    assert "TASK OK" in out and f"vmstate: freed {state}" in out
    assert sb.exec("node1", "test", "-e", path, check=False).returncode != 0
    assert "vs1" not in vm(sb, "node1", "listsnapshot", 101).stdout
    # a failure after the VM was paused (a disk snapshot that exists): the VM
    # runs on, the state volume and the disk snapshots made are gone, no lock
    disk1 = "local-btrfs:101/vm-101-disk-1.raw"
    sb.exec("node1", "drover", "storage", "snapshot", disk1, "vs3")
    proc = vm(sb, "node1", "snapshot", 101, "vs3", "--vmstate", check=False)
    assert proc.returncode != 0 and "resumed VM 101" in proc.stdout, proc.stdout + proc.stderr
    sb.exec("node1", "drover", "storage", "delsnapshot", disk1, "vs3")
    assert status(sb, "node1", 101)["qmpstatus"] == "running"
    assert "vm-101-state-vs3" not in sb.exec("node1", "drover", "storage", "list",
                                             "local-btrfs").stdout
    assert "vs3" not in sb.exec("node1", "drover", "storage", "snapshots",
                                "local-btrfs:101/vm-101-disk-0.raw").stdout
    conf = json.loads(vm(sb, "node1", "config", 101, "--output-format", "json").stdout)
    assert "lock" not in conf and "vs3" not in vm(sb, "node1", "listsnapshot", 101).stdout
    # one more, left for destroy to free
    assert "TASK OK" in vm(sb, "node1", "snapshot", 101, "vs2", "--vmstate").stdout


def test_vmid_unique_across_nodes(sb, guest, vm101):
    proc = vm(sb, "node2", "create", 101, "--memory", MEMORY, check=False)
    assert proc.returncode == 1
    assert "VMID 101 is taken: VM 101 exists on node 'node1'" in proc.stderr
    proc = vm(sb, "node2", "start", 101, check=False)
    assert "is on node 'node1'" in proc.stdout + proc.stderr


def test_vm_reaches_vm_on_other_node_over_vmbr0(sb, guest, vm101):
    create(sb, "node2", 201, guest, "10.99.0.102")
    vm(sb, "node2", "start", 201)
    wait_ready(sb, "node2", 201)
    console(sb, "node1", 101, "ping -c 1 -W 3 10.99.0.102 && echo PING-OK", "PING-OK",
            timeout=90)
    # and node1 itself reaches the VM on node2 through its vmbr0
    out = sb.exec("node1", "/usr/bin/python3", "-c",
                  "import socket;s=socket.create_connection(('10.99.0.102',7000),timeout=10);"
                  "print(s.makefile().readline())").stdout
    assert out.startswith("DROVER-WORKLOAD")


def leftovers(sb, node, vmid):
    """What a start made that a stop removes: run files and taps still there."""
    files = sb.exec(node, "sh", "-c", f"cd {RUN} && ls {vmid}.pid {vmid}.qmp {vmid}.qga "
                    f"{vmid}.serial0 2>/dev/null", check=False).stdout.split()
    taps = [t for t in sb.exec(node, "ip", "-br", "link").stdout.split()
            if t.startswith(f"tap{vmid}i")]
    return files + taps


def cleanup_tasks(sb, node, vmid):
    out = sb.exec(node, "drover", "task", "list", "--vmid", str(vmid), "--output-format",
                  "json").stdout
    return [t for t in json.loads(out) if t["type"] == "qmcleanup"]


def test_killed_qemu_is_seen_stopped_and_cleaned_up(sb, guest):
    st = wait_for("VM 201 running", lambda: (lambda s: s["status"] == "running" and s)(
        status(sb, "node2", 201)), 60)
    assert "tap201i0" in leftovers(sb, "node2", 201)
    before = len(cleanup_tasks(sb, "node2", 201))
    sb.exec("node2", "kill", "-9", str(st["pid"]))
    wait_for("VM 201 stopped", lambda: status(sb, "node2", 201)["status"] == "stopped", 30)
    # droverd sees it gone and removes its tap, pid file and sockets
    wait_for("droverd's cleanup of VM 201", lambda: not leftovers(sb, "node2", 201), 30)
    tasks = wait_for("a qmcleanup task ended", lambda: (
        lambda t: len(t) > before and all(x["status"] == "stopped" for x in t) and t)(
        cleanup_tasks(sb, "node2", 201)), 30)
    newest = max(tasks, key=lambda t: t["starttime"])
    assert newest["exitstatus"] == "OK"
    log = sb.exec("node2", "drover", "task", "log", newest["upid"]).stdout
    assert "removed tap tap201i0" in log and f"removed {RUN}/201.pid" in log
    # the next start works as after a stop
    vm(sb, "node2", "start", 201)
    assert status(sb, "node2", 201)["status"] == "running"
    assert "tap201i0" in leftovers(sb, "node2", 201)


def test_poweroff_inside_is_cleaned_up(sb, guest):
    wait_ready(sb, "node2", 201)
    before = len(cleanup_tasks(sb, "node2", 201))
    # the guest powers itself off: QEMU exits on its own
    vm(sb, "node2", "terminal", 201, input="poweroff -f\n", check=False, timeout=30)
    wait_for("VM 201 powered off", lambda: status(sb, "node2", 201)["status"] == "stopped", 60)
    wait_for("droverd's cleanup of VM 201", lambda: not leftovers(sb, "node2", 201), 30)
    wait_for("a qmcleanup task", lambda: len(cleanup_tasks(sb, "node2", 201)) > before, 30)
    # a stop through drover leaves nothing behind itself: no cleanup task follows it
    vm(sb, "node2", "start", 201)
    wait_ready(sb, "node2", 201)
    vm(sb, "node2", "stop", 201)
    assert not leftovers(sb, "node2", 201)
    count = len(cleanup_tasks(sb, "node2", 201))
    time.sleep(12)  # two of droverd's status ticks
    assert len(cleanup_tasks(sb, "node2", 201)) == count


def test_locked_vm_refuses_start(sb, guest):
    path = f"{CONFS.format(node='node2')}/201.conf"
    sb.write_file("node2", path, sb.read_file("node2", path) + "lock: backup\n")
    proc = vm(sb, "node2", "start", 201, check=False)
    assert proc.returncode == 1 and "VM 201 is locked (backup)" in proc.stdout + proc.stderr
    assert status(sb, "node2", 201)["status"] == "stopped"
    vm(sb, "node2", "unlock", 201)
    assert "lock" not in json.loads(vm(sb, "node2", "config", 201, "--output-format",
                                       "json").stdout)


def qemu_of(pid, vmid):
    """Is pid (the sandbox shares our pid namespace) still VM vmid's QEMU?"""
    try:
        with open(f"/proc/{pid}/cmdline", "rb") as f:
            return f"{RUN}/{vmid}.pid".encode() in f.read()
    except OSError:
        return False


def test_vm_without_pid_file_or_sockets_still_runs(sb, guest):
    """Its pid file deleted by hand (then its QMP socket too, as with /run wiped):
    the VM runs as long as its QEMU does. Status says so, a start refuses (no
    second QEMU on its disks), droverd cleans nothing up, a stop stops it."""
    pid = None
    try:
        for gone in (["pid"], ["pid", "qmp"]):
            if status(sb, "node2", 201)["status"] != "running":
                vm(sb, "node2", "start", 201)
            pid = status(sb, "node2", 201)["pid"]
            assert qemu_of(pid, 201) and "tap201i0" in leftovers(sb, "node2", 201)
            before = len(cleanup_tasks(sb, "node2", 201))
            for ext in gone:
                sb.exec("node2", "rm", f"{RUN}/201.{ext}")
            st = status(sb, "node2", 201)
            assert st["status"] == "running" and st["pid"] == pid, st
            if "qmp" not in gone:
                assert st["qmpstatus"] == "running"
            proc = vm(sb, "node2", "start", 201, check=False)
            assert proc.returncode == 1
            assert "VM 201 is already running" in proc.stdout + proc.stderr
            assert qemu_of(pid, 201)
            # droverd sees it running: its status, as node1 reads it, and no cleanup
            time.sleep(12)  # two of droverd's status ticks
            assert listed(sb, "node1")[201]["status"] == "running"
            assert len(cleanup_tasks(sb, "node2", 201)) == before
            assert "tap201i0" in leftovers(sb, "node2", 201)
            out = vm(sb, "node2", "stop", 201).stdout
            assert f"Stopping VM 201 (pid {pid})" in out
            wait_for("VM 201's QEMU gone", lambda: not qemu_of(pid, 201), 10)
            assert status(sb, "node2", 201)["status"] == "stopped"
            assert not leftovers(sb, "node2", 201)
    finally:
        if pid and qemu_of(pid, 201):
            os.kill(pid, 9)


HOSTILE = {
    301: ("bogus: 1\nmemory: 256\n", r"301\.conf:1: .*bogus"),
    302: ("memory: 0\n", r"302\.conf:1: .*memory"),
    303: ("memory: 256\nvirtio0: nosuch:303/vm-303-disk-0.raw,size=32M\n", r"nosuch"),
    304: ("memory: 256\nvirtio0: local-btrfs:101/vm-101-disk-0.raw,size=32M\n",
          r"belongs to VM 101, not to VM 304"),
    305: ("memory: 256\nnet0: virtio=BC:24:11:00:00:05,bridge=vmbr9\n",
          r"net0: bridge 'vmbr9' does not exist"),
}


def test_hostile_configs_start_nothing(sb, vm101):
    d = CONFS.format(node="node1")
    for vmid, (text, why) in HOSTILE.items():
        sb.write_file("node1", f"{d}/{vmid}.conf", text)
        proc = vm(sb, "node1", "start", vmid, check=False)
        assert proc.returncode == 1, vmid
        assert re.search(why, proc.stdout + proc.stderr), (vmid, proc.stdout + proc.stderr)
        assert status(sb, "node1", vmid)["status"] == "stopped" if vmid > 302 else True
        assert sb.exec("node1", "test", "-e", f"{RUN}/{vmid}.pid", check=False).returncode != 0
    assert "tap305i0" not in sb.exec("node1", "ip", "-br", "link").stdout
    # a 10 MB config: droverfs or the parser refuses it, nothing starts
    sb.exec("node1", "sh", "-c", f"head -c 10000000 /dev/zero | tr '\\0' '#' > {d}/306.conf",
            check=False)
    proc = vm(sb, "node1", "start", 306, check=False)
    assert proc.returncode == 1
    assert re.search(r"too large|File too large|does not exist", proc.stdout + proc.stderr)
    for vmid in list(HOSTILE) + [306]:
        sb.exec("node1", "rm", "-f", f"{d}/{vmid}.conf")


def test_shutdown_and_destroy_free_the_volumes(sb, vm101):
    out = vm(sb, "node1", "shutdown", 101, "--timeout", "90", timeout=150).stdout
    assert "TASK OK" in out
    assert status(sb, "node1", 101)["status"] == "stopped"
    vm(sb, "node1", "set", 101, "--protection", "1")
    proc = vm(sb, "node1", "destroy", 101, check=False)
    assert proc.returncode == 1 and "protected" in proc.stdout + proc.stderr
    vm(sb, "node1", "set", 101, "--delete", "protection")
    # a VM with replication jobs: refused, unless --purge, which removes them after it
    sb.exec("node1", "drover", "replication", "create-local-job", "101-0", "node2",
            "--schedule", "2099-01-01")
    proc = vm(sb, "node1", "destroy", 101, check=False)
    assert proc.returncode == 1
    assert "replication jobs: 101-0 (to node2)" in proc.stdout + proc.stderr
    with_state = "vs2" in vm(sb, "node1", "listsnapshot", 101).stdout
    out = vm(sb, "node1", "destroy", 101, "--purge").stdout
    assert "freed local-btrfs:101/vm-101-disk-0.raw" in out and "TASK OK" in out
    # the RAM state of a snapshot with --vmstate (test_snapshot_with_vmstate...) goes too
    assert not with_state or "freed local-btrfs:101/vm-101-state-vs2.raw" in out
    assert "removed replication job 101-0" in out
    assert "101-0" not in sb.exec("node1", "drover", "replication", "list").stdout
    vols = sb.exec("node1", "drover", "storage", "list", "local-btrfs").stdout
    assert "vm-101-" not in vols
    assert 101 not in listed(sb, "node2")
    # the VMID is free again, on any node
    proc = vm(sb, "node2", "status", 101, check=False)
    assert "does not exist" in proc.stderr
