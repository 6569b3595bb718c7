"""drover storage on a 2-node sandbox: real btrfs on loop files, a shared dir,
real SSH between the nodes.

Every operation on dir and btrfs; storage.cfg edits under the cluster lock
with the digest; a volume copied node1 -> node2 in full and then
incrementally (over SSH and over plain TCP, with and without zstd) with equal
checksums; the rate limit; and the hostile cases: the sender or the receiver
killed mid-way, a full target file system, a wrong base, names of another
VMID or with '..', unknown storages, a malformed storage.cfg, broken streams.
Each must fail with an error that names the step and leave nothing
half-made on either node.
"""
import json
import os
import re
import signal
import subprocess
import time

import pytest

from cluster_cli import drover
from polling import wait_for
from conftest import _sandbox_ready, sandbox_name
from sandbox import Sandbox

BTRFS = "/var/lib/drover/local-btrfs"
LOCAL = "/var/lib/drover/local"
SHARED = "/var/lib/drover/shared"
NET = "10.99.0.0/24"


@pytest.fixture(scope="module")
def sb():
    if not _sandbox_ready():
        pytest.skip("drover sandbox needs root, corosync, iproute2 and iptables")
    s = Sandbox(sandbox_name(), nodes=2)
    try:
        s.up()
        # scratch files of the tests: the sandbox's own, seen by both nodes
        os.makedirs(tmp(s), exist_ok=True)
        yield s
    finally:
        s.down(check=False)


# -- helpers -------------------------------------------------------------------

def tmp(sb):
    return f"{sb.state_dir}/scratch"


def st(sb, node, *args, check=True, timeout=150):
    return drover(sb, node, "storage", *args, check=check, timeout=timeout)


def fails(sb, node, *args, timeout=150):
    """`drover storage ARGS` must fail; returns its stderr."""
    proc = st(sb, node, *args, check=False, timeout=timeout)
    assert proc.returncode != 0, f"drover storage {' '.join(args)} succeeded:\n{proc.stdout}"
    return proc.stderr


def sh(sb, node, script, check=True, timeout=120):
    return sb.exec(node, "sh", "-c", script, check=check, timeout=timeout)


def path(sb, node, volid, snap=None):
    extra = ["--snapshot", snap] if snap else []
    return st(sb, node, "path", volid, *extra).stdout.strip()


def sha(sb, node, volid):
    return sh(sb, node, f'sha256sum "{path(sb, node, volid)}"').stdout.split()[0]


def fill(sb, node, volid, mib, seek=0, source="/dev/urandom"):
    sh(sb, node, f'dd if={source} of="{path(sb, node, volid)}" bs=1M count={mib} seek={seek} '
                 f'conv=notrunc status=none')


def entries(sb, node, directory):
    """The names in a directory of node ([] when it does not exist)."""
    out = sh(sb, node, f'ls -A "{directory}" 2>/dev/null || true').stdout
    return sorted(out.split())


def snapshots(sb, node, volid):
    return json.loads(st(sb, node, "snapshots", volid, "--output-format", "json").stdout)


def volumes(sb, node, storage, vmid=None):
    extra = ["--vmid", str(vmid)] if vmid else []
    out = st(sb, node, "list", storage, "--output-format", "json", *extra).stdout
    return [v["volid"] for v in json.loads(out)]


def copy_stats(stdout):
    """(stream bytes, seconds, wire bytes) from the line `storage copy` prints."""
    m = re.search(r"in ([0-9.]+) s,", stdout)
    return float(m.group(1)) if m else None


def copy(sb, volid, *extra, node="node1", to="node2", check=True, timeout=300):
    return st(sb, node, "copy", volid, to, *extra, check=check, timeout=timeout)


def nothing_half_made(sb, vmid):
    """No temporary names of any import, on any storage of either node."""
    for node in ("node1", "node2"):
        for root in (BTRFS, LOCAL, SHARED):
            left = [e for e in entries(sb, node, f"{root}/images/{vmid}") if e.startswith(".tmp-")]
            assert not left, f"{node}: {root}/images/{vmid} keeps {left}"


def children(pid):
    """Every process below pid (by /proc's parent links)."""
    parents = {}
    for d in os.listdir("/proc"):
        if d.isdigit():
            try:
                with open(f"/proc/{d}/stat") as f:
                    parents[int(d)] = int(f.read().rsplit(")", 1)[1].split()[1])
            except (OSError, IndexError, ValueError):
                pass
    out, todo = [], [pid]
    while todo:
        p = todo.pop()
        kids = [c for c, pp in parents.items() if pp == p]
        out += kids
        todo += kids
    return out


