"""Hostile and careless use: limits, reserved names, path tricks, protected dirs, bad IPC."""
import errno
import os
import socket
import struct

import pytest

from drover_ipc import HEADER, STATUS, Client, IpcError
from fsutil import fails_with, read_file, write_file
from polling import wait_until

MiB = 1 << 20


def entries(cfs):
    with cfs.client() as c:
        return c.status()["entries"]


# --- names and sizes -------------------------------------------------------

def test_name_too_long(cfs):
    """A 256-byte name fails with ENAMETOOLONG (create, mkdir, rename)."""
    write_file(cfs.path("short"), "x")
    fails_with(errno.ENAMETOOLONG, open, cfs.path("a" * 256), "w")
    fails_with(errno.ENAMETOOLONG, os.mkdir, cfs.path("b" * 256))
    fails_with(errno.ENAMETOOLONG, os.rename, cfs.path("short"), cfs.path("c" * 256))


def test_name_255_works(cfs):
    """A 255-byte name works for files and directories."""
    write_file(cfs.path("a" * 255), "ok")
    os.mkdir(cfs.path("b" * 255))
    assert read_file(cfs.path("a" * 255)) == "ok"
    assert {"a" * 255, "b" * 255} <= set(os.listdir(cfs.mnt))


def test_file_too_big_fails_at_write(cfs):
    """Writing 5 MiB: the write() that goes past 4 MiB fails with EFBIG, earlier
    ones work; then the descriptor is failed: close() reports EFBIG and nothing
    it wrote lands (the file, made at open, stays empty)."""
    fd = os.open(cfs.path("big"), os.O_WRONLY | os.O_CREAT, 0o640)
    chunk = b"z" * (256 * 1024)
    written = 0
    try:
        err = None
        while written < 5 * MiB:
            try:
                written += os.write(fd, chunk)
            except OSError as e:
                err = e
                break
        assert err is not None and err.errno == errno.EFBIG
        assert written == 4 * MiB
    finally:
        fails_with(errno.EFBIG, os.close, fd)
    assert os.stat(cfs.path("big")).st_size == 0


def test_file_exactly_max_size(cfs):
    """A file of exactly 4 MiB is allowed; one more byte appended is EFBIG."""
    data = os.urandom(4 * MiB)
    write_file(cfs.path("max"), data, "wb")
    assert read_file(cfs.path("max"), "rb") == data
    fd = os.open(cfs.path("max"), os.O_WRONLY | os.O_APPEND)
    try:
        fails_with(errno.EFBIG, os.write, fd, b"!")
    finally:
        fails_with(errno.EFBIG, os.close, fd)
    assert os.stat(cfs.path("max")).st_size == 4 * MiB


def test_truncate_too_big(cfs):
    """truncate to more than 4 MiB fails with EFBIG."""
    write_file(cfs.path("f"), "x")
    fails_with(errno.EFBIG, os.truncate, cfs.path("f"), 4 * MiB + 1)
    assert os.stat(cfs.path("f")).st_size == 1


def test_max_file_size_option(make_cfs):
    """--max-file-size 64K: a write past 64 KiB fails with EFBIG."""
    cfs = make_cfs(extra_args=["--max-file-size", "64K"])
    fd = os.open(cfs.path("f"), os.O_WRONLY | os.O_CREAT, 0o640)
    try:
        assert os.write(fd, b"a" * 65536) == 65536
        fails_with(errno.EFBIG, os.write, fd, b"b")
    finally:
        fails_with(errno.EFBIG, os.close, fd)
    assert os.stat(cfs.path("f")).st_size == 0


def test_total_limit_enospc_at_write(make_cfs):
    """--max-total 64K: a write that would go past the total fails with ENOSPC."""
    cfs = make_cfs(extra_args=["--max-total", "64K"])
    write_file(cfs.path("a"), b"a" * 60000, "wb")
    fd = os.open(cfs.path("b"), os.O_WRONLY | os.O_CREAT, 0o640)
    try:
        assert os.write(fd, b"b" * 4000) == 4000
        fails_with(errno.ENOSPC, os.write, fd, b"b" * 4000)
    finally:
        fails_with(errno.ENOSPC, os.close, fd)
    with cfs.client() as c:
        assert c.status()["bytes"] <= 64 * 1024


