"""Generated files (.members, .vmlist, .version, .debug, .clusterlog), IPC and the drover CLI."""
import errno
import json
import os
import subprocess

import pytest

from conftest import DROVER
from drover_ipc import GET_MEMBERS, GET_VERSION, GET_VMLIST, IpcError
from fsutil import fails_with, read_file, write_file
from polling import wait_until


def read_json(cfs, name):
    return json.loads(read_file(cfs.path(name)))


def make_guest(cfs, node, kind, vmid, content="memory: 512\n"):
    d = cfs.path(f"nodes/{node}/{kind}")
    os.makedirs(d, exist_ok=True)
    write_file(os.path.join(d, f"{vmid}.conf"), content)


# --- generated files -------------------------------------------------------

def test_members(cfs):
    """.members is JSON naming this node; IPC GET_MEMBERS says the same."""
    m = read_json(cfs, ".members")
    assert m["nodename"] == "node1"
    with cfs.client() as c:
        assert c.json(GET_MEMBERS)["nodename"] == "node1"


def test_vmlist_lists_guests(cfs):
    """.vmlist lists qemu and lxc guest configs with their node and type."""
    make_guest(cfs, "node1", "qemu-server", 100)
    make_guest(cfs, "node1", "lxc", 101)
    ids = read_json(cfs, ".vmlist")["ids"]
    assert set(ids) == {"100", "101"}
    assert ids["100"]["node"] == "node1" and ids["100"]["type"] == "qemu"
    assert ids["101"]["node"] == "node1" and ids["101"]["type"] == "lxc"
    with cfs.client() as c:
        assert set(c.json(GET_VMLIST)["ids"]) == {"100", "101"}


def test_vmlist_forgets_removed_guest(cfs):
    """Removing a guest config removes it from .vmlist."""
    make_guest(cfs, "node1", "qemu-server", 100)
    os.unlink(cfs.path("nodes/node1/qemu-server/100.conf"))
    assert read_json(cfs, ".vmlist")["ids"] == {}


def test_vmlist_via_local_symlink(cfs):
    """A guest written through the `qemu-server` symlink shows up on this node."""
    write_file(cfs.path("qemu-server/105.conf"), "cores: 2\n")
    assert read_file(cfs.path("nodes/node1/qemu-server/105.conf")) == "cores: 2\n"
    assert read_json(cfs, ".vmlist")["ids"]["105"]["node"] == "node1"


def test_version_counters_grow(cfs):
    """.version has starttime, and the storage.cfg and vmlist counters grow on change."""
    v0 = read_json(cfs, ".version")
    assert v0["starttime"] > 0
    write_file(cfs.path("storage.cfg"), "dir: local\n")
    v1 = read_json(cfs, ".version")
    assert v1["storage.cfg"] > v0["storage.cfg"]
    write_file(cfs.path("storage.cfg"), "dir: other\n")
    v2 = read_json(cfs, ".version")
    assert v2["storage.cfg"] > v1["storage.cfg"]
    assert v2["datacenter.cfg"] == v0["datacenter.cfg"]
    make_guest(cfs, "node1", "qemu-server", 100)
    assert read_json(cfs, ".version")["vmlist"] > v2["vmlist"]
    with cfs.client() as c:
        assert c.json(GET_VERSION)["storage.cfg"] == v2["storage.cfg"]


def test_debug_default(cfs):
    """.debug reads 0 by default."""
    assert read_file(cfs.path(".debug")) == "0\n"


def test_debug_on_off(cfs):
    """Writing 1 to .debug turns debug on (reads 1), writing 0 turns it off."""
    write_file(cfs.path(".debug"), "1\n")
    assert read_file(cfs.path(".debug")) == "1\n"
    write_file(cfs.path(".debug"), "0\n")
    assert read_file(cfs.path(".debug")) == "0\n"


@pytest.mark.parametrize("data", [b"x", b"2\n", b"11\n", b"1 1"])
def test_debug_bad_value(cfs, data):
    """Writing anything but 0 or 1 to .debug fails with EINVAL and changes nothing."""
    fd = os.open(cfs.path(".debug"), os.O_WRONLY)
    try:
        fails_with(errno.EINVAL, os.write, fd, data)
    finally:
        os.close(fd)
    assert read_file(cfs.path(".debug")) == "0\n"


