"""drover replication of VM disks on node-local RBD storage, on real Ceph.

One 2-node sandbox with `up --ceph-local`: the Ceph host runs two unrelated
Ceph clusters ("ceph" and "ceph2", each its own fsid, monitor, memstore OSD,
manager and pool rbd); node1's /etc/ceph names the first, node2's the second.
The rbd storage "ceph-local" has no monhost and shared 0, so the same volume
ID is a different image on each node and replication copies it: full, then
incrementally, as rbd-diff streams between the two clusters.

Guests are configs written straight into droverfs with disks made by
`drover storage alloc` on ceph-local (no guest runs). Test data goes in
through `rbd import-diff` of diffs this file writes, and contents are
compared with `rbd export` checksums on each node's own cluster: the replica
is checked by Ceph's tools, not by drover.

Checked: the full and the incremental run (content of the snapshot and of the
replica's head, the snapshot names, the older snapshot removed on both
sides, the status columns), a node whose ceph.conf names the source's cluster
refused before anything is pruned, the sender's stream cut mid-way through
a full and an incremental sync (no half-received image, the target back at
its base, the next run good), the base snapshot replaced by hand
on the target by one of the same name (matched by identity, not by name: "No
common base snapshot"), and delete with and without --keep. Last, a real VM
(the test guest) with its disk on ceph-local: QEMU opens it through the
node's own ceph.conf, a run while it runs freezes it, node1 fails, and node2
recovers the VM and boots it from its own cluster's replica, which holds
what the guest wrote before the last sync and not what came after.
"""
import hashlib
import json
import os
import re
import shutil
import signal
import struct
import subprocess
import time

import pytest

from conftest import _sandbox_ready, sandbox_name
from polling import wait_for
from sandbox import DROVER, Sandbox
from test_storage import argv_of, children

STORE = "ceph-local"
POOL = "rbd"
NEVER = "2099-01-01"  # a schedule the scheduler does not reach during the tests
MiB = 1 << 20
SIZE = 64 * MiB


@pytest.fixture(scope="module")
def sb():
    if not _sandbox_ready() or not all(shutil.which(p) for p in ("ceph-mon", "ceph-osd",
                                                                  "ceph-mgr")):
        pytest.skip("needs root, corosync and Debian's ceph-mon, ceph-osd and ceph-mgr")
    s = Sandbox(sandbox_name(), nodes=2, ceph_local=True)
    try:
        t0 = time.monotonic()
        s.up(timeout=300)
        s.up_seconds = time.monotonic() - t0
        for vmid in (100, 101):
            make_vm(s, vmid)
            repl(s, "node1", "create-local-job", f"{vmid}-0", "node2", "--schedule", NEVER)
        yield s
    finally:
        s.down(check=False)


# -- helpers -------------------------------------------------------------------

def run(sb, node, *argv, input=None, check=True, timeout=120):
    """argv inside node, bytes in and out."""
    return sb.exec_bytes(node, *argv, input=input, check=check, timeout=timeout)


def out(sb, node, *argv):
    return run(sb, node, *argv).stdout.decode()


def repl(sb, node, *args, check=True, timeout=300):
    return run(sb, node, "drover", "replication", *args, check=check, timeout=timeout)


def fails(sb, node, *args):
    proc = repl(sb, node, *args, check=False)
    assert proc.returncode != 0, f"drover replication {' '.join(args)} succeeded"
    return proc.stderr.decode(errors="replace")


def image(vmid):
    return f"vm-{vmid}-disk-0"


def volid(vmid):
    return f"{STORE}:{image(vmid)}"


def diff_v1(size, writes):
    """An "rbd diff v1" stream (Ceph's format) writing {offset: data}."""
    data = bytearray(b"rbd diff v1\n") + b"s" + struct.pack("<Q", size)
    for off, chunk in sorted(writes.items()):
        data += b"w" + struct.pack("<QQ", off, len(chunk)) + chunk
    return bytes(data + b"e")


