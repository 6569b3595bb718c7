"""Who may do what: root, the read-only group (www-data), and everyone else."""
import errno
import json
import os
import socket
import stat
import subprocess

import pytest

from conftest import DROVER, NOBODY, READER, as_user, run_as
from drover_ipc import FLUSH, Client, IpcError
from fsutil import as_user_call, fails_with, read_file, user_errno, write_file
from polling import wait_until


@pytest.fixture
def populated(cfs):
    """cfs with a public file and dir, and private files in priv/ and nodes/node1/priv/."""
    write_file(cfs.path("storage.cfg"), "dir: local\n")
    os.mkdir(cfs.path("sdn"))
    write_file(cfs.path("sdn/zones.cfg"), "zone\n")
    write_file(cfs.path("priv/shadow.cfg"), "secret\n")
    write_file(cfs.path("nodes/node1/priv/key"), "nodekey\n")
    return cfs


def test_root_reads_and_writes(populated):
    """root can read, write and remove."""
    cfs = populated
    assert read_file(cfs.path("priv/shadow.cfg")) == "secret\n"
    write_file(cfs.path("storage.cfg"), "changed\n")
    assert read_file(cfs.path("storage.cfg")) == "changed\n"
    os.unlink(cfs.path("sdn/zones.cfg"))


def test_reader_reads_files_and_lists(populated):
    """A www-data member can read a public file and list directories (cat, ls)."""
    cfs = populated
    r = run_as(READER, "cat", cfs.path("storage.cfg"))
    assert r.returncode == 0 and r.stdout == "dir: local\n"
    r = run_as(READER, "ls", "-a", cfs.mnt)
    assert r.returncode == 0
    assert {"storage.cfg", "sdn", "nodes", "priv", ".members"} <= set(r.stdout.split())
    r = run_as(READER, "ls", cfs.path("sdn"))
    assert r.returncode == 0 and r.stdout.split() == ["zones.cfg"]


def test_reader_shell_write_fails(populated):
    """A www-data member's `echo > file` fails and changes nothing."""
    cfs = populated
    r = run_as(READER, "sh", "-c", f"echo evil > {cfs.path('storage.cfg')}")
    assert r.returncode != 0
    assert read_file(cfs.path("storage.cfg")) == "dir: local\n"


@pytest.mark.parametrize("op", ["write", "append", "create", "mkdir", "unlink", "rmdir",
                                "rename", "chmod", "truncate", "utime"])
def test_reader_cannot_change(populated, op):
    """A www-data member gets EACCES/EPERM for every kind of change."""
    cfs = populated
    p = cfs.path
    ops = {
        "write": lambda: os.open(p("storage.cfg"), os.O_WRONLY),
        "append": lambda: os.open(p("storage.cfg"), os.O_WRONLY | os.O_APPEND),
        "create": lambda: os.open(p("new.cfg"), os.O_WRONLY | os.O_CREAT, 0o640),
        "mkdir": lambda: os.mkdir(p("newdir")),
        "unlink": lambda: os.unlink(p("storage.cfg")),
        "rmdir": lambda: os.rmdir(p("nodes/node1/lxc")),
        "rename": lambda: os.rename(p("storage.cfg"), p("moved.cfg")),
        "chmod": lambda: os.chmod(p("storage.cfg"), 0o640),
        "truncate": lambda: os.truncate(p("storage.cfg"), 0),
        "utime": lambda: os.utime(p("storage.cfg"), (1, 1)),
    }
    assert user_errno(READER, ops[op]) in (errno.EACCES, errno.EPERM)
    assert read_file(p("storage.cfg")) == "dir: local\n"
    assert not os.path.exists(p("new.cfg")) and not os.path.exists(p("newdir"))
    assert os.path.isdir(p("nodes/node1/lxc"))


@pytest.mark.parametrize("path", ["priv", "priv/shadow.cfg", "priv/lock",
                                  "nodes/node1/priv", "nodes/node1/priv/key",
                                  "local/priv", "local/priv/key"])
def test_reader_private_denied(populated, path):
    """A www-data member gets EACCES for stat, list and read of anything private."""
    cfs = populated
    full = cfs.path(path)
    assert user_errno(READER, os.stat, full) == errno.EACCES
    if os.path.isdir(full):
        assert user_errno(READER, os.listdir, full) == errno.EACCES
    else:
        assert user_errno(READER, read_file, full) == errno.EACCES


