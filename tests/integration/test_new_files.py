"""New files: created in the tree by one operation, with their content, when
their creator first closes (or fsyncs) them (droverfs(8), "New files").
Until then this node sees them by name (stat, ls, open) as empty files.
That holds for opens with O_TRUNC, O_APPEND or O_EXCL; a plain O_CREAT,
which keeps whatever another node may create meanwhile, creates at open."""
import errno
import os
import subprocess

from fsutil import fails_with, read_file, write_file


def test_new_file_is_one_change(cfs):
    with cfs.client() as w:
        w.watch("d")  # everything under d, and d itself
        os.mkdir(cfs.path("d"))
        with open(cfs.path("d/f"), "w") as f:
            f.write("hello\n")
            f.flush()
        os.unlink(cfs.path("d/f"))
        evs = []
        while not evs or evs[-1]["op"] != "unlink":
            evs.append(w.next_event())
    assert [(e["op"], e["path"]) for e in evs] == [
        ("mkdir", "d"), ("create", "d/f"), ("unlink", "d/f")]


def test_visible_here_while_written(cfs, other):
    path = cfs.path("f")
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o640)
    try:
        os.write(fd, b"12345")
        # The writing process sees what it wrote, by descriptor and by name.
        assert os.lseek(fd, 0, os.SEEK_END) == 5
        assert os.stat(path).st_size == 5
        # Seen by name on this node by others, empty: nothing is committed yet.
        assert other(path) == 0
        assert os.lseek(fd, 0, os.SEEK_END) == 5
        assert "f" in os.listdir(cfs.mnt)
        assert read_file(path) == ""
        # O_EXCL: taken.
        fails_with(errno.EEXIST, os.open, path, os.O_WRONLY | os.O_CREAT | os.O_EXCL)
        # A directory of that name: taken.
        fails_with(errno.EEXIST, os.mkdir, path)
    finally:
        os.close(fd)
    assert read_file(path) == "12345"
    assert os.stat(path).st_size == 5
    assert os.listdir(cfs.mnt).count("f") == 1


def test_touch_and_empty_file(cfs):
    subprocess.run(["touch", cfs.path("t")], check=True)
    assert os.stat(cfs.path("t")).st_size == 0
    fd = os.open(cfs.path("e"), os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o640)
    os.close(fd)
    assert read_file(cfs.path("e")) == ""
    with cfs.client() as c:
        assert c.status()["entries"] >= 3


def test_ftruncate_and_utime_before_close(cfs):
    path = cfs.path("f")
    fd = os.open(path, os.O_RDWR | os.O_CREAT | os.O_TRUNC, 0o640)
    os.write(fd, b"abcdef")
    os.ftruncate(fd, 3)
    os.utime(fd, (1500000000, 1500000000))
    os.close(fd)
    assert read_file(path) == "abc"
    assert os.stat(path).st_mtime == 1500000000


def test_fsync_creates_then_close_writes_the_rest(cfs):
    path = cfs.path("f")
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o640)
    os.write(fd, b"one\n")
    os.fsync(fd)
    ino = os.stat(path).st_ino
    assert read_file(path) == "one\n"
    os.write(fd, b"two\n")
    os.close(fd)
    assert read_file(path) == "one\ntwo\n"
    assert os.stat(path).st_ino == ino


def test_append_to_a_new_file(cfs):
    path = cfs.path("log")
    with open(path, "a") as f:
        f.write("1\n")
    with open(path, "a") as f:
        f.write("2\n")
    assert read_file(path) == "1\n2\n"


def test_second_writer_while_being_created(cfs):
    path = cfs.path("f")
    a = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o640)
    os.write(a, b"from a")
    b = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o640)  # waits for the create
    assert read_file(path) == "from a"
    os.write(b, b"from b")
    os.close(a)
    os.close(b)
    assert read_file(path) == "from b"


def test_rename_while_being_written(cfs):
    """The editor pattern with the rename before close: it works, nothing is lost."""
    os.mkdir(cfs.path("d"))
    fd = os.open(cfs.path("d/tmp"), os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o640)
    os.write(fd, b"first ")
    os.rename(cfs.path("d/tmp"), cfs.path("d/final"))
    os.write(fd, b"second")
    os.close(fd)
    assert os.listdir(cfs.path("d")) == ["final"]
    assert read_file(cfs.path("d/final")) == "first second"


def test_rmdir_of_a_directory_being_written_into(cfs):
    os.mkdir(cfs.path("d"))
    fd = os.open(cfs.path("d/f"), os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o640)
    fails_with(errno.ENOTEMPTY, os.rmdir, cfs.path("d"))
    os.close(fd)
    assert os.listdir(cfs.path("d")) == ["f"]