def test_clusterlog_newest_first(cfs):
    """.clusterlog lists IPC LOG_APPEND entries, newest first, with their fields."""
    with cfs.client() as c:
        for i in range(3):
            c.log(f"message {i}", ident="alice@pam", tag="tagx", priority=5)
    data = read_json(cfs, ".clusterlog")["data"]
    assert [e["msg"] for e in data[:3]] == ["message 2", "message 1", "message 0"]
    assert data[0]["user"] == "alice@pam" and data[0]["tag"] == "tagx"
    assert data[0]["node"] == "node1" and data[0]["pri"] == 5
    assert data[0]["uid"] > data[1]["uid"]


def test_clusterlog_read_filter(cfs):
    """LOG_READ filters by ident and limits the count."""
    with cfs.client() as c:
        c.log("a1", ident="alice@pam")
        c.log("b1", ident="bob@pam")
        c.log("a2", ident="alice@pam")
        assert [e["msg"] for e in c.read_log(ident="alice@pam")["data"]] == ["a2", "a1"]
        assert [e["msg"] for e in c.read_log(max_entries=1)["data"]] == ["a2"]


def test_clusterlog_bad_priority(cfs):
    """LOG_APPEND with a priority above 7 or an empty message is EINVAL."""
    with cfs.client() as c:
        with pytest.raises(IpcError) as info:
            c.log("x", priority=8)
        assert info.value.errno == errno.EINVAL
        with pytest.raises(IpcError) as info:
            c.log("")
        assert info.value.errno == errno.EINVAL


# --- key/value store -------------------------------------------------------

def test_kv_roundtrip(cfs):
    """KV set then get returns the value, for this node by "" and by name."""
    with cfs.client() as c:
        c.kv_set("rrd/x", b"\x00\x01binary")
        assert c.kv_get("rrd/x") == b"\x00\x01binary"
        assert c.kv_get("rrd/x", node="node1") == b"\x00\x01binary"
        c.kv_set("rrd/x", "second")
        assert c.kv_get("rrd/x") == b"second"


def test_kv_delete(cfs):
    """KV set with an empty value deletes: get is ENOENT afterwards."""
    with cfs.client() as c:
        c.kv_set("k", "v")
        c.kv_set("k", "")
        with pytest.raises(IpcError) as info:
            c.kv_get("k")
        assert info.value.errno == errno.ENOENT


def test_kv_missing(cfs):
    """KV get of an unknown key or node is ENOENT."""
    with cfs.client() as c:
        c.kv_set("k", "v")
        for node, key in (("", "nope"), ("node2", "k")):
            with pytest.raises(IpcError) as info:
                c.kv_get(key, node=node)
            assert info.value.errno == errno.ENOENT


def test_kv_value_limit(cfs):
    """A value of 32 KiB is accepted, one byte more is EFBIG."""
    with cfs.client() as c:
        c.kv_set("big", b"v" * 32768)
        assert len(c.kv_get("big")) == 32768
        with pytest.raises(IpcError) as info:
            c.kv_set("big", b"v" * 32769)
        assert info.value.errno == errno.EFBIG
        assert len(c.kv_get("big")) == 32768


def test_kv_in_version(cfs):
    """.version lists KV keys with their versions."""
    with cfs.client() as c:
        c.kv_set("key1", "a")
        c.kv_set("key1", "b")
    assert read_json(cfs, ".version")["kvstore"]["node1"]["key1"] == 2


# --- READ_FILE -------------------------------------------------------------

def test_read_file(cfs):
    """READ_FILE returns a file's exact content, with or without a leading slash."""
    data = os.urandom(70000)
    write_file(cfs.path("nodes/node1/blob"), data, "wb")
    with cfs.client() as c:
        assert c.read_file("nodes/node1/blob") == data
        assert c.read_file("/nodes/node1/blob") == data


def test_read_file_empty(cfs):
    """READ_FILE of an empty file returns nothing."""
    write_file(cfs.path("empty"), "")
    with cfs.client() as c:
        assert c.read_file("empty") == b""


@pytest.mark.parametrize("path,err", [("nodes", errno.EISDIR), ("", errno.EISDIR),
                                      ("missing.cfg", errno.ENOENT),
                                      ("nodes/node1/missing", errno.ENOENT)])
