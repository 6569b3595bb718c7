"""Open descriptors (droverfs(8), SEMANTICS): what a descriptor with writes
not yet committed sees of its own file (fstat, lseek, copy_file_range), a
descriptor whose write failed commits nothing, and a file removed or
replaced while open keeps working through its descriptors."""
import errno
import json
import os
import subprocess
import time

import pytest

from fsutil import fails_with, read_file, write_file

MIB = 1 << 20


def tree_version(cfs):
    return json.loads(read_file(cfs.path(".version")))["tree"]


# --- the writer's size: fstat, lseek(SEEK_END), copy_file_range ---------------


def test_seek_end_after_fstat_new_file(cfs):
    """The reproduction of issue 11: write 100 bytes, fstat, lseek(SEEK_END),
    write "END": 103 bytes, not "END" over the start."""
    path = cfs.path("f")
    fd = os.open(path, os.O_RDWR | os.O_CREAT | os.O_TRUNC, 0o640)
    try:
        os.write(fd, b"x" * 100)
        assert os.fstat(fd).st_size == 100
        assert os.lseek(fd, 0, os.SEEK_END) == 100
        os.write(fd, b"END")
    finally:
        os.close(fd)
    assert read_file(path) == "x" * 100 + "END"


def test_seek_end_after_fstat_existing_file(cfs, other):
    path = cfs.path("f")
    write_file(path, "old content\n")
    fd = os.open(path, os.O_RDWR)
    try:
        os.lseek(fd, 0, os.SEEK_END)
        os.write(fd, b"y" * 50)
        assert os.fstat(fd).st_size == 62
        assert os.stat(path).st_size == 62  # the writing process, by name too
        # another process sees the committed size; that answer does not
        # reset what the writer's descriptor sees
        assert other(path) == 12
        assert os.lseek(fd, 0, os.SEEK_END) == 62
        os.write(fd, b"END")
        assert os.fstat(fd).st_size == 65
    finally:
        os.close(fd)
    assert read_file(path) == "old content\n" + "y" * 50 + "END"
    assert other(path) == 65


def test_writer_size_seen_by_its_other_threads(cfs, other):
    """FUSE names the thread that asks; the process is what counts."""
    import threading
    path = cfs.path("f")
    write_file(path, "abc")
    fd = os.open(path, os.O_RDWR | os.O_APPEND)
    try:
        os.write(fd, b"defg")
        seen = []
        t = threading.Thread(target=lambda: seen.append(os.fstat(fd).st_size))
        t.start()
        t.join()
        assert seen == [7]
        assert other(path) == 3
    finally:
        os.close(fd)


def test_stdio_append_after_fstat(cfs):
    """stdio calls fstat on its own: fopen("r+"), write, fseek(END), write."""
    path = cfs.path("f")
    write_file(path, "abc")
    with open(path, "r+b") as f:
        f.seek(0, os.SEEK_END)
        f.write(b"def")
        f.flush()
        os.fstat(f.fileno())
        f.seek(0, os.SEEK_END)
        assert f.tell() == 6
        f.write(b"ghi")
    assert read_file(path) == "abcdefghi"


def test_futimens_keeps_the_writers_size(cfs):
    """A setattr reply (here: the mtime) must not reset the writer's size either."""
    path = cfs.path("f")
    fd = os.open(path, os.O_RDWR | os.O_CREAT | os.O_TRUNC, 0o640)
    try:
        os.write(fd, b"z" * 40)
        os.utime(fd, (1000, 1000))
        assert os.lseek(fd, 0, os.SEEK_END) == 40
        assert os.fstat(fd).st_size == 40
        os.truncate(fd, 30)
        assert os.fstat(fd).st_size == 30
        assert os.lseek(fd, 0, os.SEEK_END) == 30
    finally:
        os.close(fd)
    assert read_file(path) == "z" * 30


