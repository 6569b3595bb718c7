"""Ordinary file-system operations on a mounted droverfs, as tools and editors do them."""
import errno
import os
import subprocess

from fsutil import (RENAME_NOREPLACE, fails_with, read_file, renameat2, run_children,
                    tree_snapshot, write_file)


def sh(cmd, cwd=None):
    return subprocess.run(["sh", "-c", cmd], cwd=cwd, check=True, capture_output=True, text=True)


def test_cp_file_and_tree(cfs, tmp_path):
    """cp of a file and cp -r of a directory bring identical content into the mount."""
    (tmp_path / "src" / "sub").mkdir(parents=True)
    (tmp_path / "src" / "a.cfg").write_text("alpha\n")
    (tmp_path / "src" / "sub" / "b.cfg").write_bytes(os.urandom(3000))
    sh(f"cp {tmp_path}/src/a.cfg {cfs.path('a.cfg')}")
    sh(f"cp -r {tmp_path}/src {cfs.path('tree')}")
    assert read_file(cfs.path("a.cfg")) == "alpha\n"
    assert read_file(cfs.path("tree/a.cfg")) == "alpha\n"
    assert read_file(cfs.path("tree/sub/b.cfg"), "rb") == (tmp_path / "src/sub/b.cfg").read_bytes()


def test_mv_file(cfs):
    """mv moves a file to another directory and name; the old name is gone."""
    write_file(cfs.path("old.cfg"), "content\n")
    os.mkdir(cfs.path("d"))
    sh(f"mv {cfs.path('old.cfg')} {cfs.path('d/new.cfg')}")
    assert not os.path.exists(cfs.path("old.cfg"))
    assert read_file(cfs.path("d/new.cfg")) == "content\n"


def test_rm_r(cfs):
    """rm -r removes a whole tree."""
    os.makedirs(cfs.path("t/a/b"))
    for p in ("t/x", "t/a/y", "t/a/b/z"):
        write_file(cfs.path(p), p)
    sh(f"rm -r {cfs.path('t')}")
    assert not os.path.exists(cfs.path("t"))
    assert "t" not in os.listdir(cfs.mnt)


def test_mkdir_p(cfs):
    """mkdir -p creates every level, and is a no-op when run again."""
    sh(f"mkdir -p {cfs.path('a/b/c/d')}")
    sh(f"mkdir -p {cfs.path('a/b/c/d')}")
    assert os.path.isdir(cfs.path("a/b/c/d"))


def test_sed_in_place(cfs):
    """sed -i (temp file + rename) edits a file in place."""
    write_file(cfs.path("storage.cfg"), "dir: local\n\tpath /var/lib/vz\n")
    sh(f"sed -i 's#/var/lib/vz#/srv/vz#' {cfs.path('storage.cfg')}")
    assert read_file(cfs.path("storage.cfg")) == "dir: local\n\tpath /srv/vz\n"
    assert [n for n in os.listdir(cfs.mnt) if n.startswith("sed")] == []


def test_editor_style_save(cfs):
    """Proxmox-style save: O_CREAT|O_EXCL temp file, write, close, rename over the target."""
    target = cfs.path("datacenter.cfg")
    write_file(target, "keyboard: en-us\n")
    tmp = f"{target}.tmp.{os.getpid()}"
    fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o640)
    os.write(fd, b"keyboard: de\n")
    os.close(fd)
    os.rename(tmp, target)
    assert read_file(target) == "keyboard: de\n"
    assert not os.path.exists(tmp)


def test_editor_temp_exclusive(cfs):
    """O_CREAT|O_EXCL on an existing temp file fails with EEXIST."""
    tmp = cfs.path("x.tmp.1")
    write_file(tmp, "a")
    fails_with(errno.EEXIST, os.open, tmp, os.O_WRONLY | os.O_CREAT | os.O_EXCL)


def test_shell_append(cfs):
    """Shell >> appends to the end of a file."""
    sh(f"echo one > {cfs.path('f')}; echo two >> {cfs.path('f')}; echo three >> {cfs.path('f')}")
    assert read_file(cfs.path("f")) == "one\ntwo\nthree\n"


