"""The rbd storage type on a real Ceph cluster (`drover sandbox up --ceph`).

Every operation of `drover storage` on the sandbox's rbd storage "ceph" (pool
rbd), run inside the sandbox's nodes. node2's view of a copy is a second rbd
storage "replica" (pool replica of the same Ceph cluster), added with
`drover storage add rbd ... --keyring`: volumes are copied node1 -> node2
with `drover storage copy`, full and then incrementally after 10 MiB of
changes, checksums equal; the streams of `drover storage export`/`import`
interoperate with the real `rbd export-diff`/`rbd import-diff`; and hostile
streams, killed senders and killed receivers fail cleanly, leaving no
half-made volume and the target at its base.

Test data goes in through `rbd import-diff` of diffs this file writes itself
(an independent writer of the format), and checksums come from `rbd export`:
drover is checked by Ceph's own tools on both sides.
"""
import hashlib
import json
import os
import random
import re
import shutil
import struct
import subprocess
import time

import pytest

from conftest import _sandbox_ready, sandbox_name
from polling import wait_for
from sandbox import DROVER, Sandbox

KEYRING = "/etc/drover/priv/ceph/ceph.keyring"
MON = "10.99.0.253"
TRAILER = b"drover rbd-diff ids v1\n"
KiB, MiB = 1 << 10, 1 << 20
SIZE = 64 * MiB


# -- the sandbox ------------------------------------------------------------------

@pytest.fixture(scope="module")
def sb():
    """Two nodes and the Ceph host; storage "replica" (pool replica) for node2's view."""
    if not _sandbox_ready() or not all(shutil.which(p) for p in ("ceph-mon", "ceph-osd", "ceph-mgr")):
        pytest.skip("needs root, corosync and Debian's ceph-mon, ceph-osd and ceph-mgr")
    s = Sandbox(sandbox_name(), nodes=2, ceph=True)
    try:
        t0 = time.monotonic()
        s.up(timeout=240)
        s.up_seconds = time.monotonic() - t0
        on_ceph_host(s, "ceph", "osd", "pool", "create", "replica", "8", "8")
        on_ceph_host(s, "rbd", "pool", "init", "replica")
        add_rbd(s, "replica", "--pool", "replica")
        yield s
    finally:
        s.down(check=False)


def run(sb, node, *argv, input=None, check=True, timeout=120):
    """argv inside node, bytes in and out."""
    return sb.exec_bytes(node, *argv, input=input, check=check, timeout=timeout)


def on_ceph_host(sb, *argv):
    return run(sb, Sandbox.CEPH, *argv).stdout.decode()


def add_rbd(sb, storeid, *opts, keyring=KEYRING, check=True):
    """`drover storage add rbd STOREID` on node1 (the cluster's storage.cfg)."""
    extra = ["--keyring", keyring] if keyring else []
    return run(sb, "node1", DROVER, "storage", "add", "rbd", storeid, "--monhost", MON,
               "--content", "images", *extra, *opts, check=check)


def storage_cfg_section(sb, node, header="rbd: ceph"):
    """The keys of one storage.cfg section as node reads it."""
    text = sb.read_file(node, "/etc/drover/storage.cfg")
    lines = text.splitlines()
    start = lines.index(header)
    props = {}
    for line in lines[start + 1:]:
        if not line.strip():
            break
        key, _, value = line.strip().partition(" ")
        props[key] = value
    return props