def test_copy_file_range_after_ftruncate_new_file(cfs):
    """The reproduction of issue 11: 100 bytes, ftruncate 80, copy 50 bytes
    from 0 to 80: 50 copied, 130 bytes."""
    path = cfs.path("f")
    data = bytes(range(100))
    fd = os.open(path, os.O_RDWR | os.O_CREAT | os.O_TRUNC, 0o640)
    try:
        os.write(fd, data)
        os.ftruncate(fd, 80)
        assert os.copy_file_range(fd, fd, 50, 0, 80) == 50
        assert os.fstat(fd).st_size == 130
    finally:
        os.close(fd)
    assert read_file(path, "rb") == data[:80] + data[:50]


def test_copy_file_range_existing_file(cfs):
    path = cfs.path("f")
    write_file(path, "0123456789")
    fd = os.open(path, os.O_RDWR)
    try:
        os.ftruncate(fd, 5)
        assert os.copy_file_range(fd, fd, 5, 0, 5) == 5
    finally:
        os.close(fd)
    assert read_file(path) == "0123401234"


# --- a failed write commits nothing -------------------------------------------


def test_oversized_single_write_keeps_old_content(cfs):
    """A 5 MiB write() to a 12-byte config (limit 4 MiB): whatever write()
    returns, the descriptor is failed: the next write and close report EFBIG
    and the file keeps its old content."""
    path = cfs.path("x.conf")
    write_file(path, "old content\n")
    before = tree_version(cfs)
    fd = os.open(path, os.O_WRONLY | os.O_TRUNC)
    try:
        try:
            n = os.write(fd, b"a" * (5 * MIB))
        except OSError as e:
            assert e.errno == errno.EFBIG
        else:
            # it reached droverfs as 1 MiB pieces, the last ones refused
            assert n < 5 * MIB
            fails_with(errno.EFBIG, os.write, fd, b"a")
        fails_with(errno.EFBIG, os.write, fd, b"a")
        fails_with(errno.EFBIG, os.ftruncate, fd, 1)
    finally:
        fails_with(errno.EFBIG, os.close, fd)
    assert read_file(path) == "old content\n"
    assert tree_version(cfs) == before


def test_write_crossing_the_limit_in_one_piece_fails_whole(make_cfs):
    """A write that reaches droverfs in one piece (up to 1 MiB) and would cross
    the limit fails with EFBIG outright; nothing of the descriptor lands."""
    fs = make_cfs(extra_args=["--max-file-size", "64K"])
    path = fs.path("x.conf")
    write_file(path, "old\n")
    fd = os.open(path, os.O_WRONLY | os.O_APPEND)
    try:
        assert os.write(fd, b"b" * 1000) == 1000
        fails_with(errno.EFBIG, os.write, fd, b"c" * (100 * 1024))
        fails_with(errno.EFBIG, os.write, fd, b"d")  # the descriptor is failed
    finally:
        fails_with(errno.EFBIG, os.close, fd)
    assert read_file(path) == "old\n"


def test_cat_too_big_into_config_leaves_it(cfs, tmp_path):
    """`cat 5M > x.conf` reports "File too large" and x.conf is untouched; a
    new file that failed so is not created."""
    big = tmp_path / "5M"
    big.write_bytes(b"q" * (5 * MIB))
    write_file(cfs.path("x.conf"), "keep me\n")
    for name in ("x.conf", "new.conf"):
        proc = subprocess.run(["sh", "-c", f'cat "$1" > "$2"', "sh", str(big), cfs.path(name)],
                              capture_output=True, text=True)
        assert proc.returncode != 0
        assert "too large" in proc.stderr
    assert read_file(cfs.path("x.conf")) == "keep me\n"
    assert not os.path.exists(cfs.path("new.conf"))


def test_shell_redirect_to_new_file_is_one_change(cfs):
    """`echo x > f` closes a duplicate of the descriptor before it writes;
    that close commits nothing (the file is created once, with its content)."""
    with cfs.client() as w:
        w.watch("r")
        subprocess.run(["sh", "-c", 'echo hello > "$1"; echo again > "$1"; : > "$1"; '
                        'rm "$1"', "sh", cfs.path("r")], check=True)
        evs = []
        while not evs or evs[-1]["op"] != "unlink":
            evs.append(w.next_event())
    assert [e["op"] for e in evs] == ["create", "write", "write", "unlink"]