def test_truncate_command(cfs):
    """truncate -s shrinks and grows (with zeros) a file."""
    write_file(cfs.path("f"), "0123456789")
    sh(f"truncate -s 4 {cfs.path('f')}")
    assert read_file(cfs.path("f")) == "0123"
    sh(f"truncate -s 6 {cfs.path('f')}")
    assert read_file(cfs.path("f"), "rb") == b"0123\0\0"


def test_os_truncate(cfs):
    """os.truncate by path changes the size seen by stat and read."""
    write_file(cfs.path("f"), "abcdefgh")
    os.truncate(cfs.path("f"), 3)
    assert os.stat(cfs.path("f")).st_size == 3
    assert read_file(cfs.path("f")) == "abc"


def test_ftruncate_on_writer(cfs):
    """ftruncate on an open writer, then more writes, commit the final content."""
    write_file(cfs.path("f"), "abcdefgh")
    fd = os.open(cfs.path("f"), os.O_RDWR)
    os.ftruncate(fd, 2)
    os.pwrite(fd, b"XY", 2)
    os.close(fd)
    assert read_file(cfs.path("f")) == "abXY"


def test_open_trunc(cfs):
    """O_TRUNC empties a file even when nothing is written."""
    write_file(cfs.path("f"), "something")
    os.close(os.open(cfs.path("f"), os.O_WRONLY | os.O_TRUNC))
    assert os.stat(cfs.path("f")).st_size == 0
    assert read_file(cfs.path("f")) == ""


def test_utime_sets_mtime(cfs):
    """os.utime sets the modification time."""
    write_file(cfs.path("f"), "x")
    os.utime(cfs.path("f"), (1_600_000_000, 1_600_000_000))
    assert os.stat(cfs.path("f")).st_mtime == 1_600_000_000
    os.mkdir(cfs.path("d"))
    os.utime(cfs.path("d"), (1_500_000_000, 1_500_000_000))
    assert os.stat(cfs.path("d")).st_mtime == 1_500_000_000


def test_rename_noreplace(cfs):
    """renameat2(RENAME_NOREPLACE) onto an existing name fails with EEXIST; both stay."""
    write_file(cfs.path("a"), "A")
    write_file(cfs.path("b"), "B")
    fails_with(errno.EEXIST, renameat2, cfs.path("a"), cfs.path("b"), RENAME_NOREPLACE)
    assert read_file(cfs.path("a")) == "A"
    assert read_file(cfs.path("b")) == "B"


def test_rename_noreplace_to_free_name(cfs):
    """renameat2(RENAME_NOREPLACE) to a free name moves the file."""
    write_file(cfs.path("a"), "A")
    renameat2(cfs.path("a"), cfs.path("c"), RENAME_NOREPLACE)
    assert read_file(cfs.path("c")) == "A"
    assert not os.path.exists(cfs.path("a"))


def test_rename_dir_keeps_content(cfs):
    """Renaming a non-empty directory keeps everything below it."""
    os.makedirs(cfs.path("d1/sub"))
    write_file(cfs.path("d1/f"), "F")
    write_file(cfs.path("d1/sub/g"), "G")
    os.mkdir(cfs.path("other"))
    os.rename(cfs.path("d1"), cfs.path("other/d2"))
    assert read_file(cfs.path("other/d2/f")) == "F"
    assert read_file(cfs.path("other/d2/sub/g")) == "G"
    assert not os.path.exists(cfs.path("d1"))


def test_rename_dir_into_itself(cfs):
    """Moving a directory below itself fails with EINVAL."""
    os.makedirs(cfs.path("d/e"))
    fails_with(errno.EINVAL, os.rename, cfs.path("d"), cfs.path("d/e/d"))


def test_rmdir_not_empty(cfs):
    """rmdir of a non-empty directory fails with ENOTEMPTY."""
    os.mkdir(cfs.path("d"))
    write_file(cfs.path("d/f"), "x")
    fails_with(errno.ENOTEMPTY, os.rmdir, cfs.path("d"))
    assert os.path.exists(cfs.path("d/f"))