def write(sb, vmid, mib, at=0):
    """mib MiB of random data into the image on node1, in 2 MiB pieces from MiB at."""
    writes = {(at + k) * MiB: os.urandom(2 * MiB) for k in range(0, mib, 2)}
    run(sb, "node1", "rbd", "import-diff", "--no-progress", "-", f"{POOL}/{image(vmid)}",
        input=diff_v1(SIZE, writes))


def make_vm(sb, vmid):
    """A VM config on node1 with one 64M disk on ceph-local, 16 MiB of it random."""
    run(sb, "node1", "drover", "storage", "alloc", STORE, vmid, image(vmid), "64M")
    write(sb, vmid, 16)
    run(sb, "node1", "sh", "-c",
        f"printf 'memory: 256\\nscsi0: {volid(vmid)},size=64M\\n' "
        f"> /etc/drover/nodes/node1/qemu-server/{vmid}.conf")


def snapshots(sb, node, vmid):
    """[{name, ctime, id, origin}] of the volume on node, None when it has no such volume."""
    proc = run(sb, node, "drover", "storage", "snapshots", volid(vmid), "--output-format",
               "json", check=False)
    return json.loads(proc.stdout) if proc.returncode == 0 else None


def repl_snaps(sb, node, vmid, job):
    return [s["name"] for s in snapshots(sb, node, vmid) or []
            if s["name"].startswith(f"__replicate_{job}_")]


def images(sb, node):
    return out(sb, node, "rbd", "ls", POOL).split()


def sha(sb, node, spec):
    """sha256 of POOL/spec as `rbd export` reads it on node's own cluster."""
    text = out(sb, node, "sh", "-c", 'rbd --no-progress export "$1" - | sha256sum', "sh",
               f"{POOL}/{spec}")
    return text.split()[0]


def status(sb, job):
    jobs = json.loads(repl(sb, "node1", "status", "--output-format", "json").stdout)
    return next((j for j in jobs if j["id"] == job), None)


def replica_matches(sb, vmid, job):
    """node2's replica is node1's snapshot, byte for byte; the snapshot's identity travelled."""
    (snap,) = repl_snaps(sb, "node1", vmid, job)
    assert repl_snaps(sb, "node2", vmid, job) == [snap]
    src = sha(sb, "node1", f"{image(vmid)}@{snap}")
    assert sha(sb, "node2", f"{image(vmid)}@{snap}") == src
    assert sha(sb, "node2", image(vmid)) == src
    (here,) = [s for s in snapshots(sb, "node1", vmid) if s["name"] == snap]
    (there,) = [s for s in snapshots(sb, "node2", vmid) if s["name"] == snap]
    assert here["id"] and here["origin"] == "" and there["origin"] == here["id"], (here, there)
    return snap


def partial(sb, node):
    """Images in node's pool that are not drover's volume names: half-received ones."""
    return [i for i in images(sb, node) if not re.fullmatch(r"vm-\d+-disk-\d+", i)]


# -- the sandbox ---------------------------------------------------------------