def argv_of(pid):
    try:
        with open(f"/proc/{pid}/cmdline", "rb") as f:
            return [a.decode() for a in f.read().split(b"\0") if a]
    except OSError:
        return []


def mnt_ns(pid):
    try:
        return os.readlink(f"/proc/{pid}/ns/mnt")
    except OSError:
        return None


def find_in_node(sb, node, what, match, timeout=60):
    """The pid of a process whose argv match() accepts, inside node (its mount
    namespace): never one of another sandbox or of the host."""
    ns = mnt_ns(sb.pid(node, "droverfs"))
    assert ns

    def look():
        for d in os.listdir("/proc"):
            if d.isdigit() and match(argv_of(int(d))) and mnt_ns(int(d)) == ns:
                return int(d)
        return None
    return wait_for(f"{what} on {node}", look, timeout=timeout, interval=0.05)


def start_copy(sb, volid, *extra, node="node1", to="node2"):
    """A copy running in the background (drover sandbox exec ... storage copy)."""
    argv = [sb.drover, "sandbox", "exec", "--name", sb.name, node, "--", "drover", "storage",
            "copy", volid, to, *extra]
    return subprocess.Popen(argv, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)


def big_volume(sb, vmid, mib):
    volid = st(sb, "node1", "alloc", "local-btrfs", str(vmid), "-", f"{mib}M").stdout
    volid = volid.split("'")[1]
    fill(sb, "node1", volid, mib)
    st(sb, "node1", "snapshot", volid, "s1")
    return volid


# -- the sandbox's storage and storage.cfg ---------------------------------------

def test_sandbox_storage(sb):
    for node in ("node1", "node2"):
        status = {s["storage"]: s for s in
                  json.loads(st(sb, node, "status", "--output-format", "json").stdout)}
        assert set(status) == {"local", "local-btrfs", "shared"}
        for s in status.values():
            assert s["status"] == "active", s
        assert status["local-btrfs"]["type"] == "btrfs"
        # each node's own file system of the sandbox's size
        assert 3 << 30 < status["local-btrfs"]["total"] <= 4 << 30
        assert status["shared"]["shared"] is True
        assert sh(sb, node, f"stat -f -c %T {BTRFS}").stdout.strip() == "btrfs"
    # each node's btrfs is its own; the shared directory is one
    sh(sb, "node1", f"touch {BTRFS}/only-node1 {SHARED}/both")
    assert "only-node1" not in entries(sb, "node2", BTRFS)
    assert "both" in entries(sb, "node2", SHARED)
    sh(sb, "node1", f"rm {BTRFS}/only-node1 {SHARED}/both")
    # on the host: a loop device per node, on the sandbox's own image files
    loops = subprocess.run(["losetup", "-a"], capture_output=True, text=True).stdout
    for k in (1, 2):
        assert f"{sb.state_dir}/node{k}/btrfs.img" in loops


def test_config_edits_under_the_lock(sb):
    cfg = json.loads(st(sb, "node1", "config", "--output-format", "json").stdout)
    digest = cfg["digest"]
    assert len(digest) == 40
    st(sb, "node1", "add", "dir", "extra", "--path", "/var/lib/drover/extra",
       "--content", "images", "--digest", digest)
    # node2 sees it at once (one storage.cfg in droverfs)
    text = st(sb, "node2", "config").stdout
    assert "dir: extra\n\tpath /var/lib/drover/extra\n\tcontent images\n" in text
    # the old digest no longer matches: refused, nothing written
    err = fails(sb, "node2", "set", "extra", "--nodes", "node2", "--digest", digest)
    assert "storage.cfg was changed meanwhile" in err
    new = json.loads(st(sb, "node2", "config", "--output-format", "json").stdout)["digest"]
    st(sb, "node2", "set", "extra", "--nodes", "node2", "--disable", "1", "--digest", new)
    status = {s["storage"]: s for s in
              json.loads(st(sb, "node1", "status", "--output-format", "json").stdout)}
    assert status["extra"]["status"] == "disabled"
    st(sb, "node2", "set", "extra", "--delete", "disable")
    status = {s["storage"]: s for s in
              json.loads(st(sb, "node1", "status", "--output-format", "json").stdout)}
    assert status["extra"]["status"] == "not on this node"
    # bad edits are refused, naming the option; storage.cfg stays as it was
    before = st(sb, "node1", "config").stdout
    assert "--pth: not a key of a dir storage" in fails(sb, "node1", "set", "extra", "--pth", "/x")
    assert "--path cannot be changed" in fails(sb, "node1", "set", "extra", "--path", "/y")
    assert "--content: a btrfs storage cannot hold iso" in \
        fails(sb, "node1", "add", "btrfs", "b2", "--path", "/b2", "--content", "iso")
    assert "unknown storage type 'nfs'" in fails(sb, "node1", "add", "nfs", "n", "--path", "/n")
    assert "storage 'extra' exists already" in \
        fails(sb, "node1", "add", "dir", "extra", "--path", "/z")
    assert "'Bad' is not a storage ID" in fails(sb, "node1", "add", "dir", "Bad", "--path", "/z")
    assert st(sb, "node1", "config").stdout == before
    st(sb, "node1", "remove", "extra")
    assert "extra" not in st(sb, "node2", "config").stdout
    assert "no storage 'extra'" in fails(sb, "node1", "remove", "extra")


