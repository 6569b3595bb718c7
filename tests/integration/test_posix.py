"""POSIX behaviour outside test suites found missing (issue 11): directory times,
nanosecond and access times, directory link counts, chmod as rsync does it."""
import errno
import os
import shutil
import stat
import subprocess
import time

import pytest

from fsutil import fails_with, read_file, write_file

NS = 1_000_000_000


def times(path):
    st = os.stat(path)
    return st.st_mtime_ns, st.st_ctime_ns


def later(path, before):
    """The directory's mtime and ctime moved forward from `before`, and are equal
    (one change sets both)."""
    mtime, ctime = times(path)
    return mtime > before[0] and ctime > before[1] and mtime == ctime


def age(path):
    """Set path's times into the past, so that any change moves them forward."""
    os.utime(path, ns=(1_000 * NS, 1_000 * NS))


@pytest.fixture
def tree(cfs):
    os.makedirs(cfs.path("a/sub"))
    os.mkdir(cfs.path("b"))
    write_file(cfs.path("a/f"), "f\n")
    for d in ("a", "a/sub", "b"):
        age(cfs.path(d))
    return cfs


@pytest.mark.parametrize("what", ["create", "create_excl", "mkdir", "unlink", "rmdir"])
def test_parent_times_change(tree, what):
    """create, mkdir, unlink and rmdir move the directory's mtime and ctime forward."""
    before = times(tree.path("a"))
    {
        "create": lambda: write_file(tree.path("a/new"), "x"),
        "create_excl": lambda: os.close(os.open(tree.path("a/new"),
                                                os.O_CREAT | os.O_EXCL | os.O_WRONLY)),
        "mkdir": lambda: os.mkdir(tree.path("a/newdir")),
        "unlink": lambda: os.unlink(tree.path("a/f")),
        "rmdir": lambda: os.rmdir(tree.path("a/sub")),
    }[what]()
    assert later(tree.path("a"), before), (before, times(tree.path("a")))
    # the root did not change: only the parent does
    assert times(tree.path("b"))[0] == 1_000 * NS


def test_rename_changes_both_parents_and_the_file_ctime(tree):
    """rename moves both directories' mtime/ctime and the renamed file's ctime
    forward; the file's mtime stays."""
    os.utime(tree.path("a/f"), ns=(1_000 * NS, 1_000 * NS))
    src, dst = times(tree.path("a")), times(tree.path("b"))
    f_before = os.stat(tree.path("a/f"))
    os.rename(tree.path("a/f"), tree.path("b/g"))
    assert later(tree.path("a"), src)
    assert later(tree.path("b"), dst)
    f_after = os.stat(tree.path("b/g"))
    assert f_after.st_mtime_ns == f_before.st_mtime_ns == 1_000 * NS
    assert f_after.st_ctime_ns > f_before.st_ctime_ns
    # within one directory: it changes once, mtime == ctime
    before = times(tree.path("b"))
    os.rename(tree.path("b/g"), tree.path("b/h"))
    assert later(tree.path("b"), before)


def test_directory_times_survive_a_restart(tree):
    """Directory times are stored: a restart shows the same values."""
    os.mkdir(tree.path("a/x"))
    want = {p: times(tree.path(p)) for p in ("a", "a/x", "b", "")}
    tree.stop()
    tree.start()
    assert {p: times(tree.path(p)) for p in want} == want


def test_nanoseconds_kept_and_stored(cfs):
    """A .5 s mtime reads back as .5 s, also after a restart; new files and
    writes get sub-second times from the clock."""
    write_file(cfs.path("f"), "x")
    os.mkdir(cfs.path("d"))
    os.utime(cfs.path("f"), ns=(5 * NS + 250_000_000, 1_600_000_000 * NS + 500_000_000))
    os.utime(cfs.path("d"), ns=(7 * NS, 1_500_000_000 * NS + 123_456_789))
    assert os.stat(cfs.path("f")).st_mtime_ns == 1_600_000_000 * NS + 500_000_000
    assert os.stat(cfs.path("d")).st_mtime_ns == 1_500_000_000 * NS + 123_456_789
    cfs.stop()
    cfs.start()
    st = os.stat(cfs.path("f"))
    assert st.st_mtime_ns == 1_600_000_000 * NS + 500_000_000
    assert st.st_atime_ns == 5 * NS + 250_000_000
    assert os.stat(cfs.path("d")).st_mtime_ns == 1_500_000_000 * NS + 123_456_789
    # clock times have nanoseconds: of 20 new files, not all can be whole seconds
    for i in range(20):
        write_file(cfs.path(f"n{i}"), "y")
    assert any(os.stat(cfs.path(f"n{i}")).st_mtime_ns % NS for i in range(20))


