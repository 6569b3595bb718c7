"""Damaged databases and journals, a newer database, a second instance, stale mounts."""
import glob
import os
import sqlite3
import subprocess

import pytest

from conftest import is_mounted

# What a fresh tree holds for node1 (the virtual entries at the top aside).
VIRTUAL = {"local", "qemu-server", "lxc", ".version", ".members", ".vmlist", ".clusterlog",
           ".debug"}
LAYOUT = {"nodes", "nodes/node1", "nodes/node1/qemu-server", "nodes/node1/lxc",
          "nodes/node1/priv", "priv", "priv/lock"}


def tree(fs):
    """Every real entry of the mounted tree, as relative paths."""
    found = set()
    for top, dirs, files in os.walk(fs.mnt):
        rel = os.path.relpath(top, fs.mnt)
        if rel == ".":
            dirs[:] = [d for d in dirs if d not in VIRTUAL]
            files = [f for f in files if f not in VIRTUAL]
        for name in dirs + files:
            found.add(name if rel == "." else f"{rel}/{name}")
    return found


def write(path, data):
    with open(path, "w") as f:
        f.write(data)


def read(path):
    with open(path) as f:
        return f.read()


def read_bytes(path):
    with open(path, "rb") as f:
        return f.read()


def status(fs):
    with fs.client() as c:
        return c.status()


def sql(db, *statements):
    subprocess.run(["sqlite3", db, ";\n".join(statements) + ";"], check=True,
                   capture_output=True, text=True)


def populate(fs):
    os.mkdir(fs.path("dir"))
    write(fs.path("dir/f"), "a file\n")
    os.mkdir(fs.path("dir/sub"))
    write(fs.path("dir/sub/g"), "another\n")
    write(fs.path("x"), "x\n")
    write(fs.path("storage.cfg"), "dir: local\n")


def damaged_files(fs):
    """The databases moved aside (not their -wal, -shm, .journal companions)."""
    return [p for p in glob.glob(fs.db + ".damaged-*")
            if not p.endswith(("-wal", "-shm", ".journal"))]


def expect_moved_aside(fs, damaged_bytes, reason):
    """Started on a fresh tree, the damaged database kept aside untouched, and said so."""
    aside = damaged_files(fs)
    assert len(aside) == 1, f"expected one database moved aside, got {aside}"
    assert read_bytes(aside[0]) == damaged_bytes, "the damaged database was changed"
    st = status(fs)
    assert st["persistence"]["recovered_from"] == aside[0]
    assert tree(fs) == LAYOUT
    log = fs.log()
    assert aside[0] in log and "damaged" in log, log
    assert reason in log, f"the log does not say why ({reason!r}):\n{log}"
    # The new database works and the recovery is not repeated.
    write(fs.path("new"), "after recovery\n")
    assert fs.stop() == 0
    fs.start()
    assert read(fs.path("new")) == "after recovery\n"
    assert status(fs)["persistence"]["recovered_from"] is None
    assert damaged_files(fs) == aside
    return aside[0]


@pytest.mark.parametrize("how", ["stopped", "killed"])
def test_garbage_header(cfs, how):
    populate(cfs)
    if how == "stopped":
        assert cfs.stop() == 0
    else:
        # The journal holds the last changes: it belongs to the damaged
        # database and must not be replayed onto the new one. (The database
        # is checkpointed first, or the WAL would hold a good first page.)
        cfs.kill()
        sql(cfs.db, "PRAGMA wal_checkpoint(TRUNCATE)")
    with open(cfs.db, "r+b") as f:
        f.write(b"this is not a database! " * 170 + b"garbage!" * 2)
        assert f.tell() == 4096
    damaged = read_bytes(cfs.db)
    cfs.start()
    aside = expect_moved_aside(cfs, damaged, "not a database")
    if how == "killed":
        assert os.path.getsize(aside + ".journal") > 64, "the journal was not kept with it"


def test_tampered_row_fails_digest(cfs):
    populate(cfs)
    assert cfs.stop() == 0
    sql(cfs.db, "UPDATE entry SET mtime = mtime + 1 WHERE name = 'x'")
    damaged = read_bytes(cfs.db)
    cfs.start()
    expect_moved_aside(cfs, damaged, "digest")


def set_parent_without_triggers(db, child, parent_sql):
    """Re-parent an entry behind the back of the triggers, then restore them."""
    con = sqlite3.connect(db)
    triggers = con.execute("SELECT name, sql FROM sqlite_master WHERE type = 'trigger'").fetchall()
    assert triggers
    for name, _ in triggers:
        con.execute(f"DROP TRIGGER {name}")
    con.execute(f"UPDATE entry SET parent = ({parent_sql}) WHERE name = ?", (child,))
    for _, text in triggers:
        con.execute(text)
    con.commit()
    con.close()