def test_malformed_storage_cfg(sb):
    good = sb.read_file("node1", "/etc/drover/storage.cfg")
    try:
        sb.write_file("node1", "/etc/drover/storage.cfg",
                      good + "dir: broken\n\tpath /x\n\tcolour blue\n")
        line = len((good + "dir: broken\n\tpath /x\n").splitlines()) + 1
        for node in ("node1", "node2"):
            for args in (("status",), ("list", "local"), ("config",),
                         ("alloc", "local", "300", "-", "1M")):
                err = fails(sb, node, *args)
                assert f"storage.cfg:{line}: unknown key 'colour' for a dir storage" in err, err
        # the same when the file is no section config at all
        sb.write_file("node1", "/etc/drover/storage.cfg", "just some text\n")
        assert "storage.cfg:1: 'just some text' is not a section header (TYPE: ID)" in \
            fails(sb, "node2", "status")
        assert not entries(sb, "node1", f"{LOCAL}/images/300")
    finally:
        sb.write_file("node1", "/etc/drover/storage.cfg", good)
    wait_for("storage.cfg back on node2",
             lambda: st(sb, "node2", "status", check=False).returncode == 0, timeout=30)


# -- volumes on dir and btrfs ---------------------------------------------------

def test_dir_operations(sb):
    out = st(sb, "node1", "alloc", "local", "200", "vm-200-disk-0", "16M").stdout
    assert out.strip() == "successfully created 'local:200/vm-200-disk-0.raw'"
    st(sb, "node1", "alloc", "local", "200", "-", "1M", "--format", "qcow2")
    st(sb, "node1", "alloc", "local", "200", "subvol-200-disk-0", "0", "--format", "subvol")
    vols = json.loads(st(sb, "node1", "list", "local", "--vmid", "200",
                         "--output-format", "json").stdout)
    by = {v["volid"]: v for v in vols}
    assert set(by) == {"local:200/vm-200-disk-0.raw", "local:200/vm-200-disk-1.qcow2",
                       "local:200/subvol-200-disk-0.subvol"}
    assert by["local:200/vm-200-disk-0.raw"]["size"] == 16 << 20
    assert by["local:200/vm-200-disk-1.qcow2"]["format"] == "qcow2"
    assert by["local:200/subvol-200-disk-0.subvol"]["content"] == "rootdir"
    assert "local:200/subvol-200-disk-0.subvol" not in \
        st(sb, "node1", "list", "local", "--content", "images").stdout
    raw = "local:200/vm-200-disk-0.raw"
    assert path(sb, "node1", raw) == f"{LOCAL}/images/200/vm-200-disk-0.raw"
    st(sb, "node1", "resize", raw, "+4M")
    st(sb, "node1", "resize", "local:200/vm-200-disk-1.qcow2", "8M")
    sizes = {v["volid"]: v["size"] for v in
             json.loads(st(sb, "node1", "list", "local", "--output-format", "json").stdout)}
    assert sizes[raw] == 20 << 20
    assert sizes["local:200/vm-200-disk-1.qcow2"] == 8 << 20
    assert "shrinking" in fails(sb, "node1", "resize", raw, "1M")
    assert "has no snapshots" in fails(sb, "node1", "snapshot", raw, "s1")
    assert "exists already" in fails(sb, "node1", "alloc", "local", "200", "vm-200-disk-0", "1M")
    # a raw+size stream to a file and back, under another name
    fill(sb, "node1", raw, 4, seek=2)
    t = tmp(sb)
    st(sb, "node1", "export", raw, "raw+size", f"{t}/s.raw")
    assert os.path.getsize(f"{t}/s.raw") == (20 << 20) + 8
    assert "it exists: remove it first" in fails(sb, "node1", "export", raw, "raw+size", f"{t}/s.raw")
    assert "exists on local (give --allow-rename" in \
        fails(sb, "node1", "import", raw, "raw+size", f"{t}/s.raw")
    out = st(sb, "node1", "import", raw, "raw+size", f"{t}/s.raw", "--allow-rename").stdout
    assert out.strip() == "successfully imported 'local:200/vm-200-disk-2.raw'"
    assert sha(sb, "node1", "local:200/vm-200-disk-2.raw") == sha(sb, "node1", raw)
    for volid in volumes(sb, "node1", "local", 200):
        st(sb, "node1", "free", volid)
    assert entries(sb, "node1", f"{LOCAL}/images/200") == []
    assert "does not exist" in fails(sb, "node1", "free", raw)