def test_atime_set_explicitly(cfs):
    """touch -a sets only the access time; touch -m only the modification time;
    reads and writes leave the access time alone (as with noatime)."""
    write_file(cfs.path("f"), "x")
    mtime = os.stat(cfs.path("f")).st_mtime_ns
    subprocess.run(["touch", "-a", "-d", "@5", cfs.path("f")], check=True)
    st = os.stat(cfs.path("f"))
    assert (st.st_atime_ns, st.st_mtime_ns) == (5 * NS, mtime)
    assert st.st_ctime_ns >= mtime
    subprocess.run(["touch", "-m", "-d", "@7.25", cfs.path("f")], check=True)
    st = os.stat(cfs.path("f"))
    assert (st.st_atime_ns, st.st_mtime_ns) == (5 * NS, 7 * NS + 250_000_000)
    read_file(cfs.path("f"))
    write_file(cfs.path("f"), "y", "a")
    st = os.stat(cfs.path("f"))
    assert st.st_atime_ns == 5 * NS
    assert st.st_mtime_ns > 7 * NS
    # utime with only atime on a new file before its first close
    fd = os.open(cfs.path("g"), os.O_CREAT | os.O_EXCL | os.O_WRONLY)
    os.write(fd, b"z")
    os.utime(fd, ns=(9 * NS, 11 * NS))
    os.close(fd)
    st = os.stat(cfs.path("g"))
    assert (st.st_atime_ns, st.st_mtime_ns) == (9 * NS, 11 * NS)


def test_utime_changes_ctime(cfs):
    """Setting times is a change: ctime becomes now, not the time given."""
    write_file(cfs.path("f"), "x")
    before = time.time_ns()
    os.utime(cfs.path("f"), ns=(NS, NS))
    st = os.stat(cfs.path("f"))
    assert st.st_mtime_ns == NS
    assert st.st_ctime_ns >= before - NS  # the clock's, give or take a coarse tick


def test_directory_link_count(cfs):
    """A directory's link count is 2 + its subdirectories (files do not count)."""
    os.mkdir(cfs.path("d"))
    assert os.stat(cfs.path("d")).st_nlink == 2
    for n in ("x", "y", "z"):
        os.mkdir(cfs.path(f"d/{n}"))
    write_file(cfs.path("d/file"), "f")
    assert os.stat(cfs.path("d")).st_nlink == 5
    os.rename(cfs.path("d/z"), cfs.path("z"))
    assert os.stat(cfs.path("d")).st_nlink == 4
    os.rmdir(cfs.path("d/y"))
    assert os.stat(cfs.path("d")).st_nlink == 3
    root_dirs = [n for n in os.listdir(cfs.mnt)
                 if os.path.isdir(cfs.path(n)) and not os.path.islink(cfs.path(n))]
    assert os.stat(cfs.mnt).st_nlink == 2 + len(root_dirs)


@pytest.mark.parametrize("path,mode,ok", [
    ("f", 0o640, True), ("f", 0o600, True), ("f", 0o400, True), ("f", 0o000, True),
    ("f", 0o644, False), ("f", 0o660, False), ("f", 0o4640, False), ("f", 0o700, False),
    ("d", 0o755, True), ("d", 0o750, True), ("d", 0o700, True),
    ("d", 0o775, False), ("d", 0o1755, False),
    ("priv/p", 0o600, True), ("priv/p", 0o400, True), ("priv/p", 0o640, False),
])
def test_chmod_within_the_canonical_mode(cfs, path, mode, ok):
    """chmod asking for no more than the canonical mode succeeds and leaves the
    canonical mode; asking for more fails with EPERM. The mode never changes."""
    os.makedirs(cfs.path("d"), exist_ok=True)
    os.makedirs(cfs.path("priv"), exist_ok=True)
    if path != "d":
        write_file(cfs.path(path), "x")
    before = os.stat(cfs.path(path)).st_mode
    if ok:
        os.chmod(cfs.path(path), mode)
    else:
        fails_with(errno.EPERM, os.chmod, cfs.path(path), mode)
    assert os.stat(cfs.path(path)).st_mode == before