def test_unlink_dir(cfs):
    """unlink of a directory fails with EISDIR."""
    os.mkdir(cfs.path("d"))
    fails_with(errno.EISDIR, os.unlink, cfs.path("d"))


def test_readdir_lists_everything(cfs):
    """A directory with 500 entries lists all of them, once each."""
    os.mkdir(cfs.path("many"))
    names = {f"file-{i:04d}.cfg" for i in range(450)} | {f"dir-{i}" for i in range(50)}
    for n in names:
        if n.startswith("dir"):
            os.mkdir(cfs.path(f"many/{n}"))
        else:
            write_file(cfs.path(f"many/{n}"), n)
    listed = os.listdir(cfs.path("many"))
    assert len(listed) == len(names)
    assert set(listed) == names


def test_statfs(cfs):
    """statvfs: name length 255, blocks and files follow the limits and the usage."""
    before = os.statvfs(cfs.mnt)
    assert before.f_namemax == 255
    assert before.f_bsize * before.f_blocks == 512 << 20
    assert before.f_files == 1_000_000
    write_file(cfs.path("big"), "x" * (400 * 1024))
    os.mkdir(cfs.path("d"))
    after = os.statvfs(cfs.mnt)
    assert after.f_bfree == before.f_bfree - 100
    assert after.f_bavail == after.f_bfree
    assert after.f_ffree == before.f_ffree - 2


def test_chunked_write_reads_back(cfs):
    """A 1 MiB random file written in 4 KiB chunks reads back byte for byte."""
    data = os.urandom(1 << 20)
    with open(cfs.path("blob"), "wb", buffering=0) as f:
        for off in range(0, len(data), 4096):
            assert f.write(data[off:off + 4096]) == 4096
    assert os.stat(cfs.path("blob")).st_size == len(data)
    assert read_file(cfs.path("blob"), "rb") == data


def test_content_visible_only_after_close(cfs, other):
    """While a writer has not closed, other readers see the old content; afterwards the new."""
    write_file(cfs.path("f"), "old\n")
    assert read_file(cfs.path("f")) == "old\n"  # cached by the kernel now
    w = open(cfs.path("f"), "w")
    try:
        w.write("new content\n")
        w.flush()  # reaches droverfs as write(), not close
        assert read_file(cfs.path("f")) == "old\n"
        assert other(cfs.path("f")) == 4
    finally:
        w.close()
    assert read_file(cfs.path("f")) == "new content\n"


def test_writer_size_private_until_close(cfs, other):
    """The writer sees its own size (lseek SEEK_END, fstat, stat); others see the
    committed size."""
    with open(cfs.path("f"), "wb") as f:
        f.write(b"old")
    fd = os.open(cfs.path("f"), os.O_WRONLY | os.O_TRUNC)
    try:
        os.write(fd, b"x" * 12345)
        assert os.lseek(fd, 0, os.SEEK_END) == 12345
        assert os.fstat(fd).st_size == 12345
        # another process, right after: the whole old file, size included
        assert other(cfs.path("f")) == 3
        # a reader in the writing process too: the whole old content
        with open(cfs.path("f"), "rb") as r:
            assert r.read() == b"old"
        assert os.lseek(fd, 0, os.SEEK_END) == 12345
    finally:
        os.close(fd)
    assert os.stat(cfs.path("f")).st_size == 12345


def _file_content(proc, i):
    return f"writer {proc} file {i}\n".encode() * (i % 7 + 1)


def test_concurrent_writers_distinct_files(cfs):
    """8 processes each writing 100 files: all 800 exist with the right content."""
    os.mkdir(cfs.path("par"))

    def writer(p):
        for i in range(100):
            with open(cfs.path(f"par/p{p}-{i}"), "wb") as f:
                f.write(_file_content(p, i))

    run_children(8, writer)
    assert len(os.listdir(cfs.path("par"))) == 800
    for p in range(8):
        for i in range(100):
            assert read_file(cfs.path(f"par/p{p}-{i}"), "rb") == _file_content(p, i)