def test_btrfs_operations(sb):
    out = st(sb, "node1", "alloc", "local-btrfs", "210", "-", "32M").stdout
    vol = out.split("'")[1]
    assert vol == "local-btrfs:210/vm-210-disk-0.raw"
    assert path(sb, "node1", vol) == f"{BTRFS}/images/210/vm-210-disk-0/disk.raw"
    fill(sb, "node1", vol, 8)
    first = sha(sb, "node1", vol)
    st(sb, "node1", "snapshot", vol, "s1")
    fill(sb, "node1", vol, 4, seek=10)
    st(sb, "node1", "snapshot", vol, "s2")
    snaps = snapshots(sb, "node1", vol)
    assert [s["name"] for s in snaps] == ["s1", "s2"]
    assert all(re.fullmatch(r"[0-9a-f-]{36}", s["id"]) and s["origin"] == "" for s in snaps)
    assert "exists already" in fails(sb, "node1", "snapshot", vol, "s1")
    assert sh(sb, "node1", f'sha256sum "{path(sb, "node1", vol, "s1")}"').stdout.split()[0] == first
    # snapshots are read-only
    assert sh(sb, "node1", f'touch "{path(sb, "node1", vol, "s1")}"', check=False).returncode != 0
    # only to the latest snapshot
    assert "'s2' is newer than 's1'" in fails(sb, "node1", "rollback", vol, "s1")
    st(sb, "node1", "delsnapshot", vol, "s2")
    st(sb, "node1", "rollback", vol, "s1")
    assert sha(sb, "node1", vol) == first
    assert "does not exist" in fails(sb, "node1", "delsnapshot", vol, "s2")
    st(sb, "node1", "resize", vol, "+16M")
    assert [v for v in json.loads(st(sb, "node1", "list", "local-btrfs", "--vmid", "210",
                                     "--output-format", "json").stdout)
            if v["volid"] == vol][0]["size"] == 48 << 20
    # a container root
    sub = st(sb, "node1", "alloc", "local-btrfs", "210", "-", "0",
             "--format", "subvol").stdout.split("'")[1]
    assert sub == "local-btrfs:210/subvol-210-disk-0.subvol"
    sh(sb, "node1", f'echo hello > "{path(sb, "node1", sub)}/etc-hostname"')
    st(sb, "node1", "snapshot", sub, "base")
    # btrfs and raw+size streams, imported under free names
    t = tmp(sb)
    st(sb, "node1", "export", vol, "btrfs", f"{t}/s1.btrfs", "--snapshot", "s1")
    assert "format btrfs is not offered" in \
        fails(sb, "node1", "export", vol, "btrfs", f"{t}/never")
    assert not os.path.exists(f"{t}/never")
    out = st(sb, "node1", "import", vol, "btrfs", f"{t}/s1.btrfs", "--allow-rename").stdout
    assert out.strip() == "successfully imported 'local-btrfs:210/vm-210-disk-1.raw'"
    got = snapshots(sb, "node1", "local-btrfs:210/vm-210-disk-1.raw")
    assert [s["name"] for s in got] == ["s1"]
    assert got[0]["origin"] == snaps[0]["id"]  # received_uuid: where it came from
    assert sha(sb, "node1", "local-btrfs:210/vm-210-disk-1.raw") == first
    st(sb, "node1", "export", vol, "raw+size", f"{t}/s1.raw", "--snapshot", "s1")
    out = st(sb, "node1", "import", vol, "raw+size", f"{t}/s1.raw", "--allow-rename").stdout
    assert out.strip() == "successfully imported 'local-btrfs:210/vm-210-disk-2.raw'"
    assert sha(sb, "node1", "local-btrfs:210/vm-210-disk-2.raw") == first
    # free takes the snapshots with it
    for volid in volumes(sb, "node1", "local-btrfs", 210):
        st(sb, "node1", "free", volid)
    assert entries(sb, "node1", f"{BTRFS}/images/210") == []