@pytest.mark.parametrize("case,child,parent_sql,reason", [
    ("parent is a file", "x", "SELECT inode FROM entry WHERE name = 'f'", "not a directory"),
    ("parent missing", "x", "SELECT 99999", "99999"),
    ("cycle", "dir", "SELECT inode FROM entry WHERE name = 'sub'", "not reachable"),
], ids=["parent-is-file", "parent-missing", "cycle"])
def test_inconsistent_tree(cfs, case, child, parent_sql, reason):
    populate(cfs)
    assert cfs.stop() == 0
    set_parent_without_triggers(cfs.db, child, parent_sql)
    damaged = read_bytes(cfs.db)
    cfs.start()
    expect_moved_aside(cfs, damaged, reason)


@pytest.mark.parametrize("garbage", [
    b"\xde\xad\xbe\xef" * 50,
    # Looks like the start of a record ("JREC", a length) but is not one.
    b"JREC" + (40).to_bytes(4, "little") + b"\0" * 30,
    b"\0" * 4096,
], ids=["deadbeef", "fake-record", "zeros"])
def test_garbage_after_journal(cfs, garbage):
    populate(cfs)
    for i in range(20):
        write(cfs.path(f"dir/n{i}"), f"n{i}\n" * 50)
    cfs.kill()
    journal = cfs.db + ".journal"
    assert os.path.getsize(journal) > 64
    with open(journal, "ab") as f:
        f.write(garbage)
    cfs.start()
    st = status(cfs)
    assert st["persistence"]["replayed_at_start"] > 0
    assert st["persistence"]["recovered_from"] is None
    assert read(cfs.path("dir/sub/g")) == "another\n"
    for i in range(20):
        assert read(cfs.path(f"dir/n{i}")) == f"n{i}\n" * 50
    # Written after the garbage was dropped, it survives the next crash too.
    write(cfs.path("later"), "later\n")
    cfs.kill()
    cfs.start()
    assert read(cfs.path("later")) == "later\n"
    assert read(cfs.path("dir/n19")) == "n19\n" * 50


def test_newer_database_refused(cfs):
    populate(cfs)
    assert cfs.stop() == 0
    sql(cfs.db, "UPDATE meta SET value = 99 WHERE key = 'schema'")
    before = {p: read_bytes(p) for p in glob.glob(cfs.db + "*") if not p.endswith(".lock")}
    cfs.start(expect_ready=False)
    rc = cfs.proc.wait(10)
    cfs.proc = None
    assert rc != 0
    assert "newer" in cfs.log()
    after = {p: read_bytes(p) for p in glob.glob(cfs.db + "*") if not p.endswith(".lock")}
    assert after == before, "the newer database was touched"
    assert not damaged_files(cfs)
    assert not is_mounted(cfs.mnt)


def test_second_instance_names_the_first(make_cfs):
    first = make_cfs()
    second = make_cfs(subdir="second", start=False)
    second.db_dir, second.db = first.db_dir, first.db
    second.start(expect_ready=False)
    rc = second.proc.wait(10)
    second.proc = None
    assert rc != 0
    log = second.log()
    assert f"pid {first.proc.pid}" in log, log
    assert not is_mounted(second.mnt)
    # The first is unharmed.
    write(first.path("still"), "here\n")
    assert read(first.path("still")) == "here\n"


def mounts_at(path):
    with open("/proc/self/mountinfo") as f:
        return sum(1 for line in f if line.split()[4] == path)


@pytest.mark.parametrize("before_kill", ["idle", "just used"])
def test_stale_mount_cleared(cfs, before_kill):
    write(cfs.path("x"), "x\n")
    if before_kill == "just used":
        # The kernel answers stat() of the mount point from its attribute
        # cache for a while: the next start must not take the dead mount
        # for a live one.
        os.stat(cfs.path("x"))
    cfs.kill()
    assert is_mounted(cfs.mnt), "kill -9 should leave the mount behind"
    cfs.start()
    assert mounts_at(cfs.mnt) == 1
    assert read(cfs.path("x")) == "x\n"
    assert "stale mount" in cfs.log()


def test_mount_point_is_a_file(make_cfs):
    fs = make_cfs(start=False)
    write(fs.mnt, "I am a file\n")
    fs.start(expect_ready=False)
    rc = fs.proc.wait(10)
    fs.proc = None
    assert rc != 0
    log = fs.log()
    assert fs.mnt in log and "Not a directory" in log, log
    assert read(fs.mnt) == "I am a file\n"
    assert not os.path.exists(fs.sock)