def test_concurrent_appends_one_file(cfs):
    """8 shells appending 50 lines each with >> to one file: 400 whole lines, none lost."""
    log = cfs.path("shared.log")
    write_file(log, "")
    procs = [subprocess.Popen(
        ["sh", "-c", f'for i in $(seq 1 50); do echo "proc-{p}-line-$i-padding-padding" >> {log}; done'])
        for p in range(8)]
    assert [p.wait(60) for p in procs] == [0] * 8
    lines = read_file(log).splitlines()
    assert len(lines) == 400
    expected = {f"proc-{p}-line-{i}-padding-padding" for p in range(8) for i in range(1, 51)}
    assert set(lines) == expected
    for p in range(8):  # each writer's lines stay in its own order
        mine = [ln for ln in lines if ln.startswith(f"proc-{p}-")]
        assert mine == [f"proc-{p}-line-{i}-padding-padding" for i in range(1, 51)]


def test_restart_keeps_tree(cfs):
    """After stop and start, the tree (paths and contents) is identical."""
    os.makedirs(cfs.path("nodes/node1/qemu-server"), exist_ok=True)
    write_file(cfs.path("nodes/node1/qemu-server/100.conf"), "memory: 2048\n")
    os.makedirs(cfs.path("a/b/c"))
    write_file(cfs.path("a/b/c/deep"), os.urandom(5000), "wb")
    write_file(cfs.path("priv/secret"), "s3cret\n")
    write_file(cfs.path("empty"), "")
    os.rename(cfs.path("empty"), cfs.path("a/empty"))
    os.unlink(cfs.path("a/empty"))
    before = tree_snapshot(cfs.mnt)
    assert cfs.stop() == 0
    cfs.start()
    assert tree_snapshot(cfs.mnt) == before


def test_touch(cfs):
    """touch creates a file, and on an existing file sets the time (touch -d)."""
    sh(f"touch {cfs.path('t')}")
    assert os.stat(cfs.path("t")).st_size == 0
    sh(f"touch -d @1600000000 {cfs.path('t')}")
    assert os.stat(cfs.path("t")).st_mtime == 1600000000


def test_write_past_end_fills_zeros(cfs):
    """pwrite beyond the end of a file leaves zeros in the gap."""
    fd = os.open(cfs.path("sparse"), os.O_WRONLY | os.O_CREAT, 0o640)
    os.pwrite(fd, b"end", 100)
    os.close(fd)
    assert read_file(cfs.path("sparse"), "rb") == b"\0" * 100 + b"end"


def test_overwrite_middle(cfs):
    """pwrite in the middle of an existing file replaces only those bytes."""
    write_file(cfs.path("f"), "0123456789")
    fd = os.open(cfs.path("f"), os.O_WRONLY)
    os.pwrite(fd, b"ab", 4)
    os.close(fd)
    assert read_file(cfs.path("f")) == "0123ab6789"


def test_same_size_rewrite_seen(cfs):
    """A rewrite with the same size is seen by the next reader (no stale cache)."""
    write_file(cfs.path("f"), "aaaa")
    assert read_file(cfs.path("f")) == "aaaa"
    write_file(cfs.path("f"), "bbbb")
    assert read_file(cfs.path("f")) == "bbbb"


def test_reader_open_during_save_keeps_old(cfs):
    """A reader that opened before an editor-style save keeps reading the old content."""
    write_file(cfs.path("f"), "old content\n")
    with open(cfs.path("f")) as r:
        write_file(cfs.path("f.tmp"), "new content\n")
        os.rename(cfs.path("f.tmp"), cfs.path("f"))
        assert r.read() == "old content\n"
    assert read_file(cfs.path("f")) == "new content\n"


def test_rename_file_onto_dir(cfs):
    """Renaming a file onto a directory fails with EISDIR."""
    write_file(cfs.path("f"), "x")
    os.mkdir(cfs.path("d"))
    fails_with(errno.EISDIR, os.rename, cfs.path("f"), cfs.path("d"))