def test_total_limit_statfs(make_cfs):
    """--max-total 64K: statvfs shows 16 blocks of 4 KiB, none free when full."""
    cfs = make_cfs(extra_args=["--max-total", "64K"])
    sv = os.statvfs(cfs.mnt)
    assert (sv.f_bsize, sv.f_blocks, sv.f_bfree) == (4096, 16, 16)
    write_file(cfs.path("a"), b"a" * 65536, "wb")
    assert os.statvfs(cfs.mnt).f_bfree == 0


def test_entry_limit(make_cfs):
    """--max-entries 20: creating too many files fails with ENOSPC; so does mkdir."""
    cfs = make_cfs(extra_args=["--max-entries", "20"])
    made = 0
    err = None
    for i in range(30):
        try:
            with open(cfs.path(f"f{i}"), "w"):
                pass
            made += 1
        except OSError as e:
            err = e
            break
    assert err is not None and err.errno == errno.ENOSPC
    assert 0 < made < 20
    assert not os.path.exists(cfs.path(f"f{made}"))
    fails_with(errno.ENOSPC, os.mkdir, cfs.path("d"))
    assert os.statvfs(cfs.mnt).f_ffree == 0
    os.unlink(cfs.path("f0"))
    os.mkdir(cfs.path("d"))


@pytest.mark.parametrize("args", [["--max-total", "4095"], ["--max-entries", "15"],
                                  ["--max-file-size", "lots"]])
def test_bad_limit_options(make_cfs, args):
    """Limits below their minimum or not sizes make droverfs refuse to start."""
    fs = make_cfs(extra_args=args, start=False)
    fs.start(expect_ready=False)
    assert fs.proc.wait(10) != 0
    assert args[0] in fs.log()


# --- virtual and reserved names --------------------------------------------

@pytest.mark.parametrize("name", [".members", ".vmlist", ".version", ".clusterlog"])
def test_write_generated_file(cfs, name):
    """Opening a generated read-only file for writing fails with EACCES."""
    fails_with(errno.EACCES, open, cfs.path(name), "w")
    fails_with(errno.EACCES, open, cfs.path(name), "a")


@pytest.mark.parametrize("name", [".members", ".version", "local", "qemu-server", ".debug"])
def test_create_virtual_name(cfs, name):
    """Creating a file or directory with a generated name fails with EEXIST (or EACCES)."""
    fails_with((errno.EEXIST, errno.EACCES), os.open, cfs.path(name),
               os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o640)
    fails_with((errno.EEXIST, errno.EACCES), os.mkdir, cfs.path(name))


@pytest.mark.parametrize("name", [".rrd", "openvz"])
def test_create_reserved_name(cfs, name):
    """Reserved root names that are not generated cannot be created either."""
    fails_with((errno.EEXIST, errno.EACCES), open, cfs.path(name), "w")
    fails_with((errno.EEXIST, errno.EACCES), os.mkdir, cfs.path(name))
    assert name not in os.listdir(cfs.mnt)


@pytest.mark.parametrize("name", [".members", ".vmlist", "local", ".debug"])
def test_unlink_rename_virtual(cfs, name):
    """unlink and rename of generated entries fail with EACCES; renaming onto them too."""
    write_file(cfs.path("plain"), "p")
    fails_with(errno.EACCES, os.unlink, cfs.path(name))
    fails_with(errno.EACCES, os.rename, cfs.path(name), cfs.path("stolen"))
    fails_with(errno.EACCES, os.rename, cfs.path("plain"), cfs.path(name))
    assert read_file(cfs.path("plain")) == "p"
    assert name in os.listdir(cfs.mnt)


def test_reserved_names_only_in_root(cfs):
    """Names like .members and local are ordinary below the root."""
    os.mkdir(cfs.path("d"))
    write_file(cfs.path("d/.members"), "m")
    os.mkdir(cfs.path("d/local"))
    assert read_file(cfs.path("d/.members")) == "m"


# --- path tricks -----------------------------------------------------------