class Store:
    """The rbd storage storeid as `node` sees it, through `drover storage`."""

    def __init__(self, sb, node, storeid="ceph"):
        props = storage_cfg_section(sb, node, f"rbd: {storeid}")
        self.sb, self.node, self.id = sb, node, storeid
        self.pool, self.mon = props["pool"], props["monhost"]
        self.user = props.get("username", "admin")

    def vid(self, vol):
        return f"{self.id}:{vol}"

    # drover storage
    def argv(self, *args):
        return [DROVER, "sandbox", "exec", "--name", self.sb.name, self.node, "--",
                DROVER, "storage", *map(str, args)]

    def tool(self, *args, input=None, check=True, timeout=120):
        proc = run(self.sb, self.node, DROVER, "storage", *args, input=input, check=False,
                   timeout=timeout)
        if check and proc.returncode != 0:
            raise AssertionError(f"drover storage {' '.join(map(str, args))} on {self.node}: "
                                 f"{proc.stderr.decode(errors='replace')}")
        return proc

    def out(self, *args, input=None):
        return self.tool(*args, input=input).stdout.decode()

    def json(self, *args):
        return json.loads(self.out(*args, "--output-format", "json"))

    def fails(self, *args, input=None):
        """drover storage refuses (exit 1, an error on stderr); what it printed there."""
        proc = self.tool(*args, input=input, check=False)
        err = proc.stderr.decode(errors="replace")
        # the error is the last line; log lines of what was done may come before it
        assert proc.returncode == 1 and err.splitlines()[-1:] and \
            err.splitlines()[-1].startswith("drover: "), \
            f"drover storage {' '.join(map(str, args))}: expected a failure, got " \
            f"{proc.returncode}: {proc.stdout.decode(errors='replace')}{err}"
        return err

    def alloc(self, vmid, name, size):
        out = self.out("alloc", self.id, vmid, name, size)
        m = re.fullmatch(rf"successfully created '{self.id}:(\S+)'\n", out)
        assert m, out
        return m.group(1)

    def list(self, vmid=None):
        extra = ["--vmid", vmid] if vmid else []
        return self.json("list", self.id, *extra)

    def volnames(self, vmid=None):
        return [v["volid"].split(":", 1)[1] for v in self.list(vmid)]

    def info(self, vol):
        (v,) = [v for v in self.list() if v["volid"] == self.vid(vol)]
        return v

    def snapshots(self, vol):
        return self.json("snapshots", self.vid(vol))

    def snap(self, op, vol, name):
        return self.tool(op, self.vid(vol), name)

    # Ceph's own tools, as a client of the same cluster
    def rbd(self, *args, input=None, check=True):
        return run(self.sb, self.node, "rbd", "-c", "/dev/null", "-m", self.mon, "--id", self.user,
                   "--keyring", KEYRING, *args, input=input, check=check)

    def images(self):
        return self.rbd("ls", self.pool).stdout.decode().split()

    def sha(self, image):
        """sha256 of the image (or IMAGE@SNAP) as `rbd export` reads it."""
        out = run(self.sb, self.node, "sh", "-c",
                  f'rbd -c /dev/null -m {self.mon} --id {self.user} --keyring {KEYRING} '
                  f'--no-progress export "$1" - | sha256sum', "sh", f"{self.pool}/{image}").stdout
        return out.decode().split()[0]

    def write(self, image, disk, writes):
        """Write {offset: data} into image through `rbd import-diff` and into disk (a bytearray)."""
        self.rbd("import-diff", "--no-progress", "-", f"{self.pool}/{image}",
                 input=diff_v1(len(disk), sorted(writes.items())))
        for off, data in sorted(writes.items()):
            disk[off:off + len(data)] = data


def diff_v1(size, writes, to_snap=None, from_snap=None):
    """An "rbd diff v1" stream, written from Ceph's description of it."""
    out = bytearray(b"rbd diff v1\n")
    for tag, name in ((b"f", from_snap), (b"t", to_snap)):
        if name:
            out += tag + struct.pack("<I", len(name)) + name.encode()
    out += b"s" + struct.pack("<Q", size)
    for off, data in writes:
        out += b"w" + struct.pack("<QQ", off, len(data)) + data
    return bytes(out + b"e")


def sha(data):
    return hashlib.sha256(data).hexdigest()