def test_rename_dir_onto_file(cfs):
    """Renaming a directory onto a file fails with ENOTDIR."""
    write_file(cfs.path("f"), "x")
    os.mkdir(cfs.path("d"))
    fails_with(errno.ENOTDIR, os.rename, cfs.path("d"), cfs.path("f"))


def test_rename_dir_onto_nonempty_dir(cfs):
    """Renaming a directory onto a non-empty one fails with ENOTEMPTY (or EEXIST)."""
    os.mkdir(cfs.path("d"))
    os.mkdir(cfs.path("e"))
    write_file(cfs.path("e/x"), "x")
    fails_with((errno.ENOTEMPTY, errno.EEXIST), os.rename, cfs.path("d"), cfs.path("e"))
    assert os.path.exists(cfs.path("e/x"))


def test_rename_dir_onto_empty_dir(cfs):
    """Renaming a directory onto an empty one replaces it."""
    os.mkdir(cfs.path("d"))
    write_file(cfs.path("d/x"), "x")
    os.mkdir(cfs.path("e"))
    os.rename(cfs.path("d"), cfs.path("e"))
    assert read_file(cfs.path("e/x")) == "x"
    assert not os.path.exists(cfs.path("d"))


def test_missing_parent(cfs):
    """Creating in a missing directory fails with ENOENT; under a file with ENOTDIR."""
    write_file(cfs.path("f"), "x")
    fails_with(errno.ENOENT, open, cfs.path("nodir/x"), "w")
    fails_with(errno.ENOTDIR, open, cfs.path("f/x"), "w")


def test_restart_keeps_mtime(cfs):
    """File and directory modification times survive a restart."""
    write_file(cfs.path("f"), "x")
    os.mkdir(cfs.path("d"))
    os.utime(cfs.path("f"), (1_600_000_000, 1_600_000_000))
    os.utime(cfs.path("d"), (1_500_000_000, 1_500_000_000))
    assert cfs.stop() == 0
    cfs.start()
    assert os.stat(cfs.path("f")).st_mtime == 1_600_000_000
    assert os.stat(cfs.path("d")).st_mtime == 1_500_000_000


def test_commit_midway_then_append(cfs):
    """O_APPEND: a flush mid-way (close of a dup) commits; later appends are not doubled."""
    write_file(cfs.path("f"), "0")
    fd = os.open(cfs.path("f"), os.O_WRONLY | os.O_APPEND)
    os.write(fd, b"a")
    os.close(os.dup(fd))
    assert read_file(cfs.path("f")) == "0a"
    os.write(fd, b"b")
    os.close(fd)
    assert read_file(cfs.path("f")) == "0ab"


def test_commit_midway_then_write(cfs):
    """A flush mid-way commits; later writes at an offset build on it."""
    fd = os.open(cfs.path("f"), os.O_WRONLY | os.O_CREAT, 0o640)
    os.write(fd, b"x")
    os.close(os.dup(fd))
    assert read_file(cfs.path("f")) == "x"
    os.pwrite(fd, b"y", 1)
    os.close(fd)
    assert read_file(cfs.path("f")) == "xy"


def test_fsync_commits(cfs):
    """fsync on a writer commits: other readers see the content before close."""
    fd = os.open(cfs.path("f"), os.O_WRONLY | os.O_CREAT, 0o640)
    try:
        os.write(fd, b"synced")
        os.fsync(fd)
        assert read_file(cfs.path("f")) == "synced"
    finally:
        os.close(fd)


def test_read_own_writes(cfs):
    """O_RDWR and O_RDWR|O_APPEND handles read back their own uncommitted writes."""
    write_file(cfs.path("f"), "hello")
    fd = os.open(cfs.path("f"), os.O_RDWR)
    os.write(fd, b"J")
    assert os.pread(fd, 100, 0) == b"Jello"
    os.close(fd)
    fd = os.open(cfs.path("f"), os.O_RDWR | os.O_APPEND)
    os.write(fd, b" world")
    assert os.pread(fd, 100, 0) == b"Jello world"
    os.close(fd)
    assert read_file(cfs.path("f")) == "Jello world"