def test_truncating_redirect_without_writes_commits_at_close(cfs, other):
    write_file(cfs.path("f"), "something\n")
    subprocess.run(["sh", "-c", ': > "$1"', "sh", cfs.path("f")], check=True)
    assert other(cfs.path("f")) == 0


# --- removed or replaced while open -------------------------------------------


def test_new_file_unlinked_while_open(cfs):
    """The anonymous temporary file: create, write, unlink, go on using it."""
    path = cfs.path("tmp")
    before = tree_version(cfs)
    fd = os.open(path, os.O_RDWR | os.O_CREAT | os.O_EXCL, 0o600)
    try:
        os.write(fd, b"data")
        os.unlink(path)
        assert not os.path.exists(path)
        st = os.fstat(fd)
        assert (st.st_size, st.st_nlink) == (4, 0)
        assert os.pread(fd, 100, 0) == b"data"
        os.ftruncate(fd, 2)
        os.pwrite(fd, b"ta", 2)
        assert os.pread(fd, 100, 0) == b"data"
        os.write(fd, b"-more")
        assert os.fstat(fd).st_size == 9
        assert os.lseek(fd, 0, os.SEEK_END) == 9
        fd2 = os.open(path, os.O_RDWR | os.O_CREAT | os.O_EXCL, 0o600)  # the name is free
        os.close(fd2)
        os.unlink(path)
    finally:
        os.close(fd)  # no error
    assert not os.path.exists(path)
    # nothing of the first file ever entered the tree (the second: create, unlink)
    assert tree_version(cfs) == before + 2


def test_existing_file_unlinked_while_open(cfs):
    path = cfs.path("f")
    write_file(path, "committed\n")
    fd = os.open(path, os.O_RDWR)
    reader = os.open(path, os.O_RDONLY)
    try:
        os.pwrite(fd, b"CHANGED", 0)
        os.unlink(path)
        st = os.fstat(fd)
        assert (st.st_size, st.st_nlink) == (10, 0)
        assert os.pread(fd, 100, 0) == b"CHANGEDed\n"
        os.ftruncate(fd, 3)
        assert os.fstat(fd).st_size == 3
        os.write(fd, b"xyz")
        assert os.pread(reader, 100, 0) == b"committed\n"
        assert os.fstat(reader).st_nlink == 0
        os.fsync(fd)  # nothing to commit it to: no error
    finally:
        os.close(reader)
        os.close(fd)  # no error
    assert not os.path.exists(path)


@pytest.mark.parametrize("new", [False, True], ids=["existing", "being-created"])
def test_file_replaced_by_rename_while_open(cfs, new):
    """A save by temp file + rename over a file another descriptor is still
    writing: that descriptor goes on working and its close succeeds; its
    writes belonged to the replaced file, so they are gone with it. The same
    for a file still being created here (its create goes first: the rename
    must replace something)."""
    path = cfs.path("a.conf")
    if new:
        fd = os.open(path, os.O_RDWR | os.O_CREAT | os.O_TRUNC, 0o640)
    else:
        write_file(path, "version 1\n")
        fd = os.open(path, os.O_RDWR)
    try:
        os.pwrite(fd, b"mine\n", 0)
        write_file(cfs.path("a.tmp"), "version 2\n")
        os.rename(cfs.path("a.tmp"), path)
        st = os.fstat(fd)
        assert (st.st_size, st.st_nlink) == (5 if new else 10, 0)
        os.ftruncate(fd, 5)
        assert os.lseek(fd, 0, os.SEEK_END) == 5
        os.write(fd, b"more")
        assert os.pread(fd, 100, 0) == b"mine\nmore"
    finally:
        os.close(fd)
    assert read_file(path) == "version 2\n"