def test_dotdot_inside_mount(cfs):
    """a/b/../../x creates x in the mount root, nowhere else."""
    os.makedirs(cfs.path("a/b"))
    write_file(cfs.path("a/b/../../x"), "here")
    assert read_file(cfs.path("x")) == "here"
    assert os.listdir(cfs.path("a")) == ["b"]
    assert os.listdir(cfs.path("a/b")) == []


def test_dotdot_above_mount_root(cfs):
    """From the mount, `..` above the root leaves droverfs: nothing is added to its tree."""
    os.mkdir(cfs.path("a"))
    before = entries(cfs)
    outside = os.path.join(os.path.dirname(cfs.mnt), "escaped")
    write_file(cfs.path("a/../../escaped"), "x")
    try:
        assert os.path.exists(outside)  # the host directory, by the kernel's path walk
        assert "escaped" not in os.listdir(cfs.mnt)
        assert entries(cfs) == before
    finally:
        os.unlink(outside)


@pytest.mark.parametrize("name", [".", ".."])
def test_dot_names_cannot_be_created(cfs, name):
    """Files or directories named . or .. cannot be created."""
    os.mkdir(cfs.path("d"))
    fails_with(errno.EEXIST, os.mkdir, cfs.path(f"d/{name}"))
    fails_with((errno.EEXIST, errno.EISDIR), os.open, cfs.path(f"d/{name}"),
               os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o640)
    assert os.listdir(cfs.path("d")) == []


@pytest.mark.parametrize("path", ["../etc/passwd", "/../../etc/passwd", "nodes/../storage.cfg",
                                  "./storage.cfg", "nodes/..", ".."])
def test_ipc_read_file_no_dotdot(cfs, path):
    """IPC READ_FILE does not resolve . or ..: such paths are ENOENT."""
    write_file(cfs.path("storage.cfg"), "s")
    with cfs.client() as c:
        with pytest.raises(IpcError) as info:
            c.read_file(path)
        assert info.value.errno == errno.ENOENT


# --- protected directories -------------------------------------------------

def test_rename_lock_dir(cfs):
    """A lock directory cannot be renamed (EACCES), within priv/lock or out of it."""
    os.mkdir(cfs.path("priv/lock/x"))
    fails_with(errno.EACCES, os.rename, cfs.path("priv/lock/x"), cfs.path("priv/lock/y"))
    fails_with(errno.EACCES, os.rename, cfs.path("priv/lock/x"), cfs.path("x"))
    assert os.path.isdir(cfs.path("priv/lock/x"))


def test_move_into_lock_area(cfs):
    """Moving a directory or file into priv/lock fails with EACCES."""
    os.mkdir(cfs.path("d"))
    write_file(cfs.path("f"), "f")
    fails_with(errno.EACCES, os.rename, cfs.path("d"), cfs.path("priv/lock/d"))
    fails_with(errno.EACCES, os.rename, cfs.path("f"), cfs.path("priv/lock/f"))
    assert os.path.isdir(cfs.path("d")) and os.path.isfile(cfs.path("f"))


def test_rename_over_lock_dir(cfs):
    """Replacing an (empty) lock directory by rename fails with EACCES."""
    os.mkdir(cfs.path("priv/lock/x"))
    os.mkdir(cfs.path("d"))
    fails_with(errno.EACCES, os.rename, cfs.path("d"), cfs.path("priv/lock/x"))


@pytest.mark.parametrize("src", ["priv", "priv/lock"])
def test_rename_priv(cfs, src):
    """Renaming priv or priv/lock fails with EACCES."""
    fails_with(errno.EACCES, os.rename, cfs.path(src), cfs.path("elsewhere"))
    assert os.path.isdir(cfs.path("priv/lock"))


# --- malformed IPC ---------------------------------------------------------

def closed_by_server(sock):
    """True when the server closes the socket (EOF) within the timeout."""
    sock.settimeout(5)
    try:
        while sock.recv(65536):
            pass
        return True
    except ConnectionResetError:
        return True
    except socket.timeout:
        return False


def raw(cfs):
    s = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    s.connect(cfs.sock)
    return s