@pytest.mark.parametrize("action", ["list_root", "stat_file", "read_file", "read_virtual"])
def test_nobody_denied(populated, action):
    """Someone outside the group gets EACCES for listing the root, stat and read."""
    cfs = populated
    ops = {
        "list_root": lambda: os.listdir(cfs.mnt),
        "stat_file": lambda: os.stat(cfs.path("storage.cfg")),
        "read_file": lambda: read_file(cfs.path("storage.cfg")),
        "read_virtual": lambda: read_file(cfs.path(".members")),
    }
    assert user_errno(NOBODY, ops[action]) == errno.EACCES


def test_nobody_cat_fails(populated):
    """`cat` as nobody fails."""
    r = run_as(NOBODY, "cat", populated.path("storage.cfg"))
    assert r.returncode != 0 and r.stdout == ""


@pytest.mark.parametrize("path,mode", [
    ("sdn", stat.S_IFDIR | 0o755),
    ("nodes", stat.S_IFDIR | 0o755),
    ("storage.cfg", stat.S_IFREG | 0o640),
    ("priv", stat.S_IFDIR | 0o700),
    ("priv/lock", stat.S_IFDIR | 0o700),
    ("priv/shadow.cfg", stat.S_IFREG | 0o600),
    ("nodes/node1/priv", stat.S_IFDIR | 0o700),
    ("nodes/node1/priv/key", stat.S_IFREG | 0o600),
])
def test_modes_and_owner(populated, path, mode):
    """Modes follow the layout; everything is owned by root:www-data."""
    st = os.lstat(populated.path(path))
    assert st.st_mode == mode, oct(st.st_mode)
    assert (st.st_uid, st.st_gid) == (0, 33)


def test_local_symlink(populated):
    """`local` is a symlink owned by root:www-data."""
    st = os.lstat(populated.path("local"))
    assert stat.S_ISLNK(st.st_mode)
    assert (st.st_uid, st.st_gid) == (0, 33)


def test_chmod_same_mode(populated):
    """chmod to the mode a file already has succeeds."""
    os.chmod(populated.path("storage.cfg"), 0o640)
    os.chmod(populated.path("sdn"), 0o755)
    os.chmod(populated.path("priv/shadow.cfg"), 0o600)


@pytest.mark.parametrize("path,mode", [("storage.cfg", 0o644), ("storage.cfg", 0o660),
                                       ("sdn", 0o775), ("priv/shadow.cfg", 0o640)])
def test_chmod_other_mode(populated, path, mode):
    """chmod asking for more than the canonical mode fails with EPERM and the mode
    stays (less is accepted: test_posix.py)."""
    before = os.stat(populated.path(path)).st_mode
    fails_with(errno.EPERM, os.chmod, populated.path(path), mode)
    assert os.stat(populated.path(path)).st_mode == before


def test_chown_same_owner(populated):
    """chown to root:www-data succeeds."""
    os.chown(populated.path("storage.cfg"), 0, 33)
    os.chown(populated.path("sdn"), 0, -1)


@pytest.mark.parametrize("uid,gid", [(65534, -1), (-1, 0), (0, 65534)])
def test_chown_other_owner(populated, uid, gid):
    """chown to another user or group fails with EPERM."""
    fails_with(errno.EPERM, os.chown, populated.path("storage.cfg"), uid, gid)
    st = os.stat(populated.path("storage.cfg"))
    assert (st.st_uid, st.st_gid) == (0, 33)


def test_socket_mode(cfs):
    """The IPC socket is 0660 root:www-data."""
    st = os.stat(cfs.sock)
    assert stat.S_ISSOCK(st.st_mode)
    assert stat.S_IMODE(st.st_mode) == 0o660
    assert (st.st_uid, st.st_gid) == (0, 33)


def _ipc_reader_session(sock):
    """Run as READER: what each request returns (payload or errno)."""
    out = {}
    with Client(sock) as c:
        out["status"] = c.status()["mode"]
        for name, fn in [("public", lambda: c.read_file("storage.cfg")),
                         ("private", lambda: c.read_file("priv/shadow.cfg")),
                         ("node_private", lambda: c.read_file("nodes/node1/priv/key")),
                         ("kv_set", lambda: c.kv_set("k", "v")),
                         ("log", lambda: c.log("hello")),
                         ("flush", lambda: c.call(FLUSH))]:
            try:
                out[name] = fn()
            except IpcError as e:
                out[name] = e.errno
    return out