def test_fchmod_of_a_new_file(cfs):
    """mkstemp + fchmod(0600), as rsync makes its temporary files, works."""
    fd = os.open(cfs.path(".tmp.x"), os.O_RDWR | os.O_CREAT | os.O_EXCL, 0o600)
    os.fchmod(fd, 0o600)
    os.write(fd, b"data")
    fails_with(errno.EPERM, os.fchmod, fd, 0o666)
    os.close(fd)
    os.rename(cfs.path(".tmp.x"), cfs.path("x"))
    assert read_file(cfs.path("x")) == "data"
    assert stat.S_IMODE(os.stat(cfs.path("x")).st_mode) == 0o640


def make_config_tree(root):
    """A small config tree as found in /etc/pve: root:www-data, 0640/0755."""
    files = {"storage.cfg": "dir: local\n\tpath /var/lib/vz\n",
             "datacenter.cfg": "keyboard: en-us\n",
             "nodes/n1/qemu-server/100.conf": "memory: 512\n",
             "nodes/n1/lxc/200.conf": "arch: amd64\n",
             "firewall/cluster.fw": "[OPTIONS]\nenable: 0\n",
             "sdn/empty.cfg": ""}
    for rel, data in files.items():
        p = os.path.join(root, rel)
        os.makedirs(os.path.dirname(p), exist_ok=True)
        with open(p, "w") as f:
            f.write(data)
    os.makedirs(os.path.join(root, "empty-dir"))
    for dirpath, dirnames, filenames in os.walk(root):
        for d in dirnames:
            os.chmod(os.path.join(dirpath, d), 0o755)
            os.chown(os.path.join(dirpath, d), 0, 33)
        for f in filenames:
            os.chmod(os.path.join(dirpath, f), 0o640)
            os.chown(os.path.join(dirpath, f), 0, 33)
            os.utime(os.path.join(dirpath, f), ns=(NS, 1_600_000_000 * NS + 123_456_789))
    os.chmod(root, 0o755)
    os.chown(root, 0, 33)
    return files


def listing(root):
    """{relative path: (kind, mode, mtime_ns, content)} of a tree."""
    out = {}
    for dirpath, dirnames, filenames in os.walk(root):
        for n in dirnames + filenames:
            p = os.path.join(dirpath, n)
            st = os.lstat(p)
            rel = os.path.relpath(p, root)
            if stat.S_ISDIR(st.st_mode):
                out[rel] = ("dir", stat.S_IMODE(st.st_mode), None, None)
            else:
                with open(p, "rb") as f:
                    out[rel] = ("file", stat.S_IMODE(st.st_mode), st.st_mtime_ns, f.read())
    return out


@pytest.mark.skipif(not shutil.which("rsync"), reason="rsync is not installed")
def test_rsync_a_in_and_out(cfs, tmp_path):
    """rsync -a of a config tree into the mount and back out: exit 0, same
    content, modes and nanosecond mtimes; a second run has nothing to do."""
    src = tmp_path / "src"
    src.mkdir()
    make_config_tree(str(src))
    os.mkdir(cfs.path("x"))
    proc = subprocess.run(["rsync", "-a", f"{src}/", cfs.path("x/")],
                          capture_output=True, text=True)
    assert proc.returncode == 0, proc.stderr
    assert listing(cfs.path("x")) == listing(str(src))
    again = subprocess.run(["rsync", "-a", "-i", f"{src}/", cfs.path("x/")],
                           capture_output=True, text=True, check=True)
    assert [line for line in again.stdout.splitlines() if not line.startswith(".d")] == []
    out = tmp_path / "out"
    proc = subprocess.run(["rsync", "-a", cfs.path("x/"), f"{out}/"],
                          capture_output=True, text=True)
    assert proc.returncode == 0, proc.stderr
    assert listing(str(out)) == listing(str(src))
    for p in out.rglob("*"):
        st = p.lstat()
        assert (st.st_uid, st.st_gid) == (0, 33)