@pytest.mark.parametrize("data", [
    HEADER.pack(0xFFFFFFFF, 1, STATUS, 1, 0),      # huge length
    HEADER.pack(64 << 20, 1, STATUS, 1, 0),         # above the frame limit
    HEADER.pack(HEADER.size, 2, STATUS, 1, 0),      # another protocol version
    HEADER.pack(3, 1, STATUS, 1, 0),                # shorter than a header
    b"GET / HTTP/1.1\r\nHost: x\r\n\r\n",          # garbage
], ids=["huge", "over-limit", "version", "short-length", "garbage"])
def test_malformed_frame_closes_connection(cfs, data):
    """A frame that can never be valid gets the connection closed; others keep working."""
    with cfs.client() as other:
        s = raw(cfs)
        s.sendall(data)
        assert closed_by_server(s)
        s.close()
        assert other.status()["mode"] == "local"
    with cfs.client() as c:
        assert c.status()["mode"] == "local"


def test_truncated_frame_then_close(cfs):
    """Half a frame and then a close leaves the server serving."""
    for cut in (5, HEADER.size, HEADER.size + 2):
        s = raw(cfs)
        frame = HEADER.pack(HEADER.size + 10, 1, STATUS, 1, 0) + b"x" * 10
        s.sendall(frame[:cut])
        s.close()
    with cfs.client() as c:
        assert c.status()["mode"] == "local"


def test_malformed_payload(cfs):
    """A READ_FILE whose string length runs past the payload is an error, not a crash."""
    with cfs.client() as c:
        c.send_raw(c.frame(5, struct.pack("<H", 500) + b"abc"))
        seq = c.seq
        t, s, status, _ = c.next_frame()
        assert s == seq and status < 0
        assert c.status()["mode"] == "local"


def test_unknown_request_type(cfs):
    """An unknown request type is answered with EOPNOTSUPP; the connection stays usable."""
    with cfs.client() as c:
        with pytest.raises(IpcError) as info:
            c.call(77, b"whatever")
        assert info.value.errno == errno.EOPNOTSUPP
        assert c.status()["mode"] == "local"


class BlockingClient(Client):
    """A client whose connect() blocks while the server's backlog is full (as C clients do)."""

    def __init__(self, path):
        self.sock = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
        self.sock.connect(path)
        self.sock.settimeout(10)
        self.seq = 0
        self.buf = b""


def test_many_connections(cfs):
    """200 connections at once all get answers; closing them leaves the server fine."""
    clients = [BlockingClient(cfs.sock) for _ in range(200)]
    try:
        for c in clients:
            c.send_raw(c.frame(STATUS))
        for c in clients:
            assert c.status()["mode"] == "local"
    finally:
        for c in clients:
            c.close()
    with cfs.client() as c:
        assert c.status()["mode"] == "local"


def test_client_gone_before_reply(cfs):
    """Clients that send requests and vanish without reading do not hurt the server."""
    for _ in range(20):
        s = raw(cfs)
        s.sendall(HEADER.pack(HEADER.size, 1, STATUS, 1, 0) * 50)
        s.close()
    assert wait_until(lambda: Client(cfs.sock).status()["mode"] == "local")
    assert cfs.proc.poll() is None


def test_total_limit_truncate(make_cfs):
    """--max-total 64K: growing a file past the total with truncate fails with ENOSPC."""
    cfs = make_cfs(extra_args=["--max-total", "64K"])
    write_file(cfs.path("f"), "x")
    fails_with(errno.ENOSPC, os.truncate, cfs.path("f"), 100 * 1024)
    assert os.stat(cfs.path("f")).st_size == 1


def test_total_limit_append(make_cfs):
    """--max-total 64K: an O_APPEND write past the total fails with ENOSPC at write()."""
    cfs = make_cfs(extra_args=["--max-total", "64K"])
    write_file(cfs.path("f"), b"a" * 60000, "wb")
    fd = os.open(cfs.path("f"), os.O_WRONLY | os.O_APPEND)
    try:
        fails_with(errno.ENOSPC, os.write, fd, b"b" * 8000)
    finally:
        fails_with(errno.ENOSPC, os.close, fd)
    assert os.stat(cfs.path("f")).st_size == 60000