def test_ipc_reader(populated):
    """READER over IPC: status and public files yes; priv EACCES; changes EPERM."""
    kind, out = as_user_call(READER, _ipc_reader_session, populated.sock)
    assert kind == "ok", out
    assert out["status"] == "local"
    assert out["public"] == b"dir: local\n"
    assert out["private"] == errno.EACCES
    assert out["node_private"] == errno.EACCES
    assert out["kv_set"] == errno.EPERM
    assert out["log"] == errno.EPERM
    assert out["flush"] == errno.EPERM


def test_ipc_reader_cli_status(cfs):
    """`drover cfs status` works for a www-data member."""
    r = cfs.drover("cfs", "status", user=READER)
    assert "Quorate:" in r.stdout


def _connect(sock):
    s = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    try:
        s.connect(sock)
    finally:
        s.close()


def test_ipc_nobody_cannot_connect(cfs):
    """Someone outside the group cannot connect to the socket (EACCES)."""
    assert user_errno(NOBODY, _connect, cfs.sock) == errno.EACCES


def test_ipc_nobody_cli_fails(cfs):
    """`drover cfs status` as nobody fails."""
    r = cfs.drover("cfs", "status", user=NOBODY, check=False)
    assert r.returncode != 0


def test_unknown_group_refused(make_cfs):
    """--group with a group that does not exist: droverfs exits non-zero and says why."""
    fs = make_cfs(extra_args=["--group", "no-such-group-xyz"], start=False)
    fs.start(expect_ready=False)
    rc = fs.proc.wait(10)
    assert rc != 0
    assert "no-such-group-xyz" in fs.log()
    assert "does not exist" in fs.log()


def test_reader_reads_generated_files(populated):
    """A www-data member can read .members, .vmlist, .version and .debug, not write .debug."""
    for name in (".members", ".vmlist", ".version", ".clusterlog", ".debug"):
        kind, value = as_user_call(READER, read_file, populated.path(name))
        assert kind == "ok", (name, value)
    assert user_errno(READER, write_file, populated.path(".debug"), "1\n") == errno.EACCES
    assert read_file(populated.path(".debug")) == "0\n"


def test_reader_follows_local_symlink(populated):
    """A www-data member can read through the `local` symlink."""
    write_file(populated.path("nodes/node1/qemu-server/100.conf"), "cores: 1\n")
    kind, value = as_user_call(READER, read_file, populated.path("qemu-server/100.conf"))
    assert (kind, value) == ("ok", "cores: 1\n")


def test_nobody_readlink(populated):
    """Someone outside the group cannot read the `local` symlink."""
    assert user_errno(NOBODY, os.readlink, populated.path("local")) == errno.EACCES


def test_reader_watch_hides_private(populated):
    """A www-data member watching everything gets no events for private paths."""
    cfs = populated
    proc = subprocess.Popen(as_user(READER) + [DROVER, "--socket", cfs.sock, "cfs", "watch",
                                               "-n", "2", "--output-format", "json"],
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    try:
        with cfs.client() as c:
            assert wait_until(lambda: c.status()["watchers"] == 1)
        os.mkdir(cfs.path("priv/hidden"))
        os.mkdir(cfs.path("nodes/node1/priv/hidden"))
        os.rename(cfs.path("priv/hidden"), cfs.path("priv/hidden2"))
        os.mkdir(cfs.path("public1"))
        os.mkdir(cfs.path("public2"))
        out, err = proc.communicate(timeout=10)
    finally:
        proc.kill()
    assert proc.returncode == 0, err
    assert [json.loads(line)["path"] for line in out.splitlines()] == ["public1", "public2"]


def test_reader_watch_sees_moves_out_of_priv_without_old_path(populated):
    """A file moved from priv/ to a public place is not reported to a www-data watcher
    with its private old name."""
    cfs = populated
    write_file(cfs.path("priv/moving"), "m")
    proc = subprocess.Popen(as_user(READER) + [DROVER, "--socket", cfs.sock, "cfs", "watch",
                                               "-n", "1", "--output-format", "json"],
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    try:
        with cfs.client() as c:
            assert wait_until(lambda: c.status()["watchers"] == 1)
        os.rename(cfs.path("priv/moving"), cfs.path("moved"))
        os.mkdir(cfs.path("marker"))
        out, err = proc.communicate(timeout=10)
    finally:
        proc.kill()
    assert proc.returncode == 0, err
    assert "priv/" not in out