def test_names_refused(sb):
    vol = st(sb, "node1", "alloc", "local-btrfs", "220", "-", "1M").stdout.split("'")[1]
    assert "belongs to VMID 221, not to 220" in \
        fails(sb, "node1", "alloc", "local-btrfs", "220", "vm-221-disk-0", "1M")
    assert "belongs to VMID 221, not to 220" in \
        fails(sb, "node1", "free", "local-btrfs:220/vm-221-disk-0.raw")
    assert "belongs to VMID 221, not to 220" in \
        fails(sb, "node1", "import", "local-btrfs:220/vm-221-disk-0.raw", "btrfs", "/dev/null")
    for bad in ("local-btrfs:220/../221/vm-221-disk-0.raw", "local-btrfs:../../etc/passwd",
                "local:iso/../../../etc/shadow.iso"):
        assert "has '..' in it" in fails(sb, "node1", "path", bad)
    assert "may not have '/' or '..'" in \
        fails(sb, "node1", "alloc", "local-btrfs", "220", "../vm-220-disk-9", "1M")
    assert "is not a snapshot name" in fails(sb, "node1", "snapshot", vol, "../x")
    assert "unknown option '-rf'" in fails(sb, "node1", "snapshot", vol, "-rf")
    assert "storage 'nope' does not exist" in fails(sb, "node1", "list", "nope")
    assert "storage 'nope' does not exist" in fails(sb, "node1", "path", "nope:220/x.raw")
    assert "target storage 'nope' does not exist" in \
        fails(sb, "node1", "copy", vol, "node2", "--target-storage", "nope")
    assert "is not a volume ID" in fails(sb, "node1", "free", "no-colon")
    assert "node 'node9' is not in this cluster" in fails(sb, "node1", "copy", vol, "node9")
    assert entries(sb, "node1", f"{BTRFS}/images/220") == ["vm-220-disk-0"]
    st(sb, "node1", "free", vol)


def test_hostile_streams_refused(sb):
    """Streams that lie: nothing is made from them."""
    # raw+size: a size no disk has, a stream shorter than its size, more data than its size
    t = tmp(sb)
    with open(f"{t}/huge.raw", "wb") as f:
        f.write(b"\xff\xff\xff\xff\xff\xff\xff\x7f")
    with open(f"{t}/short.raw", "wb") as f:
        f.write((1 << 20).to_bytes(8, "little") + b"short")
    with open(f"{t}/long.raw", "wb") as f:
        f.write((4).to_bytes(8, "little") + b"abcdEXTRA")
    for storage in ("local", "local-btrfs"):
        vol = f"{storage}:230/vm-230-disk-0.raw"
        assert "more than any disk" in fails(sb, "node1", "import", vol, "raw+size", f"{t}/huge.raw")
        assert "the stream ended after 5 of its 1048576 bytes" in \
            fails(sb, "node1", "import", vol, "raw+size", f"{t}/short.raw")
        assert "more data than its raw+size header says" in \
            fails(sb, "node1", "import", vol, "raw+size", f"{t}/long.raw")
    # btrfs: not a send stream; a real one cut short; one with data after its end
    vol = big_volume(sb, 231, 4)
    st(sb, "node1", "export", vol, "btrfs", f"{t}/r.btrfs", "--snapshot", "s1")
    with open(f"{t}/r.btrfs", "rb") as f:
        stream = f.read()
    with open(f"{t}/cut.btrfs", "wb") as f:
        f.write(stream[:100000])
    with open(f"{t}/twice.btrfs", "wb") as f:
        f.write(stream + stream)
    target = "local-btrfs:232/vm-232-disk-0.raw"
    assert "not a btrfs send stream" in fails(sb, "node1", "import", target, "btrfs", f"{t}/huge.raw")
    assert "before its end command (the sender died?)" in \
        fails(sb, "node1", "import", target, "btrfs", f"{t}/cut.btrfs")
    assert "after its end command" in fails(sb, "node1", "import", target, "btrfs", f"{t}/twice.btrfs")
    # as an increment of a base it is not
    st(sb, "node1", "alloc", "local-btrfs", "232", "vm-232-disk-0", "1M")
    st(sb, "node1", "snapshot", target, "s0")
    assert "a full stream, but an incremental one was expected" in \
        fails(sb, "node1", "import", target, "btrfs", f"{t}/r.btrfs", "--base", "s0")
    for vmid in (230, 232):
        assert [e for e in entries(sb, "node1", f"{BTRFS}/images/{vmid}")
                if e != "vm-232-disk-0" and e != "vm-232-disk-0@s0"] == []
        assert entries(sb, "node1", f"{LOCAL}/images/{vmid}") == []
    for vmid in (231, 232):
        for volid in volumes(sb, "node1", "local-btrfs", vmid):
            st(sb, "node1", "free", volid)