def test_total_limit_frees_on_unlink(make_cfs):
    """--max-total 64K: after removing a file its space can be used again."""
    cfs = make_cfs(extra_args=["--max-total", "64K"])
    write_file(cfs.path("a"), b"a" * 60000, "wb")
    os.unlink(cfs.path("a"))
    write_file(cfs.path("b"), b"b" * 60000, "wb")
    assert os.stat(cfs.path("b")).st_size == 60000


def test_pipelined_requests(cfs):
    """Many requests sent in one write are all answered, in order."""
    with cfs.client() as c:
        frames = b"".join(c.frame(STATUS) for _ in range(50))
        c.send_raw(frames)
        seqs = [c.next_frame()[1] for _ in range(50)]
        assert seqs == list(range(1, 51))


def test_frame_at_size_limit(cfs):
    """A frame of exactly 8 MiB is read whole and answered (here: ENOENT)."""
    with cfs.client() as c:
        path = b"nosuchfile"
        pad = (8 << 20) - HEADER.size - 2 - len(path)
        c.send_raw(c.frame(5, struct.pack("<H", len(path)) + path + b"\0" * pad))
        _, seq, status, _ = c.next_frame()
        assert seq == c.seq and status == -errno.ENOENT


def test_kv_bad_keys(cfs):
    """KV set with an empty key is EINVAL, a 256-byte key ENAMETOOLONG."""
    with cfs.client() as c:
        for key, err in (("", errno.EINVAL), ("k" * 256, errno.ENAMETOOLONG)):
            with pytest.raises(IpcError) as info:
                c.kv_set(key, "v")
            assert info.value.errno == err
        c.kv_set("k" * 255, "v")


def test_log_control_characters(cfs):
    """Control characters in a log message are neutralised, not passed on."""
    with cfs.client() as c:
        c.log("line1\nline2\x1b[31m")
        msg = c.read_log(max_entries=1)["data"][0]["msg"]
    assert "\n" not in msg and "\x1b" not in msg
    assert msg.startswith("line1") and "line2" in msg


def test_odd_names_survive_restart(cfs):
    """Names with newlines, spaces, UTF-8 and invalid UTF-8 work and survive a restart."""
    names = [b"a\nb", b"sp ace", "\u00fcn\u00efc\u00f6de".encode(), b"\xff\xfe", b"-rf", b"*"]
    mnt = cfs.mnt.encode()
    for n in names:
        write_file(os.path.join(mnt, n), n, "wb")
    assert cfs.stop() == 0
    cfs.start()
    listed = set(os.listdir(mnt))
    for n in names:
        assert n in listed
        assert read_file(os.path.join(mnt, n), "rb") == n


def test_deep_tree_survives_restart(cfs):
    """A tree deeper than PATH_MAX (reached with dir fds) is kept across a restart."""
    names = [f"d{i:02d}" + "x" * 250 for i in range(20)]

    def descend(create):
        fd = os.open(cfs.mnt, os.O_RDONLY)
        for n in names:
            if create:
                os.mkdir(n, dir_fd=fd)
            nfd = os.open(n, os.O_RDONLY, dir_fd=fd)
            os.close(fd)
            fd = nfd
        return fd

    fd = descend(True)
    f = os.open("leaf", os.O_WRONLY | os.O_CREAT, 0o640, dir_fd=fd)
    os.write(f, b"deep")
    os.close(f)
    os.close(fd)
    assert cfs.stop() == 0
    cfs.start()
    fd = descend(False)
    f = os.open("leaf", os.O_RDONLY, dir_fd=fd)
    try:
        assert os.read(f, 100) == b"deep"
    finally:
        os.close(f)
        os.close(fd)


@pytest.mark.parametrize("op", ["symlink", "link", "mkfifo", "mknod"])
def test_unsupported_node_types(cfs, op):
    """Symlinks, hard links, FIFOs and device nodes cannot be made; nothing appears."""
    write_file(cfs.path("f"), "x")
    target = cfs.path("new")
    fn = {"symlink": lambda: os.symlink("f", target),
          "link": lambda: os.link(cfs.path("f"), target),
          "mkfifo": lambda: os.mkfifo(target),
          "mknod": lambda: os.mknod(target, 0o600 | 0o020000, os.makedev(1, 3))}[op]
    with pytest.raises(OSError):
        fn()
    assert not os.path.lexists(target)
    assert cfs.proc.poll() is None