def test_two_clusters(sb):
    print(f"sandbox up --ceph-local with 2 nodes: {sb.up_seconds:.1f} s")
    status_text = sb.status()
    for daemon in ("ceph-mon", "ceph-osd", "ceph-mgr", "ceph2-mon", "ceph2-osd", "ceph2-mgr"):
        assert sb.pid("ceph", daemon), f"{daemon} not running:\n{status_text}"
    fsid = {n: out(sb, n, "ceph", "fsid").strip() for n in sb.node_names}
    assert fsid["node1"] != fsid["node2"], fsid
    assert out(sb, "ceph", "ceph", "fsid").strip() == fsid["node1"]
    assert out(sb, "ceph", "ceph", "--cluster", "ceph2", "fsid").strip() == fsid["node2"]
    for node in sb.node_names:
        assert out(sb, node, "ceph", "health").startswith("HEALTH_OK")
    # the storage: no monhost, shared 0; "ceph" (one cluster for all) stays shared
    text = sb.read_file("node2", "/etc/drover/storage.cfg")
    section = text[text.index(f"rbd: {STORE}\n"):].split("\n\n")[0]
    assert section.splitlines()[1:] == ["\tpool rbd", "\tcontent images", "\tkrbd 0",
                                        "\tshared 0"], section
    stores = {s["storage"]: s for s in json.loads(
        out(sb, "node2", "drover", "storage", "status", "--output-format", "json"))}
    assert stores[STORE]["shared"] is False and stores[STORE]["active"] is True
    assert stores["ceph"]["shared"] is True
    # what shared 0 cannot have: one monhost or one droverfs key for every node
    for extra, want in ((["--monhost", "10.99.0.253"], "--shared 0 needs each node's own "
                         "Ceph cluster, found through its /etc/ceph/ceph.conf; --monhost names "
                         "the same monitors for every node"),
                        (["--keyring", "/etc/ceph/ceph.client.admin.keyring"],
                         "--keyring: with --shared 0 every node has its own Ceph cluster")):
        proc = run(sb, "node1", "drover", "storage", "add", "rbd", "bad", "--pool", POOL,
                   "--shared", "0", *extra, check=False)
        assert proc.returncode != 0 and want in proc.stderr.decode(), proc.stderr
    assert "rbd: bad" not in sb.read_file("node1", "/etc/drover/storage.cfg")
    # the same volume ID is a different image on each node
    assert image(100) in images(sb, "node1") and image(100) not in images(sb, "node2")


# -- runs ----------------------------------------------------------------------

def test_full_then_incremental(sb):
    text = repl(sb, "node1", "run", "--id", "100-0", "--verbose").stdout.decode()
    assert f"full sync '{volid(100)}'" in text, text
    assert "rbd-diff stream" in text, text
    first = replica_matches(sb, 100, "100-0")
    st = status(sb, "100-0")
    assert st["state"] == "OK" and st["last_sync"] == int(first.split("_")[-3]), st
    # what was sent is about the 16 MiB written, not the 64 MiB image
    assert 16 * MiB <= st["bytes"] < 17 * MiB, st
    # whole 4 MiB objects: one new since the base goes whole (zeroes too), as with export-diff
    write(sb, 100, 8, at=32)
    text = repl(sb, "node1", "run", "--id", "100-0", "--verbose").stdout.decode()
    assert f"incremental sync '{volid(100)}' ({first} => " in text, text
    second = replica_matches(sb, 100, "100-0")  # one snapshot each: the older one went
    assert second != first
    assert 8 * MiB <= status(sb, "100-0")["bytes"] < 9 * MiB, text
    lines = repl(sb, "node1", "status").stdout.decode().splitlines()
    assert lines[0].split() == ["JobID", "Enabled", "Target", "LastSync", "NextSync",
                                "Duration", "FailCount", "State"]
    (cols,) = [line.split() for line in lines[1:] if line.startswith("100-0 ")]
    assert cols[:3] == ["100-0", "Yes", "local/node2"] and cols[-2:] == ["0", "OK"], cols


def test_target_on_the_source_cluster_refused(sb):
    """node2's ceph.conf names node1's cluster: the target refuses before it prunes anything."""
    (base,) = repl_snaps(sb, "node1", 100, "100-0")
    etc = {n: os.path.join(sb.state_dir, n, "etc-ceph") for n in sb.node_names}
    saved = {f: open(os.path.join(etc["node2"], f), "rb").read()
             for f in ("ceph.conf", "ceph.client.admin.keyring")}
    try:
        for f in saved:
            shutil.copyfile(os.path.join(etc["node1"], f), os.path.join(etc["node2"], f))
        err = fails(sb, "node1", "run", "--id", "100-0")
        assert f"storage '{STORE}' on node2 is the source's own (rbd:" in err, err
        # node1's base and image are untouched (the "target" is the same pool)
        assert repl_snaps(sb, "node1", 100, "100-0") == [base]
        assert "is the source's own" in status(sb, "100-0")["error"]
    finally:
        for f, data in saved.items():
            with open(os.path.join(etc["node2"], f), "wb") as fh:
                fh.write(data)
    write(sb, 100, 2, at=50)
    text = repl(sb, "node1", "run", "--id", "100-0", "--verbose").stdout.decode()
    assert f"incremental sync '{volid(100)}' ({base} => " in text, text
    replica_matches(sb, 100, "100-0")
    assert status(sb, "100-0")["fail_count"] == 0