# -- copies between nodes --------------------------------------------------------

@pytest.mark.parametrize("insecure", [False, True], ids=["ssh", "tcp"])
def test_copy_full_then_incremental(sb, insecure):
    vmid = 241 if insecure else 240
    extra = ["--insecure", NET] if insecure else []
    vol = big_volume(sb, vmid, 64)
    out = copy(sb, vol, "--snapshot", "s1", *extra).stdout
    assert f"copied {vol} to node2 as {vol}: 64.0 MiB (btrfs)" in out
    assert sha(sb, "node2", vol) == sha(sb, "node1", vol)
    theirs = snapshots(sb, "node2", vol)
    assert [s["name"] for s in theirs] == ["s1"]
    assert theirs[0]["origin"] == snapshots(sb, "node1", vol)[0]["id"]
    # 10 MiB of changes go as about 10 MiB
    fill(sb, "node1", vol, 10, seek=20)
    st(sb, "node1", "snapshot", vol, "s2")
    out = copy(sb, vol, "--snapshot", "s2", "--base", "s1", "--delete-snapshot", "s1",
               *extra).stdout
    wire = re.search(r"; ([0-9.]+) MiB on the wire", out)
    assert wire and 10.0 <= float(wire.group(1)) < 10.5, out
    assert sha(sb, "node2", vol) == sha(sb, "node1", vol)
    assert [s["name"] for s in snapshots(sb, "node2", vol)] == ["s2"]
    # the snapshot on node2 is the one of node1: a third increment goes on it
    fill(sb, "node1", vol, 1, seek=50)
    st(sb, "node1", "snapshot", vol, "s3")
    copy(sb, vol, "--snapshot", "s3", "--base", "s2", "--compress", *extra)
    assert sha(sb, "node2", vol) == sha(sb, "node1", vol)
    nothing_half_made(sb, vmid)
    for node in ("node1", "node2"):
        st(sb, node, "free", vol)


def test_copy_without_snapshot_and_across_types(sb):
    """No --snapshot: a temporary __migration__ snapshot, gone on both nodes after;
    btrfs -> dir goes as raw+size."""
    vol = big_volume(sb, 250, 8)
    out = copy(sb, vol).stdout
    assert "(btrfs)" in out
    assert snapshots(sb, "node2", vol) == []
    assert [s["name"] for s in snapshots(sb, "node1", vol)] == ["s1"]
    assert sha(sb, "node2", vol) == sha(sb, "node1", vol)
    out = copy(sb, vol, "--target-storage", "local").stdout
    assert "as local:250/vm-250-disk-0.raw: 8.0 MiB (raw+size)" in out
    assert sha(sb, "node2", "local:250/vm-250-disk-0.raw") == sha(sb, "node1", vol)
    # onto a volume that exists: refused, unless a free name is taken
    assert "exists on local (give --allow-rename" in \
        fails(sb, "node1", "copy", vol, "node2", "--target-storage", "local")
    out = copy(sb, vol, "--target-storage", "local", "--allow-rename").stdout
    assert "as local:250/vm-250-disk-1.raw" in out
    # an increment cannot go to a dir storage
    assert "no stream format both sides know for an incremental copy" in \
        fails(sb, "node1", "copy", vol, "node2", "--target-storage", "local", "--snapshot", "s1",
              "--base", "s1")
    for s in snapshots(sb, "node1", vol):
        assert s["name"] != "__migration__"
    nothing_half_made(sb, 250)
    st(sb, "node1", "free", vol)
    st(sb, "node2", "free", vol)
    for volid in volumes(sb, "node2", "local", 250):
        st(sb, "node2", "free", volid)


def test_copy_compressed(sb):
    vol = st(sb, "node1", "alloc", "local-btrfs", "260", "-", "32M").stdout.split("'")[1]
    # compressible: text
    sh(sb, "node1", f'yes "drover storage copy compresses this line" | head -c 30000000 | '
                    f'dd of="{path(sb, "node1", vol)}" conv=notrunc status=none')
    st(sb, "node1", "snapshot", vol, "s1")
    out = copy(sb, vol, "--snapshot", "s1", "--compress").stdout
    wire = float(re.search(r"; ([0-9.]+) (KiB|MiB) on the wire", out).group(1))
    unit = re.search(r"; [0-9.]+ (KiB|MiB) on the wire", out).group(1)
    assert unit == "KiB" or wire < 5, out
    assert sha(sb, "node2", vol) == sha(sb, "node1", vol)
    st(sb, "node1", "free", vol)
    st(sb, "node2", "free", vol)