def test_read_file_errors(cfs, path, err):
    """READ_FILE of a directory is EISDIR, of a missing file ENOENT."""
    with cfs.client() as c:
        with pytest.raises(IpcError) as info:
            c.read_file(path)
        assert info.value.errno == err


def test_read_file_virtual(cfs):
    """READ_FILE of .members gives the generated JSON."""
    with cfs.client() as c:
        assert json.loads(c.read_file(".members"))["nodename"] == "node1"


# --- watch -----------------------------------------------------------------

def events_until(client, last_path, limit=50):
    out = []
    for _ in range(limit):
        ev = client.next_event()
        out.append(ev)
        if ev["path"] == last_path and ev["op"] == "unlink":
            return out
    raise AssertionError(f"no unlink of {last_path} in {out}")


def test_watch_events(cfs):
    """A watcher of `nodes` gets create/write/rename/unlink under it, in version order.
    A new file written and closed is one change: created with its content."""
    with cfs.client() as w:
        w.watch("nodes")
        write_file(cfs.path("nodes/node1/a.cfg"), "A")
        os.rename(cfs.path("nodes/node1/a.cfg"), cfs.path("nodes/node1/b.cfg"))
        os.mkdir(cfs.path("nodes/node1/sub"))
        os.unlink(cfs.path("nodes/node1/b.cfg"))
        evs = events_until(w, "nodes/node1/b.cfg")
    got = [(e["op"], e["path"], e["old_path"]) for e in evs]
    assert got == [("create", "nodes/node1/a.cfg", None),
                   ("rename", "nodes/node1/b.cfg", "nodes/node1/a.cfg"),
                   ("mkdir", "nodes/node1/sub", None),
                   ("unlink", "nodes/node1/b.cfg", None)]
    assert evs[2]["type"] == "dir" and evs[0]["type"] == "file"
    versions = [e["version"] for e in evs]
    assert versions == sorted(set(versions))


def test_watch_ignores_other_paths(cfs):
    """A watcher of `nodes` gets nothing for storage.cfg or `nodesx`."""
    with cfs.client() as w:
        w.watch("nodes/")
        write_file(cfs.path("storage.cfg"), "s")
        os.mkdir(cfs.path("nodesx"))
        write_file(cfs.path("nodes/marker"), "")
        os.unlink(cfs.path("nodes/marker"))
        evs = events_until(w, "nodes/marker")
    assert [e["path"] for e in evs] == ["nodes/marker", "nodes/marker"]


def test_watch_rename_in_and_out(cfs):
    """Renames into and out of the watched path are reported (path or old_path matches)."""
    write_file(cfs.path("outside"), "o")
    with cfs.client() as w:
        w.watch("nodes")
        os.rename(cfs.path("outside"), cfs.path("nodes/inside"))
        os.rename(cfs.path("nodes/inside"), cfs.path("back"))
        write_file(cfs.path("nodes/m"), "")
        os.unlink(cfs.path("nodes/m"))
        evs = events_until(w, "nodes/m")
    assert (evs[0]["path"], evs[0]["old_path"]) == ("nodes/inside", "outside")
    assert (evs[1]["path"], evs[1]["old_path"]) == ("back", "nodes/inside")