@pytest.mark.skipif(not shutil.which("rsync"), reason="rsync is not installed")
def test_rsync_of_a_root_owned_0644_tree(cfs, tmp_path):
    """A tree of root:root 0644 files: plain rsync -a copies the content but
    cannot give modes and group (exit 23, as documented); with the documented
    options it copies all, times included, anywhere (also below priv/)."""
    src = tmp_path / "src"
    (src / "d").mkdir(parents=True)
    (src / "d" / "a.cfg").write_text("a\n")
    (src / "b.cfg").write_text("b\n")
    for p in (src / "d" / "a.cfg", src / "b.cfg"):
        p.chmod(0o644)
        os.utime(p, ns=(NS, 1_500_000_000 * NS + 250_000_000))
    os.makedirs(cfs.path("priv"), exist_ok=True)
    for target in ("y", "priv/y"):
        os.mkdir(cfs.path(target))
        proc = subprocess.run(["rsync", "-a", "--chmod=D700,F600", "--chown=root:www-data",
                               f"{src}/", cfs.path(target + "/")], capture_output=True, text=True)
        assert proc.returncode == 0, proc.stderr
        assert read_file(cfs.path(target + "/d/a.cfg")) == "a\n"
        assert read_file(cfs.path(target + "/b.cfg")) == "b\n"
        assert os.stat(cfs.path(target + "/b.cfg")).st_mtime_ns == 1_500_000_000 * NS + 250_000_000
    os.mkdir(cfs.path("z"))
    proc = subprocess.run(["rsync", "-a", f"{src}/", cfs.path("z/")], capture_output=True,
                          text=True)
    assert proc.returncode == 23, proc.stderr
    assert read_file(cfs.path("z/d/a.cfg")) == "a\n"


def test_mmap_as_documented(cfs):
    """MAP_SHARED of a file open for writing: ENODEV; MAP_PRIVATE, and MAP_SHARED
    of a file open read-only, work (droverfs(8))."""
    import mmap
    write_file(cfs.path("m"), "A" * 5000)
    fd = os.open(cfs.path("m"), os.O_RDWR)
    try:
        fails_with(errno.ENODEV, mmap.mmap, fd, 5000, mmap.MAP_SHARED,
                   mmap.PROT_READ | mmap.PROT_WRITE)
        with mmap.mmap(fd, 5000, mmap.MAP_PRIVATE, mmap.PROT_READ | mmap.PROT_WRITE) as m:
            m[:1] = b"B"  # a private copy: the file keeps its content
    finally:
        os.close(fd)
    fd = os.open(cfs.path("m"), os.O_RDONLY)
    try:
        with mmap.mmap(fd, 5000, mmap.MAP_SHARED, mmap.PROT_READ) as m:
            assert m[:] == b"A" * 5000
    finally:
        os.close(fd)


def test_sqlite_inside_the_mount(cfs):
    """The documented workaround: SQLite with journal_mode=DELETE works inside the
    mount; WAL fails (it needs a shared writable mapping)."""
    import sqlite3
    con = sqlite3.connect(cfs.path("ok.db"))
    assert con.execute("PRAGMA journal_mode=DELETE").fetchone()[0] == "delete"
    con.execute("CREATE TABLE t(x)")
    con.executemany("INSERT INTO t VALUES (?)", [(i,) for i in range(100)])
    con.commit()
    con.close()
    con = sqlite3.connect(cfs.path("ok.db"))
    assert con.execute("SELECT count(*), sum(x) FROM t").fetchone() == (100, 4950)
    con.close()
    con = sqlite3.connect(cfs.path("wal.db"))
    with pytest.raises(sqlite3.OperationalError):
        con.execute("PRAGMA journal_mode=WAL")
        con.execute("CREATE TABLE t(x)")
        con.commit()
    con.close()
