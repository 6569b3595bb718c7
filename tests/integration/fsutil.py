"""Helpers for the droverfs integration tests (errno checks, renameat2, users)."""
import ctypes
import errno
import os
import pickle

import pytest

_libc = ctypes.CDLL(None, use_errno=True)
AT_FDCWD = -100
RENAME_NOREPLACE = 1

VIRTUAL = {"local", "qemu-server", "lxc", ".version", ".members", ".vmlist",
           ".clusterlog", ".debug"}


def renameat2(src, dst, flags=0):
    """rename(2) with flags; raises OSError on failure."""
    r = _libc.renameat2(AT_FDCWD, os.fsencode(src), AT_FDCWD, os.fsencode(dst), flags)
    if r != 0:
        e = ctypes.get_errno()
        raise OSError(e, os.strerror(e), src)


def fails_with(expected, fn, *args, **kw):
    """Call fn and check that it raises OSError with errno in `expected` (int or tuple)."""
    expected = expected if isinstance(expected, tuple) else (expected,)
    with pytest.raises(OSError) as info:
        fn(*args, **kw)
    got = info.value.errno
    assert got in expected, \
        f"{fn.__name__}{args}: got {errno.errorcode.get(got, got)}, " \
        f"expected {[errno.errorcode[e] for e in expected]}"
    return info.value


def errno_of(fn, *args, **kw):
    """fn's errno, or 0 when it succeeds."""
    try:
        fn(*args, **kw)
    except OSError as e:
        return e.errno
    return 0


def write_file(path, data, mode="w"):
    with open(path, mode) as f:
        f.write(data)


def read_file(path, mode="r"):
    with open(path, mode) as f:
        return f.read()


def tree_snapshot(root):
    """{relative path: bytes for files, None for dirs} of the real (non-virtual) tree."""
    out = {}
    for dirpath, dirnames, filenames in os.walk(root):
        rel = os.path.relpath(dirpath, root)
        if rel == ".":
            dirnames[:] = [d for d in dirnames if d not in VIRTUAL]
            filenames = [f for f in filenames if f not in VIRTUAL]
        for d in dirnames:
            out[os.path.normpath(os.path.join(rel, d))] = None
        for f in filenames:
            p = os.path.join(dirpath, f)
            if os.path.islink(p):
                continue
            with open(p, "rb") as fh:
                out[os.path.normpath(os.path.join(rel, f))] = fh.read()
    return out


def as_user_call(user, fn, *args):
    """Run fn(*args) in a forked child with uid/gid `user` and no supplementary groups.

    Returns ("ok", value) or ("err", errno); other exceptions come back as ("exc", repr).
    """
    uid, gid = user
    rfd, wfd = os.pipe()
    pid = os.fork()
    if pid == 0:
        try:
            os.close(rfd)
            try:
                os.setgroups([])
                os.setgid(gid)
                os.setuid(uid)
                result = ("ok", fn(*args))
            except OSError as e:
                result = ("err", e.errno)
            except BaseException as e:  # noqa: BLE001 - reported to the parent
                result = ("exc", repr(e))
            data = pickle.dumps(result)
            os.write(wfd, data)
        finally:
            os._exit(0)
    os.close(wfd)
    chunks = []
    while True:
        b = os.read(rfd, 65536)
        if not b:
            break
        chunks.append(b)
    os.close(rfd)
    os.waitpid(pid, 0)
    result = pickle.loads(b"".join(chunks))
    if result[0] == "exc":
        raise AssertionError(f"child failed: {result[1]}")
    return result


def user_errno(user, fn, *args):
    """errno of fn(*args) run as `user`, 0 on success."""
    kind, value = as_user_call(user, fn, *args)
    return value if kind == "err" else 0


def run_children(n, fn):
    """Fork n children running fn(i); asserts each exits 0."""
    pids = []
    for i in range(n):
        pid = os.fork()
        if pid == 0:
            code = 1
            try:
                fn(i)
                code = 0
            finally:
                os._exit(code)
        pids.append(pid)
    codes = [os.waitpid(p, 0)[1] for p in pids]
    assert codes == [0] * n, f"child exit statuses: {codes}"