def test_rate_limit(sb):
    rate = 8 << 20
    vol = big_volume(sb, 270, 32)
    out = copy(sb, vol, "--snapshot", "s1", "--rate", "8M").stdout
    secs = copy_stats(out)
    sent = 32 << 20
    # the first tenth of a second's worth goes at once (the bucket starts full)
    expected = (sent - rate / 10) / rate
    # never faster than the rate; slower only by the copy's fixed costs (ssh,
    # snapshot, sync), which grow on a loaded machine
    assert 0.95 * expected <= secs <= 1.2 * expected + 1.5, \
        f"{secs} s for {expected:.2f} s: {out}"
    assert sha(sb, "node2", vol) == sha(sb, "node1", vol)
    st(sb, "node1", "free", vol)
    st(sb, "node2", "free", vol)


# -- copies that go wrong --------------------------------------------------------

def test_sender_killed(sb):
    vol = big_volume(sb, 280, 96)
    proc = start_copy(sb, vol, "--snapshot", "s1", "--rate", "16M")
    send = wait_for("btrfs send under the copy",
                    lambda: next((p for p in children(proc.pid)
                                  if argv_of(p)[:2] == ["btrfs", "send"]), None),
                    timeout=60, interval=0.05)
    time.sleep(1.5)  # some of the stream is on node2 by now
    os.kill(send, signal.SIGKILL)
    out, err = proc.communicate(timeout=120)
    assert proc.returncode != 0, out
    assert "export on node1: " in err and "btrfs send" in err and "killed by signal 9" in err, err
    assert vol not in volumes(sb, "node2", "local-btrfs", 280)
    assert entries(sb, "node2", f"{BTRFS}/images/280") == []
    assert [s["name"] for s in snapshots(sb, "node1", vol)] == ["s1"]
    nothing_half_made(sb, 280)
    st(sb, "node1", "free", vol)


@pytest.mark.parametrize("victim", ["btrfs receive", "drover import"])
def test_receiver_killed(sb, victim):
    vmid = 290 if victim == "btrfs receive" else 291
    vol = big_volume(sb, vmid, 96)
    proc = start_copy(sb, vol, "--snapshot", "s1", "--rate", "16M")
    if victim == "btrfs receive":
        pid = find_in_node(sb, "node2", victim, lambda a: a[:2] == ["btrfs", "receive"])
    else:
        pid = find_in_node(sb, "node2", victim,
                           lambda a: a[:1] and a[0].endswith("drover") and
                           a[1:3] == ["storage", "import"])
    time.sleep(1.5)
    os.kill(pid, signal.SIGKILL)
    out, err = proc.communicate(timeout=120)
    assert proc.returncode != 0, out
    assert "import on node2: " in err or "ssh to node2" in err, err
    if victim == "btrfs receive":
        assert "btrfs receive was killed by signal 9" in err, err
    # nothing on node2: not the volume, not a half-received subvolume
    wait_for("node2 clean", lambda: entries(sb, "node2", f"{BTRFS}/images/{vmid}") == [],
             timeout=30)
    assert [s["name"] for s in snapshots(sb, "node1", vol)] == ["s1"]
    nothing_half_made(sb, vmid)
    st(sb, "node1", "free", vol)


def test_copy_cancelled(sb):
    """SIGTERM to the copy: it stops, and neither node keeps anything of it
    (not the temporary snapshot on node1, not the half volume on node2)."""
    vol = big_volume(sb, 320, 96)
    st(sb, "node1", "delsnapshot", vol, "s1")
    proc = start_copy(sb, vol, "--rate", "16M")
    find_in_node(sb, "node2", "btrfs receive", lambda a: a[:2] == ["btrfs", "receive"])
    time.sleep(1.5)
    proc.send_signal(signal.SIGTERM)
    out, err = proc.communicate(timeout=120)
    assert proc.returncode == 1, out
    assert "copy to node2 cancelled: nothing was kept there" in err, err
    assert snapshots(sb, "node1", vol) == []
    wait_for("node2 clean", lambda: entries(sb, "node2", f"{BTRFS}/images/320") == [], timeout=30)
    nothing_half_made(sb, 320)
    st(sb, "node1", "free", vol)