def test_cli_watch_count(cfs):
    """`drover cfs watch nodes -n 2` prints the next two changes under nodes and exits 0."""
    proc = subprocess.Popen([DROVER, "--socket", cfs.sock, "cfs", "watch", "nodes", "-n", "2"],
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    try:
        with cfs.client() as c:
            assert wait_until(lambda: c.status()["watchers"] == 1)
        write_file(cfs.path("storage.cfg"), "not watched")
        os.mkdir(cfs.path("nodes/node2"))
        os.rmdir(cfs.path("nodes/node2"))
        out, err = proc.communicate(timeout=10)
    finally:
        proc.kill()
    assert proc.returncode == 0, err
    lines = out.splitlines()
    assert len(lines) == 2
    assert "mkdir" in lines[0] and "nodes/node2" in lines[0]
    assert "rmdir" in lines[1] and "nodes/node2" in lines[1]


# --- CLI -------------------------------------------------------------------

def test_cli_status_json(cfs):
    """`drover cfs status --output-format json` has mode, version, entries and limits."""
    s = json.loads(cfs.drover("cfs", "status", "--output-format", "json").stdout)
    assert s["mode"] == "local"
    assert s["node"] == "node1"
    assert s["version"] > 0 and s["entries"] > 0
    assert s["limits"] == {"max_file_size": 4 << 20, "max_total_bytes": 512 << 20,
                           "max_entries": 1_000_000}


def test_cli_status_limits_follow_options(make_cfs):
    """Limits given on the command line (64K, 1M) show up in the status."""
    cfs = make_cfs(extra_args=["--max-file-size", "64K", "--max-total", "1M",
                               "--max-entries", "100"])
    s = json.loads(cfs.drover("cfs", "status", "--output-format", "json").stdout)
    assert s["limits"] == {"max_file_size": 65536, "max_total_bytes": 1 << 20,
                           "max_entries": 100}


def test_cli_status_text(cfs):
    """`drover cfs status` says the file system is quorate."""
    out = cfs.drover("cfs", "status").stdout
    assert "Quorate:          Yes" in out
    assert "Mode:             local" in out


def test_cli_log(cfs):
    """`drover cfs log` shows entries appended through IPC."""
    with cfs.client() as c:
        c.log("hello from the tests", ident="carol@pve", tag="itest")
    out = cfs.drover("cfs", "log").stdout
    assert "hello from the tests" in out and "carol@pve" in out and "itest" in out


def test_cli_flush(cfs):
    """`drover cfs flush` leaves no journal bytes behind."""
    for i in range(20):
        write_file(cfs.path(f"f{i}"), "x" * 1000)
    with cfs.client() as c:
        before = c.status()["persistence"]
    assert before["journal_bytes"] > 0
    cfs.drover("cfs", "flush")
    with cfs.client() as c:
        after = c.status()["persistence"]
    assert after["journal_bytes"] == 0
    assert after["flushes"] > before["flushes"]


def test_cli_no_daemon():
    """`drover --socket /nonexistent cfs status` exits 1 and asks if droverfs runs."""
    r = subprocess.run([DROVER, "--socket", "/nonexistent", "cfs", "status"],
                       capture_output=True, text=True)
    assert r.returncode == 1
    assert "is droverfs running?" in r.stderr


def test_watch_truncate_and_mtime(cfs):
    """truncate and utime under a watched path produce truncate and mtime events."""
    write_file(cfs.path("nodes/f"), "abc")
    with cfs.client() as w:
        w.watch("/nodes/")
        os.truncate(cfs.path("nodes/f"), 1)
        os.utime(cfs.path("nodes/f"), (1000, 1000))
        os.unlink(cfs.path("nodes/f"))
        evs = events_until(w, "nodes/f")
    assert [e["op"] for e in evs] == ["truncate", "mtime", "unlink"]


def test_watch_everything(cfs):
    """A watcher of "" (root) gets changes anywhere, private ones included."""
    with cfs.client() as w:
        w.watch("")
        write_file(cfs.path("storage.cfg"), "")
        os.mkdir(cfs.path("priv/lock/l"))
        write_file(cfs.path("m"), "")
        os.unlink(cfs.path("m"))
        evs = events_until(w, "m")
    assert [(e["op"], e["path"]) for e in evs] == [
        ("create", "storage.cfg"), ("mkdir", "priv/lock/l"), ("create", "m"), ("unlink", "m")]


def test_status_counts(cfs):
    """status: entries and bytes follow the tree; starttime matches .version."""
    with cfs.client() as c:
        s0 = c.status()
        write_file(cfs.path("f"), "x" * 1000)
        os.mkdir(cfs.path("d"))
        s1 = c.status()
    assert s1["entries"] == s0["entries"] + 2
    assert s1["bytes"] == s0["bytes"] + 1000
    assert s1["version"] > s0["version"]
    assert s1["starttime"] == read_json(cfs, ".version")["starttime"]


def test_status_guests(cfs):
    """status counts guests."""
    make_guest(cfs, "node1", "qemu-server", 100)
    make_guest(cfs, "node1", "lxc", 101)
    with cfs.client() as c:
        assert c.status()["guests"] == 2