def test_error_only_the_apply_finds_comes_at_close(cfs):
    """Two new configs of one VMID on two nodes' directories: the check at
    open cannot know of the other (not created yet); the second close fails
    and its file is not there."""
    for d in ("nodes/n1/qemu-server", "nodes/n2/qemu-server"):
        os.makedirs(cfs.path(d), exist_ok=True)
    flags = os.O_WRONLY | os.O_CREAT | os.O_TRUNC
    a = os.open(cfs.path("nodes/n1/qemu-server/100.conf"), flags, 0o640)
    b = os.open(cfs.path("nodes/n2/qemu-server/100.conf"), flags, 0o640)
    os.write(a, b"memory: 512\n")
    os.write(b, b"memory: 1024\n")
    os.close(a)
    fails_with(errno.EEXIST, os.close, b)
    assert read_file(cfs.path("nodes/n1/qemu-server/100.conf")) == "memory: 512\n"
    assert not os.path.exists(cfs.path("nodes/n2/qemu-server/100.conf"))
    # ... while a VMID that exists is refused at open, as before
    fails_with(errno.EEXIST, os.open, cfs.path("nodes/n2/qemu-server/100.conf"),
               os.O_WRONLY | os.O_CREAT, 0o640)


def test_limits_checked_at_open_and_write(make_cfs):
    fs = make_cfs(extra_args=["--max-file-size", "4K", "--max-total", "8K"])
    fails_with(errno.EFBIG, write_file, fs.path("big"), "x" * 5000)
    # its descriptor failed: it commits nothing, not even the file
    assert not os.path.exists(fs.path("big"))
    write_file(fs.path("a"), "x" * 4000)
    # The total is checked at close too: two new files that fit alone, not together.
    a = os.open(fs.path("b"), os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o640)
    b = os.open(fs.path("c"), os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o640)
    os.write(a, b"y" * 3000)
    os.write(b, b"z" * 3000)
    os.close(a)
    fails_with(errno.ENOSPC, os.close, b)
    assert not os.path.exists(fs.path("c"))
    assert read_file(fs.path("b")) == "y" * 3000


def test_kill_before_close_leaves_nothing(cfs):
    """A file whose creator never closed it was never in the tree."""
    child = subprocess.Popen(
        ["/usr/bin/python3", "-c",
         "import os, sys, time\n"
         "fd = os.open(sys.argv[1], os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o640)\n"
         "os.write(fd, b'x' * 100)\n"
         "print('written', flush=True)\n"
         "time.sleep(60)\n", cfs.path("half")],
        stdout=subprocess.PIPE, text=True)
    assert child.stdout.readline().strip() == "written"
    cfs.kill()
    child.kill()
    child.wait()
    cfs.start()
    assert not os.path.exists(cfs.path("half"))


def test_plain_o_creat_creates_at_open(cfs):
    """Without O_TRUNC, O_APPEND or O_EXCL the file is created at open (two
    changes), so that writes at an offset land in whatever is there."""
    with cfs.client() as w:
        w.watch("p")
        fd = os.open(cfs.path("p"), os.O_WRONLY | os.O_CREAT, 0o640)
        os.write(fd, b"x")
        os.close(fd)
        os.unlink(cfs.path("p"))
        evs = []
        while not evs or evs[-1]["op"] != "unlink":
            evs.append(w.next_event())
    assert [e["op"] for e in evs] == ["create", "write", "unlink"]


def test_unlink_before_close_then_close_succeeds(cfs):
    path = cfs.path("tmp")
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    os.write(fd, b"scratch")
    os.unlink(path)
    os.close(fd)
    assert not os.path.exists(path)


def test_rename_dir_over_dir_with_a_file_being_written(cfs):
    os.mkdir(cfs.path("a"))
    os.mkdir(cfs.path("b"))
    fd = os.open(cfs.path("b/f"), os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    try:
        os.write(fd, b"data")
        assert os.listdir(cfs.path("b")) == ["f"]
        fails_with(errno.ENOTEMPTY, os.rename, cfs.path("a"), cfs.path("b"))
    finally:
        os.close(fd)
    assert read_file(cfs.path("b/f")) == "data"


def test_many_closes_of_one_append_description_commit_once(cfs):
    """Processes sharing one O_APPEND description of a new file close it at
    once: the bytes land once (one commit on its way at a time)."""
    path = cfs.path("shared")
    script = (
        "import os, sys\n"
        "fd = os.open(sys.argv[1], os.O_WRONLY | os.O_CREAT | os.O_APPEND, 0o640)\n"
        "os.write(fd, b'line\\n')\n"
        "r, w = os.pipe()\n"
        "kids = []\n"
        "for i in range(8):\n"
        "    pid = os.fork()\n"
        "    if pid == 0:\n"
        "        os.close(w); os.read(r, 1); os.close(fd); os._exit(0)\n"
        "    kids.append(pid)\n"
        "os.close(r); os.close(w)\n"  # all children wake up at once
        "os.close(fd)\n"
        "for pid in kids: os.waitpid(pid, 0)\n")
    subprocess.run(["/usr/bin/python3", "-c", script, path], check=True, timeout=30)
    assert read_file(path) == "line\n"