def scattered(rng, count, size, disk=SIZE):
    """count writes of size bytes at distinct size-aligned offsets (none overlap)."""
    offsets = rng.sample(range(0, disk // size), count)
    return {o * size: rng.randbytes(size) for o in offsets}


def transfer(sender, receiver, cut_after=None, kill=None, timeout=120):
    """sender's stdout into receiver's stdin through this process, counting the
    bytes. cut_after: stop after that many bytes and then kill the sender
    (kill="sender": the receiver sees the stream end early) or SIGKILL the
    receiver (kill="receiver"). Returns (sender, receiver, bytes) with the
    processes' returncode, stdout and stderr filled in."""
    tx = subprocess.Popen(sender, stdout=subprocess.PIPE, stderr=subprocess.PIPE)
    rx = subprocess.Popen(receiver, stdin=subprocess.PIPE, stdout=subprocess.PIPE,
                          stderr=subprocess.PIPE)
    moved = 0
    deadline = time.monotonic() + timeout
    try:
        while time.monotonic() < deadline:
            chunk = tx.stdout.read1(64 * KiB)
            if not chunk:
                break
            if cut_after is not None and moved + len(chunk) >= cut_after:
                rx.stdin.write(chunk[:cut_after - moved])
                moved = cut_after
                (tx if kill == "sender" else rx).kill()
                break
            rx.stdin.write(chunk)
            moved += len(chunk)
    except BrokenPipeError:
        pass
    # the receiver's end is gone: the sender's next write finds no reader
    for f in (rx.stdin, tx.stdout):
        try:
            f.close()
        except BrokenPipeError:
            pass
    for p in (tx, rx):
        p.wait(timeout=timeout)
        p.out = p.stdout.read().decode(errors="replace") if p.stdout and not p.stdout.closed \
            else ""
        p.err = p.stderr.read().decode(errors="replace")
    return tx, rx, moved


@pytest.fixture(scope="module")
def src(sb):
    return Store(sb, "node1")


@pytest.fixture(scope="module")
def dst(sb):
    return Store(sb, "node2", "replica")


# -- the sandbox's Ceph ----------------------------------------------------------

def test_sandbox_ceph_host(sb):
    print(f"sandbox up --ceph with 2 nodes: {sb.up_seconds:.1f} s")
    status = sb.status()
    for daemon in ("ceph-mon", "ceph-osd", "ceph-mgr"):
        assert sb.pid("ceph", daemon), f"{daemon} not running:\n{status}"
    assert on_ceph_host(sb, "ceph", "health").startswith("HEALTH_OK")
    # the storage `drover storage add` made, replicated by droverfs: the same
    # section and keyring on both nodes
    for node in sb.node_names:
        props = storage_cfg_section(sb, node)
        assert props == {"content": "images", "krbd": "0", "monhost": MON,
                         "pool": "rbd", "username": "admin"}
        assert sb.read_file(node, KEYRING).startswith("[client.admin]\n\tkey = ")
        assert sb.read_file(node, "/etc/drover/priv/ceph/replica.keyring") == \
            sb.read_file(node, KEYRING)
    # a node has its own empty /etc/ceph: it knows the cluster from storage.cfg only
    assert run(sb, "node1", "ls", "-A", "/etc/ceph").stdout == b""


def test_status(src):
    (st,) = [s for s in src.json("status") if s["storage"] == "ceph"]
    assert st["type"] == "rbd" and st["status"] == "active" and st["active"] is True
    assert st["avail"] > 1 << 30 and st["total"] == st["used"] + st["avail"]
    assert "ceph" in src.out("status")


def test_bad_properties(sb, src):
    """Storages that cannot work: add refuses what it can tell, use says why."""
    def bad(storeid, *opts, keyring=KEYRING):
        add_rbd(sb, storeid, *opts, keyring=keyring)
        try:
            return Store(sb, "node1", storeid).fails("list", storeid)
        finally:
            run(sb, "node1", DROVER, "storage", "remove", storeid)

    assert "pool 'nosuchpool' does not exist" in bad("nopool", "--pool", "nosuchpool")
    # the monitor's refusal comes as one errno or another, depending on timing
    assert "no keyring could be read" in bad("nokey", "--pool", "rbd", keyring=None)
    err = bad("nobody", "--pool", "rbd", "--username", "nobody")
    assert "as client.nobody" in err and "not this user's" in err

    # refused by add: nothing written, no keyring left behind
    before = sb.read_file("node1", "/etc/drover/storage.cfg")
    for opts, keyring, reason in (
            (("--pool", "a/b"), KEYRING, "a Ceph pool name has no '/'"),
            (("--pool", "rbd", "--krbd", "1"), KEYRING, "only 0"),
            (("--pool", "rbd"), "/nonexistent", "--keyring: reading /nonexistent"),
            (("--pool", "rbd", "--nosuchkey", "1"), KEYRING, "nosuchkey")):
        proc = add_rbd(sb, "refused", *opts, keyring=keyring, check=False)
        assert proc.returncode != 0 and reason in proc.stderr.decode(), proc.stderr
        assert not run(sb, "node1", "test", "-e", "/etc/drover/priv/ceph/refused.keyring",
                       check=False).returncode == 0
    proc = run(sb, "node1", DROVER, "storage", "add", "dir", "refused", "--path", "/tmp/x",
               "--keyring", KEYRING, check=False)
    assert proc.returncode != 0 and b"only an rbd storage has a keyring" in proc.stderr
    assert sb.read_file("node1", "/etc/drover/storage.cfg") == before


# -- volumes -------------------------------------------------------------------------

def test_volumes(src):
    assert src.alloc(110, "-", "4M") == "vm-110-disk-0"
    assert src.alloc(110, "-", "4M") == "vm-110-disk-1"
    assert "exists already" in src.fails("alloc", "ceph", 110, "vm-110-disk-0", "4M")
    assert src.alloc(111, "vm-111-disk-7", "1M") == "vm-111-disk-7"
    assert "vm-111-disk-8" in src.fails("alloc", "ceph", 112, "vm-111-disk-8", "1M")
    # an image that is no volume of drover's is not listed
    src.rbd("create", "--size", "1M", f"{src.pool}/not-a-volume")

    vols = {v["volid"]: v for v in src.list(110)}
    assert vols == {f"ceph:vm-110-disk-{k}": {"volid": f"ceph:vm-110-disk-{k}", "vmid": 110,
                                              "size": 4 * MiB, "format": "raw",
                                              "content": "images",
                                              "used": vols[f"ceph:vm-110-disk-{k}"]["used"]}
                    for k in (0, 1)}
    everything = set(src.volnames())
    assert {"vm-110-disk-0", "vm-110-disk-1", "vm-111-disk-7"} <= everything
    assert "not-a-volume" not in everything
    assert src.info("vm-111-disk-7")["size"] == MiB

    # what QEMU opens (block/rbd.c's file name syntax)
    assert src.out("path", "ceph:vm-110-disk-0").strip() == (
        f"rbd:rbd/vm-110-disk-0:mon_host={MON}:auth_client_required=cephx:"
        f"id=admin:keyring={KEYRING}")
    assert src.out("path", "ceph:vm-110-disk-0", "--snapshot", "s1").strip().startswith(
        "rbd:rbd/vm-110-disk-0@s1:")

    src.tool("resize", "ceph:vm-110-disk-0", "8M")
    assert src.info("vm-110-disk-0")["size"] == 8 * MiB
    if shutil.which("qemu-img"):
        # QEMU's rbd driver opens that path (qemu-block-extra)
        info = json.loads(run(src.sb, src.node, "qemu-img", "info", "--output", "json", "-f",
                              "raw", src.out("path", "ceph:vm-110-disk-0").strip()).stdout)
        assert info["virtual-size"] == 8 * MiB
    assert "shrink" in src.fails("resize", "ceph:vm-110-disk-0", "4M")

    src.tool("free", "ceph:vm-110-disk-1")
    assert "vm-110-disk-1" in src.fails("free", "ceph:vm-110-disk-1")
    assert src.volnames(110) == ["vm-110-disk-0"]
    assert "vm-110-disk-1" not in src.images()


# -- snapshots -------------------------------------------------------------------------

def test_snapshots(src, tmp_path):
    rng = random.Random(120)
    disk = bytearray(8 * MiB)
    vol = src.alloc(120, "vm-120-disk-0", "8M")
    t0 = time.time()
    src.write(vol, disk, scattered(rng, 64, 4 * KiB, disk=len(disk)))
    at_s1 = bytes(disk)
    src.snap("snapshot", vol, "s1")
    src.write(vol, disk, scattered(rng, 64, 4 * KiB, disk=len(disk)))
    src.snap("snapshot", vol, "s2")
    src.write(vol, disk, {0: rng.randbytes(MiB)})

    snaps = src.snapshots(vol)
    assert [s["name"] for s in snaps] == ["s1", "s2"]
    for s in snaps:
        assert len(s["id"]) == 36 and s["id"].count("-") == 4 and s["origin"] == ""
        assert t0 - 5 <= s["ctime"] <= time.time() + 5
    assert snaps[0]["id"] != snaps[1]["id"]
    assert "s1" in src.out("snapshots", src.vid(vol))
    assert src.sha(f"{vol}@s1") == sha(at_s1)
    if shutil.which("qemu-img"):
        # what QEMU reads through a snapshot's path is the snapshot
        copy = tmp_path / "s1.raw"
        run(src.sb, src.node, "qemu-img", "convert", "-f", "raw", "-O", "raw",
            src.out("path", src.vid(vol), "--snapshot", "s1").strip(), copy)
        assert sha(copy.read_bytes()) == sha(at_s1)

    assert "exists already" in src.fails("snapshot", src.vid(vol), "s1")
    assert "'s2' is newer" in src.fails("rollback", src.vid(vol), "s1")
    src.snap("delsnapshot", vol, "s2")
    src.snap("rollback", vol, "s1")
    assert src.sha(vol) == sha(at_s1)
    assert "nope" in src.fails("delsnapshot", src.vid(vol), "nope")
    assert "nope" in src.fails("rollback", src.vid(vol), "nope")

    # a snapshot drover did not make has no id; a protected one is unprotected to go
    src.rbd("snap", "create", f"{src.pool}/{vol}@foreign")
    src.rbd("snap", "protect", f"{src.pool}/{vol}@foreign")
    assert src.snapshots(vol)[-1] == {
        "name": "foreign", "ctime": pytest.approx(time.time(), abs=30), "id": "", "origin": ""}
    src.snap("delsnapshot", vol, "foreign")
    assert [s["name"] for s in src.snapshots(vol)] == ["s1"]

    # free takes the snapshots along
    src.tool("free", src.vid(vol))
    assert vol not in src.images()


def test_in_use(src):
    """A volume a guest has open (here `rbd bench`) is neither rolled back nor removed."""
    vol = src.alloc(121, "vm-121-disk-0", "4M")
    src.snap("snapshot", vol, "s1")
    holder = subprocess.Popen(
        [DROVER, "sandbox", "exec", "--name", src.sb.name, src.node, "--", "rbd", "-c",
         "/dev/null", "-m", src.mon, "--id", src.user, "--keyring", KEYRING, "bench",
         "--io-type", "read", "--io-threads", "1", "--io-total", "1T",
         f"{src.pool}/{vol}"], stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    try:
        deadline = time.monotonic() + 30
        while b"watcher=" not in src.rbd("status", f"{src.pool}/{vol}").stdout:
            assert time.monotonic() < deadline, "rbd bench never opened the image"
            time.sleep(0.2)
        assert "in use" in src.fails("rollback", src.vid(vol), "s1")
        assert "in use" in src.fails("free", src.vid(vol))
    finally:
        holder.kill()
        holder.wait()


# -- copies between nodes ----------------------------------------------------------

def copy(src, dst, vol, *opts, export_opts=(), import_opts=(), fmt="rbd-diff", target=None):
    """export on node1 | import on node2, through this process (bytes counted)."""
    tx, rx, moved = transfer(src.argv("export", src.vid(vol), fmt, "-", *opts, *export_opts),
                             dst.argv("import", dst.vid(target or vol), fmt, "-", *opts,
                                      *import_opts))
    assert tx.returncode == 0, tx.err
    assert rx.returncode == 0, rx.err
    return rx.out, moved


def storage_copy(src, dst, vol, *opts):
    """`drover storage copy` node1 -> node2 onto dst's storage; the stream's bytes."""
    out = src.out("copy", src.vid(vol), dst.node, "--target-storage", dst.id, *opts)
    m = re.match(rf"copied {src.vid(vol)} to {dst.node} as {dst.vid(vol)}: "
                 rf"([0-9.]+) (B|KiB|MiB|GiB) \(rbd-diff\) in ", out)
    assert m, out
    return float(m.group(1)) * {"B": 1, "KiB": KiB, "MiB": MiB, "GiB": 1 << 30}[m.group(2)]


def test_copy_full_then_incremental(src, dst):
    """node1 -> node2 (storage replica) with storage copy: full at s1, then 10 MiB of
    changes at s2."""
    rng = random.Random(130)
    disk = bytearray(SIZE)
    vol = src.alloc(130, "vm-130-disk-0", "64M")
    src.write(vol, disk, {o: rng.randbytes(4 * MiB) for o in (0, 12 * MiB, 40 * MiB)})
    src.write(vol, disk, scattered(rng, 256, 4 * KiB))
    src.snap("snapshot", vol, "s1")
    at_s1 = bytes(disk)

    moved = storage_copy(src, dst, vol, "--snapshot", "s1", "--with-snapshots")
    assert dst.sha(f"{vol}@s1") == src.sha(f"{vol}@s1") == sha(at_s1)
    # the snapshot's identity travelled: the same id on both sides, received from it
    (s1,), (r1,) = src.snapshots(vol), dst.snapshots(vol)
    assert r1["name"] == "s1" and r1["id"] == s1["id"] and r1["origin"] == s1["id"]
    print(f"full copy: {moved:.0f} bytes for {12 * MiB + 256 * 4 * KiB} bytes of data")

    # 10 MiB of changes: one 8 MiB extent and 512 scattered 4 KiB blocks
    changes = scattered(rng, 512, 4 * KiB)
    changes = {o: d for o, d in changes.items() if not 20 * MiB <= o < 28 * MiB}
    changes[20 * MiB] = rng.randbytes(8 * MiB)
    src.write(vol, disk, changes)
    src.snap("snapshot", vol, "s2")

    moved = storage_copy(src, dst, vol, "--snapshot", "s2", "--base", "s1", "--with-snapshots",
                         "--delete-snapshot", "s1")
    assert dst.sha(f"{vol}@s2") == src.sha(f"{vol}@s2") == sha(disk)
    assert dst.sha(vol) == sha(disk)
    assert [s["name"] for s in dst.snapshots(vol)] == ["s2"]
    assert dst.snapshots(vol)[0]["id"] == src.snapshots(vol)[1]["id"]
    changed = sum(len(d) for d in changes.values())
    print(f"incremental copy: {moved:.0f} bytes for {changed} bytes changed")
    assert changed * 0.99 <= moved < SIZE // 2  # what changed, not the volume

    # a base node2 does not hold: refused before anything moves
    src.snap("snapshot", vol, "s3")
    err = src.fails("copy", src.vid(vol), "node2", "--target-storage", "replica",
                    "--snapshot", "s3", "--base", "s1")
    assert "s1" in err
    assert [s["name"] for s in dst.snapshots(vol)] == ["s2"]

    # raw+size: one state, no snapshots; not incremental
    assert "raw+size" in src.fails("export", src.vid(vol), "raw+size", "-", "--snapshot", "s2",
                                   "--base", "s1")
    out, moved = copy(src, dst, vol, export_opts=("--snapshot", "s2"), fmt="raw+size",
                      target="vm-131-disk-0")
    assert out == "successfully imported 'replica:vm-131-disk-0'\n"
    assert moved == 8 + SIZE
    assert dst.sha("vm-131-disk-0") == sha(disk)
    assert dst.snapshots("vm-131-disk-0") == []


def test_interop_with_rbd_tools(src, dst, tmp_path):
    """drover's streams are `rbd export-diff`'s (plus the trailer) and go into
    `rbd import-diff`; `rbd export-diff`'s streams go into drover's import."""
    rng = random.Random(140)
    disk = bytearray(SIZE)
    vol = src.alloc(140, "vm-140-disk-0", "64M")
    src.write(vol, disk, scattered(rng, 128, 64 * KiB))
    src.snap("snapshot", vol, "s1")
    at_s1 = bytes(disk)
    src.write(vol, disk, scattered(rng, 300, 4 * KiB))
    src.snap("snapshot", vol, "s2")
    assert src.sha(f"{vol}@s1") == sha(at_s1) and src.sha(f"{vol}@s2") == sha(disk)
    ids = {s["name"]: s["id"] for s in src.snapshots(vol)}

    ours1, ours2 = tmp_path / "drover-s1.diff", tmp_path / "drover-s2.diff"
    theirs1, theirs2 = tmp_path / "rbd-s1.diff", tmp_path / "rbd-s2.diff"
    src.tool("export", src.vid(vol), "rbd-diff", ours1, "--snapshot", "s1")
    src.tool("export", src.vid(vol), "rbd-diff", ours2, "--snapshot", "s2", "--base", "s1")
    src.rbd("export-diff", "--no-progress", f"{src.pool}/{vol}@s1", theirs1)
    src.rbd("export-diff", "--no-progress", "--from-snap", "s1", f"{src.pool}/{vol}@s2", theirs2)
    for ours, theirs, trailer in ((ours1, theirs1, b"i"), (ours2, theirs2, b"i")):
        a, b = ours.read_bytes(), theirs.read_bytes()
        assert a[:len(b)] == b, "drover's diff differs from rbd export-diff's"
        assert a[len(b):].startswith(TRAILER + trailer)
    assert ours1.read_bytes()[len(theirs1.read_bytes()):] == (
        TRAILER + b"i" + struct.pack("<I", 36) + ids["s1"].encode() + b"e")

    # rbd import-diff applies drover's streams (and never reads the trailer)
    dst.rbd("create", "--size", "64M", f"{dst.pool}/{vol}")
    dst.rbd("import-diff", "--no-progress", ours1, f"{dst.pool}/{vol}")
    dst.rbd("import-diff", "--no-progress", ours2, f"{dst.pool}/{vol}")
    assert dst.sha(f"{vol}@s1") == sha(at_s1)
    assert dst.sha(f"{vol}@s2") == sha(disk)

    # drover imports rbd export-diff's streams: no trailer, so no ids to take over
    other = "vm-141-disk-0"
    dst.tool("import", dst.vid(other), "rbd-diff", theirs1)
    dst.tool("import", dst.vid(other), "rbd-diff", theirs2, "--base", "s1")
    assert dst.sha(f"{other}@s1") == sha(at_s1)
    assert dst.sha(f"{other}@s2") == sha(disk)
    snaps = dst.snapshots(other)
    assert [s["origin"] for s in snaps] == ["", ""]
    assert all(len(s["id"]) == 36 and s["id"] not in ids.values() for s in snaps)


# -- hostile streams and broken transfers -------------------------------------------

def no_trace(store, vol):
    """Neither the volume nor an import's leftover of it exists."""
    images = store.images()
    assert vol not in images and f"drover-import.{vol}" not in images, images


@pytest.fixture(scope="module")
def streams(src, tmp_path_factory):
    """A source volume with s1 and s2, and its streams: full to s1, s1 -> s2."""
    rng = random.Random(150)
    disk = bytearray(8 * MiB)
    vol = "vm-150-disk-0"
    src.alloc(150, vol, "8M")
    src.write(vol, disk, scattered(rng, 200, 4 * KiB, disk=len(disk)))
    src.snap("snapshot", vol, "s1")
    at_s1 = bytes(disk)
    src.write(vol, disk, scattered(rng, 200, 4 * KiB, disk=len(disk)))
    src.snap("snapshot", vol, "s2")
    d = tmp_path_factory.mktemp("streams")
    full, incr = d / "full", d / "incr"
    src.tool("export", src.vid(vol), "rbd-diff", full, "--snapshot", "s1")
    src.tool("export", src.vid(vol), "rbd-diff", incr, "--snapshot", "s2", "--base", "s1")
    return {"dir": d, "full": full.read_bytes(), "incr": incr.read_bytes(),
            "s1": sha(at_s1), "s2": sha(disk), "vol": vol}


def feed(store, streams, name, data, vol, *opts, ok=False):
    """`drover storage import` of data into vol: its failure message (or, ok, its run)."""
    path = streams["dir"] / name
    path.write_bytes(data)
    argv = ("import", store.vid(vol), "rbd-diff", path, *opts)
    return store.tool(*argv) if ok else store.fails(*argv)


def hdr(size):
    return b"rbd diff v1\n" + b"s" + struct.pack("<Q", size)


def test_hostile_full_streams(dst, streams):
    """Every broken stream fails with the reason, and leaves no volume."""
    vol, full = "vm-151-disk-0", streams["full"]
    cases = {
        "empty": (b"", "the stream is empty"),
        "garbage": (os.urandom(4096), "not an rbd diff stream"),
        "v2": (b"rbd diff v2\n" + full[12:], "only 'rbd diff v1'"),
        "cut in the header": (full[:20], "the stream ends"),
        "cut in the data": (full[:len(full) // 2], "short of the data record's end"),
        "cut before the end": (full[:full.index(TRAILER) - 1], "before its end record"),
        "beyond the size": (hdr(8 * MiB) + b"w" + struct.pack("<QQ", 8 * MiB - 512, 1024)
                            + bytes(1024) + b"e", "ends beyond the image size"),
        "wrapping around": (hdr(8 * MiB) + b"z" + struct.pack("<QQ", 4096, 2 ** 64 - 1) + b"e",
                            "ends beyond the image size"),
        "overlapping": (hdr(8 * MiB) + b"w" + struct.pack("<QQ", 0, 8) + b"abcdefgh" + b"z"
                        + struct.pack("<QQ", 4, 8) + b"e", "overlaps"),
        "unknown tag": (hdr(8 * MiB) + b"p\x01e", "unknown record tag 0x70"),
        "huge name": (b"rbd diff v1\nt" + struct.pack("<I", 2 ** 31), "name of 2147483648 bytes"),
        "bad name": (b"rbd diff v1\nt" + struct.pack("<I", 5) + b"../.." + full[12:],
                     "name is not"),
        "huge image": (hdr(2 ** 60) + b"e", "is larger than"),
        "after the end": (full + b"x", "data after the trailer"),
        "after the end record": (hdr(4096) + b"eXYZ", "data after the end record"),
    }
    for name, (data, reason) in cases.items():
        err = feed(dst, streams, name.replace(" ", "-"), data, vol)
        assert reason in err, f"{name}: {err}"
        no_trace(dst, vol)
    # the stream itself was fine all along
    feed(dst, streams, "good", full, vol, ok=True)
    assert dst.sha(f"{vol}@s1") == streams["s1"]


def test_hostile_incremental_streams(src, dst, streams):
    """A broken incremental stream leaves the target at its base snapshot."""
    vol, incr = "vm-152-disk-0", streams["incr"]
    feed(dst, streams, "base", streams["full"], vol, ok=True)
    base_id = dst.snapshots(vol)[0]["id"]

    def at_base():
        snaps = dst.snapshots(vol)
        assert [(s["name"], s["id"]) for s in snaps] == [("s1", base_id)]
        assert dst.sha(vol) == dst.sha(f"{vol}@s1") == streams["s1"]

    assert "short of the data record" in feed(dst, streams, "incr-cut", incr[:len(incr) // 2], vol)
    at_base()
    assert "data after the trailer" in feed(dst, streams, "incr-tail", incr + b"\0", vol)
    at_base()
    # what the stream's start snapshot must be, and what it must not be
    assert "not at 's0'" in feed(dst, streams, "incr-s0", incr, vol, "--base", "s0")
    assert "full one" in feed(dst, streams, "full-as-incr", streams["full"], "vm-152-disk-0",
                              "--base", "s1")
    no_base = incr.replace(b"f\x02\x00\x00\x00s1", b"f\x02\x00\x00\x00s0")
    assert "no snapshot 's0'" in feed(dst, streams, "incr-nobase", no_base, vol)
    at_base()
    # a full stream onto an existing volume: refused, or under a free name
    assert "exists already" in feed(dst, streams, "full-again", streams["full"], vol)
    out = feed(dst, streams, "full-renamed", streams["full"], vol, "--allow-rename", ok=True)
    assert out.stdout == b"successfully imported 'replica:vm-152-disk-1'\n"

    # a snapshot of the base's name that is not the base (another id): refused, rolled back
    dst.snap("delsnapshot", vol, "s1")
    dst.snap("snapshot", vol, "s1")
    assert "is not the one the stream starts from" in feed(dst, streams, "incr-stale", incr, vol)
    assert [s["name"] for s in dst.snapshots(vol)] == ["s1"]
    assert dst.sha(vol) == streams["s1"]

    # a head written after the base goes back to it (a replica), then the diff applies
    vol2 = "vm-153-disk-0"
    feed(dst, streams, "base2", streams["full"], vol2, ok=True)
    dst.rbd("import-diff", "--no-progress", "-", f"{dst.pool}/{vol2}",
            input=diff_v1(8 * MiB, [(0, os.urandom(64 * KiB))]))
    proc = feed(dst, streams, "incr-onto-written", incr, vol2, ok=True)
    assert b"rolling vm-153-disk-0 back to 's1'" in proc.stderr
    assert dst.sha(f"{vol2}@s2") == dst.sha(vol2) == streams["s2"]
    # and the same stream once more: its end snapshot exists
    assert "'s2' exists already" in feed(dst, streams, "incr-twice", incr, vol2)


def test_killed_sender_and_receiver(src, dst, streams):
    """A sender killed mid-way: the receiver fails on the short stream. A receiver
    killed mid-way: no volume appears; the next import clears what it left."""
    vol = streams["vol"]
    tx, rx, _ = transfer(src.argv("export", src.vid(vol), "rbd-diff", "-", "--snapshot", "s1"),
                         dst.argv("import", dst.vid("vm-154-disk-0"), "rbd-diff", "-"),
                         cut_after=len(streams["full"]) // 3, kill="sender")
    assert tx.returncode != 0 and rx.returncode == 1
    assert "the stream ends" in rx.err
    no_trace(dst, "vm-154-disk-0")

    tx, rx, _ = transfer(src.argv("export", src.vid(vol), "rbd-diff", "-", "--snapshot", "s1"),
                         dst.argv("import", dst.vid("vm-154-disk-0"), "rbd-diff", "-"),
                         cut_after=len(streams["full"]) // 3, kill="receiver")
    assert rx.returncode != 0
    assert tx.returncode == 1 and "Broken pipe" in tx.err
    assert "vm-154-disk-0" not in dst.volnames(154)
    assert "drover-import.vm-154-disk-0" in dst.images()  # not a volume: not listed
    # the killed importer's watch on its leftover lasts 30 s: an import meanwhile says so
    retry = streams["dir"] / "full-for-retry"
    retry.write_bytes(streams["full"])
    err = dst.fails("import", dst.vid("vm-154-disk-0"), "rbd-diff", retry)
    assert "still open" in err

    # a leftover nobody holds goes with the next import into its name
    dst.rbd("create", "--size", "1M", f"{dst.pool}/drover-import.vm-155-disk-0")
    proc = dst.tool("import", dst.vid("vm-155-disk-0"), "rbd-diff", retry)
    assert b"removing drover-import.vm-155-disk-0, left by an import that did not finish" \
        in proc.stderr
    assert dst.sha("vm-155-disk-0@s1") == streams["s1"]
    assert "drover-import.vm-155-disk-0" not in dst.images()


# -- a VM on the shared storage, started on either node ------------------------------

VM = 160
QEMU_RUN = "/run/drover/qemu-server"
MAKE_GUEST = os.path.join(os.path.dirname(os.path.dirname(os.path.dirname(
    os.path.abspath(__file__)))), "scripts", "make-test-guest")


def vm(sb, node, *args, input=None, timeout=120):
    return run(sb, node, DROVER, "vm", *args, input=input, timeout=timeout).stdout.decode()


def console(sb, node, line, expect, timeout=90):
    """Type a line on VM's serial console until expect shows in what comes back."""
    return wait_for(f"'{expect}' on VM {VM}'s console on {node}", lambda: (
        lambda text: expect in text and text)(
            vm(sb, node, "terminal", VM, input=(line + "\n").encode(), timeout=30)),
        timeout=timeout, interval=1)


def booted(sb, node):
    wait_for(f"VM {VM} READY on {node}", lambda: b"READY" in run(
        sb, node, "cat", f"{QEMU_RUN}/{VM}.serial0.log", check=False).stdout,
        timeout=180, interval=1)


def test_vm_on_monhost_storage_starts_on_either_node(sb):
    """QEMU gets the monitors, user and keyring of "ceph" from drover, not from /etc/ceph.

    The nodes' /etc/ceph is empty: a VM whose disk is on "ceph" boots on node1
    and writes to its disk, and, stopped and its config moved, boots on node2
    and reads it back. The key is never on QEMU's command line."""
    guest_dir = subprocess.run([MAKE_GUEST, "--build", os.environ.get("DROVER_BUILD", "build")],
                               check=True, capture_output=True, text=True,
                               timeout=900).stdout.splitlines()[-1]
    with open(os.path.join(guest_dir, "guest.json")) as f:
        guest = json.load(f)
    for node in sb.node_names:
        assert run(sb, node, "ls", "-A", "/etc/ceph").stdout == b"", node
    key = sb.read_file("node1", KEYRING).split("key = ")[1].split()[0]
    append = "console=ttyS0 panic=-1 quiet drover.data=vda"
    t0 = time.monotonic()
    text = vm(sb, "node1", "create", VM, "--memory", "262080K", "--cores", "1", "--vga", "none",
              "--serial0", "socket", "--virtio0", "ceph:64M", "--args",
              f"-kernel {guest['kernel']} -initrd {guest['initrd']} -append '{append}'")
    assert f"allocated ceph:vm-{VM}-disk-0" in text, text
    conf = "/run/drover/ceph/ceph.conf"
    try:
        for node in ("node1", "node2"):
            if node == "node2":
                vm(sb, "node1", "stop", VM)
                run(sb, "node1", "mv", f"/etc/drover/nodes/node1/qemu-server/{VM}.conf",
                    f"/etc/drover/nodes/node2/qemu-server/{VM}.conf")
            cmd = vm(sb, node, "showcmd", VM, "--pretty")
            (drive,) = [a for a in cmd.split() if a.startswith("driver=rbd,")]
            assert drive.startswith(f"driver=rbd,pool=rbd,image=vm-{VM}-disk-0,conf={conf},"
                                    "user=admin,"), drive
            assert key not in cmd
            # the storage's own config: monitors, cephx and droverfs's keyring, root's only
            assert run(sb, node, "stat", "-c", "%a %U", conf).stdout.decode().split() == \
                ["600", "root"]
            assert sb.read_file(node, conf).endswith(
                f"[global]\nmon_host = {MON}\nauth_client_required = cephx\n"
                f"keyring = {KEYRING}\n")
            vm(sb, node, "start", VM)
            booted(sb, node)
            # QEMU has the image open (its watcher is on the cluster)
            assert "watcher=" in on_ceph_host(sb, "rbd", "status", f"rbd/vm-{VM}-disk-0")
            if node == "node1":
                console(sb, node, f"echo written-on-node1 > /data/f && sync && echo W$((1+1))",
                        "W2")
                print(f"VM {VM} on ceph booted and wrote on node1: {time.monotonic() - t0:.1f} s")
                t0 = time.monotonic()
            else:
                text = console(sb, node, "cat /data/f; echo END-$((2*5))", "END-10")
                assert "written-on-node1" in text, text
                print(f"VM {VM} booted on node2, read node1's data: "
                      f"{time.monotonic() - t0:.1f} s")
        vm(sb, "node2", "stop", VM)
    finally:
        for node in ("node1", "node2"):
            run(sb, node, "sh", "-c",
                f"[ -f {QEMU_RUN}/{VM}.pid ] && kill -9 $(cat {QEMU_RUN}/{VM}.pid)", check=False)


# -- last: down ------------------------------------------------------------------------

def test_down_leaves_nothing(sb):
    """The Ceph host's daemons, namespaces and data go with the sandbox."""
    pids = [sb.pid("ceph", d) for d in ("ceph-mon", "ceph-osd", "ceph-mgr")]
    assert all(pids)
    assert f"dsb-{sb.name}-ceph" in sb.netns()
    sb.down()
    assert sb.netns() == [] and sb.mounts() == []
    assert not os.path.exists(sb.state_dir)
    for pid in pids:
        assert not os.path.exists(f"/proc/{pid}/ns/net"), f"ceph daemon {pid} still there"