def test_replaced_while_open_with_nothing_written(cfs):
    path = cfs.path("a.conf")
    write_file(path, "version 1\n")
    with open(path, "rb") as r:
        write_file(cfs.path("a.tmp"), "version 2\n")
        os.rename(cfs.path("a.tmp"), path)
        assert os.fstat(r.fileno()).st_nlink == 0
        assert r.read() == b"version 1\n"
    assert read_file(path) == "version 2\n"


def test_directory_removed_while_open(cfs):
    """An open directory removed by another process: fstat on its descriptor
    answers as on a local file system (a directory with no links), not
    ESTALE; glibc's opendir() itself calls fstat, so a readdir racing an
    rmdir failed with "Stale file handle" (found by treestress)."""
    path = cfs.path("d")
    os.mkdir(path)
    fd = os.open(path, os.O_RDONLY | os.O_DIRECTORY)
    try:
        subprocess.run(["rmdir", path], check=True)
        st = os.fstat(fd)
        assert os.path.stat.S_ISDIR(st.st_mode) and st.st_nlink == 0
        assert os.listdir(fd) == []
    finally:
        os.close(fd)
    assert not os.path.exists(path)
    os.mkdir(path)  # the name is free again
    assert os.stat(path).st_nlink >= 2


CHURN_SAVER = r"""
import os, sys, time
path, n = sys.argv[1], int(sys.argv[2])
end = time.monotonic() + float(sys.argv[3])
while time.monotonic() < end:
    tmp = f"{path}.tmp.{n}"
    with open(tmp, "w") as f:
        f.write("x" * 100)
    os.rename(tmp, path)
"""

CHURN_READER = r"""
import errno, os, sys, time
path = sys.argv[1]
end = time.monotonic() + float(sys.argv[2])
opens = 0
while time.monotonic() < end:
    for flags in (os.O_RDONLY, os.O_WRONLY):
        try:
            fd = os.open(path, flags)
        except FileNotFoundError:
            continue
        try:
            os.fstat(fd)
            if flags == os.O_RDONLY:
                os.read(fd, 4096)
        finally:
            os.close(fd)
        opens += 1
print(opens)
"""


def test_open_while_the_name_is_replaced_over_and_over(cfs):
    """Saves by temporary file and rename, over and over, from two
    processes, while two others open the name (to read and to write) and
    fstat it: no "Stale file handle", though the inode the kernel looked up
    is gone by the time it asks us to open it (fuse_departed.h). The kernel
    retries an ESTALE open only once; under churn the second inode was often
    gone too."""
    path = cfs.path("churn.conf")
    write_file(path, "x" * 100)
    secs = "4"
    savers = [subprocess.Popen(["python3", "-c", CHURN_SAVER, path, str(n), secs])
              for n in range(2)]
    readers = [subprocess.Popen(["python3", "-c", CHURN_READER, path, secs],
                                stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
               for _ in range(2)]
    outs = [r.communicate(timeout=60) for r in readers]
    for s in savers:
        assert s.wait(timeout=60) == 0
    for r, (out, err) in zip(readers, outs):
        assert r.returncode == 0, err
        assert int(out) > 0


def test_reopen_of_a_replaced_file_through_proc(cfs):
    """A file replaced while open here, reopened through /proc/self/fd, names
    that file, not its name: the reopen fails with ESTALE (droverfs(8)), it
    does not open, or truncate, what the name holds now. Past the short
    window in which an open of a gone inode may be a path's (fuse_io.c)."""
    path = cfs.path("r.conf")
    write_file(path, "old\n")
    fd = os.open(path, os.O_RDONLY)
    try:
        write_file(cfs.path("r.tmp"), "new content\n")
        os.rename(cfs.path("r.tmp"), path)
        time.sleep(0.7)
        for flags in (os.O_RDONLY, os.O_WRONLY | os.O_TRUNC):
            with pytest.raises(OSError) as e:
                os.close(os.open(f"/proc/self/fd/{fd}", flags))
            assert e.value.errno == errno.ESTALE
        assert os.pread(fd, 100, 0) == b"old\n"
    finally:
        os.close(fd)
    assert read_file(path) == "new content\n"