def test_second_import_refused_while_receiving(sb):
    """A volume being received holds its receive lock: a second import into it
    (here by hand; in real life a recover, or a stray run) is refused with the
    importer's pid, and the copy itself goes on undisturbed."""
    vol = big_volume(sb, 330, 96)
    lock = "/run/drover/receive/" + vol.replace("/", "%2F").replace(":", "%3A") + ".lock"
    proc = start_copy(sb, vol, "--snapshot", "s1", "--rate", "16M")
    try:
        find_in_node(sb, "node2", "btrfs receive", lambda a: a[:2] == ["btrfs", "receive"])
        holder = sb.exec("node2", "cat", lock).stdout.strip()
        assert holder.isdigit(), holder
        err = fails(sb, "node2", "import", vol, "btrfs", "/dev/null")
        assert f"an import into {vol} is still running (pid {holder})" in err, err
    finally:
        out, err = proc.communicate(timeout=120)
    assert proc.returncode == 0, err
    assert vol in volumes(sb, "node2", "local-btrfs", 330)
    assert sb.exec("node2", "cat", lock).stdout == ""
    nothing_half_made(sb, 330)
    st(sb, "node2", "free", vol)
    st(sb, "node1", "free", vol)

def test_target_file_system_full(sb):
    img = f"{sb.state_dir}/node2/tiny.img"
    tiny = "/var/lib/drover/tiny"
    subprocess.run(["truncate", "-s", "200M", img], check=True)
    subprocess.run(["mkfs.btrfs", "-q", "-f", img], check=True, capture_output=True)
    sh(sb, "node2", f"mkdir -p {tiny} && mount -o loop {img} {tiny}")
    try:
        st(sb, "node1", "add", "btrfs", "tiny", "--path", tiny, "--nodes", "node2")
        used = json.loads(st(sb, "node2", "status", "--output-format", "json").stdout)
        before = [s for s in used if s["storage"] == "tiny"][0]["used"]
        vol = big_volume(sb, 300, 256)
        err = fails(sb, "node1", "copy", vol, "node2", "--snapshot", "s1",
                    "--target-storage", "tiny", timeout=300)
        assert "import on node2: " in err and "No space left on device" in err, err
        assert entries(sb, "node2", f"{tiny}/images/300") == []
        st(sb, "node1", "free", vol)
        sh(sb, "node2", f"btrfs filesystem sync {tiny}")
        # what the receive wrote is given back
        after = wait_for("space back on tiny", lambda: (lambda s: s if s <= before + (8 << 20)
                                                       else None)(
            [s for s in json.loads(st(sb, "node2", "status", "--output-format", "json").stdout)
             if s["storage"] == "tiny"][0]["used"]), timeout=60)
        assert after <= before + (8 << 20)
    finally:
        st(sb, "node1", "remove", "tiny", check=False)
        sh(sb, "node2", f"umount {tiny}; rmdir {tiny}", check=False)
        os.unlink(img)


def test_wrong_base(sb):
    vol = big_volume(sb, 310, 4)
    copy(sb, vol, "--snapshot", "s1")
    fill(sb, "node1", vol, 1)
    st(sb, "node1", "snapshot", vol, "s2")
    # a base node2 has not
    err = fails(sb, "node1", "copy", vol, "node2", "--snapshot", "s2", "--base", "s0")
    assert "base snapshot 's0' of" in err and "does not exist" in err, err
    st(sb, "node1", "snapshot", vol, "s0")
    err = fails(sb, "node1", "copy", vol, "node2", "--snapshot", "s2", "--base", "s0")
    assert "wrong base:" in err and "has no snapshot 's0'" in err, err
    # a base of the same name on node2 that is another snapshot
    st(sb, "node2", "delsnapshot", vol, "s1")
    st(sb, "node2", "snapshot", vol, "s1")
    err = fails(sb, "node1", "copy", vol, "node2", "--snapshot", "s2", "--base", "s1")
    assert "wrong base: snapshot 's1' on node2 is not the one on node1" in err, err
    # and even when asked to skip that check, the receiver refuses the stream itself
    t = tmp(sb)
    st(sb, "node1", "export", vol, "btrfs", f"{t}/inc.btrfs", "--snapshot", "s2", "--base", "s1")
    assert "wrong base: the stream continues from the snapshot with UUID" in \
        fails(sb, "node2", "import", vol, "btrfs", f"{t}/inc.btrfs", "--base", "s1")
    assert [s["name"] for s in snapshots(sb, "node2", vol)] == ["s1"]
    nothing_half_made(sb, 310)
    st(sb, "node1", "free", vol)
    st(sb, "node2", "free", vol)