def cut_run(sb, job):
    """Run job on node1 (its rate limited) and SIGKILL the ssh carrying its volume's
    stream 2 s into it: the run fails saying the stream was cut."""
    argv = [DROVER, "sandbox", "exec", "--name", sb.name, "node1", "--", "drover",
            "replication", "run", "--id", job]
    proc = subprocess.Popen(argv, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    # the stream's own ssh (the nodes share the host's pid namespace: never pgrep)
    ssh = wait_for("the stream's ssh under the run",
                   lambda: next((p for p in children(proc.pid)
                                 if os.path.basename((argv_of(p) or [""])[0]) == "ssh" and
                                 any("import" in a for a in argv_of(p))), None),
                   timeout=120, interval=0.05)
    time.sleep(2)  # some of the stream is on node2 by now
    os.kill(ssh, signal.SIGKILL)
    _, err = proc.communicate(timeout=300)
    assert proc.returncode == 1, err
    assert f"{job}: import on node2: the stream was cut (ssh or the receiver was killed by " \
        "signal 9" in err, err
    st = status(sb, job)
    assert st["fail_count"] == 1 and "the stream was cut" in st["error"], st


def test_sender_cut_on_full_sync(sb):
    """The stream's ssh is killed mid-way through 101's full sync: a clear error, no
    half-received image on node2, the source's new snapshot gone, the next run full."""
    repl(sb, "node1", "update", "101-0", "--rate", "2")
    write(sb, 101, 16, at=20)  # 32 MiB to send: about 16 s at 2 MB/s
    cut_run(sb, "101-0")
    assert repl_snaps(sb, "node1", 101, "101-0") == []
    wait_for("no half-received image on node2",
             lambda: image(101) not in images(sb, "node2") and not partial(sb, "node2"),
             timeout=60)
    repl(sb, "node1", "update", "101-0", "--delete", "rate")
    text = repl(sb, "node1", "run", "--id", "101-0", "--verbose").stdout.decode()
    assert f"full sync '{volid(101)}'" in text, text
    replica_matches(sb, 101, "101-0")
    assert status(sb, "101-0")["fail_count"] == 0


def test_sender_cut_on_incremental_sync(sb):
    """Cut mid-way through an incremental: node2's image is back at the base (the diff's
    half written there undone), the base kept on both sides, the next run incremental."""
    (base,) = repl_snaps(sb, "node1", 101, "101-0")
    at_base = sha(sb, "node2", image(101))
    repl(sb, "node1", "update", "101-0", "--rate", "2")
    write(sb, 101, 24, at=40)
    cut_run(sb, "101-0")
    assert repl_snaps(sb, "node1", 101, "101-0") == [base]
    assert repl_snaps(sb, "node2", 101, "101-0") == [base]
    wait_for("node2's image back at the base",
             lambda: sha(sb, "node2", image(101)) == at_base and not partial(sb, "node2"),
             timeout=60)
    repl(sb, "node1", "update", "101-0", "--delete", "rate")
    text = repl(sb, "node1", "run", "--id", "101-0", "--verbose").stdout.decode()
    assert f"incremental sync '{volid(101)}' ({base} => " in text, text
    replica_matches(sb, 101, "101-0")
    assert status(sb, "101-0")["fail_count"] == 0


def test_base_replaced_on_target(sb):
    """The base snapshot removed by hand on node2 and made again under its name: a
    different snapshot, so no common base; nothing removed on node1."""
    (base,) = repl_snaps(sb, "node2", 100, "100-0")
    spec = f"{POOL}/{image(100)}@{base}"
    run(sb, "node2", "rbd", "snap", "rm", "--no-progress", spec)
    run(sb, "node2", "rbd", "snap", "create", "--no-progress", spec)
    assert repl_snaps(sb, "node2", 100, "100-0") == [base]  # by name it is there
    err = fails(sb, "node1", "run", "--id", "100-0")
    assert f"No common base snapshot on volume(s) {volid(100)}" in err, err
    st = status(sb, "100-0")
    assert st["fail_count"] == 1 and "No common base snapshot" in st["error"], st
    assert repl_snaps(sb, "node1", 100, "100-0") == [base]
    # as the message says: the volume off the target, and the next run is full
    run(sb, "node2", "rbd", "snap", "purge", "--no-progress", f"{POOL}/{image(100)}")
    run(sb, "node2", "rbd", "rm", "--no-progress", f"{POOL}/{image(100)}")
    text = repl(sb, "node1", "run", "--id", "100-0", "--verbose").stdout.decode()
    assert f"full sync '{volid(100)}'" in text, text
    replica_matches(sb, 100, "100-0")
    assert status(sb, "100-0")["fail_count"] == 0


# -- removal -------------------------------------------------------------------

def test_delete_keep_and_full(sb):
    assert "Replication job removal is a background task" in \
        repl(sb, "node1", "delete", "101-0", "--keep").stdout.decode()
    # droverd's scheduler removes it at once (remove_job=local is always due)
    wait_for("101-0 removed",
             lambda: "101-0" not in repl(sb, "node1", "list").stdout.decode(), timeout=120)
    assert repl_snaps(sb, "node1", 101, "101-0") == []
    assert image(101) in images(sb, "node2")  # --keep: the replica stays
    repl(sb, "node1", "delete", "100-0")
    wait_for("100-0 removed",
             lambda: "100-0" not in repl(sb, "node1", "list").stdout.decode(), timeout=120)
    assert repl_snaps(sb, "node1", 100, "100-0") == []
    assert image(100) not in images(sb, "node2")  # full: the replica is gone
    assert image(100) in images(sb, "node1")  # the source's disk stays
    assert status(sb, "100-0") is None


# -- a running VM on ceph-local: replicated, node1 lost, recovered on node2 -----
#
# Last in the module: node1 stays stopped. VM 102 boots the test guest with one
# disk on ceph-local (ext4 on /data), so QEMU opens the image on node1's own
# cluster; a run while it runs freezes it through the guest agent; then its
# QEMU is killed and node1 stopped, node2 takes quorum alone (drover cluster
# expected 1), recovers the VM and starts it from its own cluster's replica.

VM = 102
RUN = "/run/drover/qemu-server"
MAKE_GUEST = os.path.join(os.path.dirname(os.path.dirname(os.path.dirname(
    os.path.abspath(__file__)))), "scripts", "make-test-guest")


def vm(sb, node, *args, input=None, timeout=120):
    return run(sb, node, "drover", "vm", *args, input=input, timeout=timeout).stdout.decode()


def console(sb, node, line, expect, timeout=90):
    """Type a line on VM's serial console until expect shows in what comes back."""
    return wait_for(f"'{expect}' on VM {VM}'s console on {node}", lambda: (
        lambda text: expect in text and text)(
            vm(sb, node, "terminal", VM, input=(line + "\n").encode(), timeout=30)),
        timeout=timeout, interval=1)


def booted(sb, node):
    wait_for(f"VM {VM} READY on {node}", lambda: b"READY" in run(
        sb, node, "cat", f"{RUN}/{VM}.serial0.log", check=False).stdout, timeout=180, interval=1)


def rbd_drive(sb, node):
    """VM's -blockdev of driver rbd, as `drover vm showcmd` makes it on node."""
    (drive,) = [a for a in vm(sb, node, "showcmd", VM, "--pretty").split()
                if a.startswith("driver=rbd,")]
    return drive


def node_state(sb, node, of):
    nodes = json.loads(out(sb, node, "drover", "node", "status", "--output-format", "json"))
    return next((n["state"] for n in nodes if n["node"] == of), None)


def test_running_vm_recovered_from_replica(sb):
    guest_dir = subprocess.run([MAKE_GUEST, "--build", os.environ.get("DROVER_BUILD", "build")],
                               check=True, capture_output=True, text=True,
                               timeout=900).stdout.splitlines()[-1]
    with open(os.path.join(guest_dir, "guest.json")) as f:
        guest = json.load(f)
    append = "console=ttyS0 panic=-1 quiet drover.data=vda"
    t0 = time.monotonic()
    text = vm(sb, "node1", "create", VM, "--memory", "262080K", "--cores", "1", "--vga", "none",
              "--agent", "1", "--serial0", "socket", "--virtio0", f"{STORE}:64M", "--args",
              f"-kernel {guest['kernel']} -initrd {guest['initrd']} -append '{append}'")
    assert f"allocated {volid(VM)}" in text, text
    # librbd finds the node's own cluster through the node's own /etc/ceph
    drive = rbd_drive(sb, "node1")
    assert f"pool={POOL},image={image(VM)},conf=/etc/ceph/ceph.conf,user=admin," in drive, drive
    try:
        vm(sb, "node1", "start", VM)
        booted(sb, "node1")
        console(sb, "node1", "echo before-sync > /data/f && sync && echo W$((1+1))", "W2")
        repl(sb, "node1", "create-local-job", f"{VM}-0", "node2", "--schedule", NEVER)
        text = repl(sb, "node1", "run", "--id", f"{VM}-0", "--verbose").stdout.decode()
        assert f"full sync '{volid(VM)}'" in text, text
        assert f"froze 1 file systems of VM {VM}" in text and "thawed" in text, text
        (snap,) = repl_snaps(sb, "node1", VM, f"{VM}-0")
        assert repl_snaps(sb, "node2", VM, f"{VM}-0") == [snap]
        # written after the last sync: lost with node1
        console(sb, "node1", "echo after-sync > /data/g && sync && echo W$((2+1))", "W3")
        print(f"VM {VM} on ceph-local created, booted, replicated: {time.monotonic() - t0:.1f} s")

        # node1 fails: its QEMU dies with it
        t0 = time.monotonic()
        run(sb, "node1", "sh", "-c", f"kill -9 $(cat {RUN}/{VM}.pid)")
        sb.stop("node1")
        wait_for("node1 offline on node2", lambda: node_state(sb, "node2", "node1") == "offline",
                 timeout=60)
        # node2 alone, on purpose (drover-cluster(1)): quorate, and droverfs writable
        run(sb, "node2", "drover", "cluster", "expected", "1")
        sb.wait_quorate("node2", True)
        wait_for("droverfs writable on node2", lambda: run(
            sb, "node2", "touch", "/etc/drover/.node2-alone", check=False).returncode == 0)
        text = vm(sb, "node2", "recover", VM)
        assert f"VM {VM} recovered from node1" in text, text
        assert f"{volid(VM)}: rolled back to {snap}" in text, text
        drive = rbd_drive(sb, "node2")
        assert f"image={image(VM)},conf=/etc/ceph/ceph.conf,user=admin," in drive, drive
        vm(sb, "node2", "start", VM)
        booted(sb, "node2")
        print(f"node1 lost, VM {VM} recovered and booted on node2: {time.monotonic() - t0:.1f} s")
        # QEMU has the image open on node2's own cluster (its watcher is there)
        assert "watcher=" in out(sb, "node2", "rbd", "status", f"{POOL}/{image(VM)}")
        # the guest sees what was on its disk at the last sync, not what came after
        # (what the console shows back: the typed line too, hence END-$((2*5)))
        text = console(sb, "node2", "cat /data/f; cat /data/g; echo END-$((2*5))", "END-10")
        assert "before-sync" in text and "after-sync" not in text, text
        assert "can't open '/data/g': No such file or directory" in text, text
    finally:
        for node in ("node1", "node2"):
            run(sb, node, "sh", "-c", f"[ -f {RUN}/{VM}.pid ] && kill -9 $(cat {RUN}/{VM}.pid)",
                check=False)
