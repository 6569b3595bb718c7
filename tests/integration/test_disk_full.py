"""A full disk under the database: writes fail with ENOSPC, nothing acknowledged is lost.

The database directory is a small ext4 file system on a loop device; a
filler file takes all its free space.
"""
import ctypes
import errno
import os
import subprocess
import time

import pytest

# Big enough to absorb, once space is freed, the 4 MiB of journal written
# into the database (which takes about four times that in database and WAL).
DISK_MB = 64
# After the disk filled, how many 1 KiB files may still be accepted: the
# journal preallocates 4 MiB ahead, so up to ~3500 small saves can still be
# made durable in space taken before the disk filled up.
MAX_WRITES_AFTER_FULL = 4500
# Reading back every file must not take longer than this (it takes < 1 s).
READ_BACK_SECONDS = 10
BIG = 300 * 1024  # goes to the database directly (>= 128 KiB)
LIBC = ctypes.CDLL(None, use_errno=True)


@pytest.fixture
def small_disk_cfs(make_cfs, workdir):
    """A droverfs (not started) whose database directory is a 24 MiB ext4."""
    fs = make_cfs(start=False)
    image = os.path.join(workdir, "disk.img")
    with open(image, "wb") as f:
        f.truncate(DISK_MB << 20)
    subprocess.run(["mkfs.ext4", "-q", "-F", "-m", "0", image], check=True)
    os.makedirs(fs.db_dir)
    # mount -o loop sets up its own loop device and detaches it at umount.
    subprocess.run(["mount", "-o", "loop", image, fs.db_dir], check=True)
    try:
        yield fs
    finally:
        fs.cleanup()
        subprocess.run(["umount", fs.db_dir], check=False)
        if os.path.ismount(fs.db_dir):
            subprocess.run(["umount", "-l", fs.db_dir], check=False)


def fill(directory):
    """Write a filler file until the file system is full; returns its path."""
    path = os.path.join(directory, "filler")
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    try:
        for chunk in (1 << 20, 64 << 10, 4096, 512, 1):
            block = b"\0" * chunk
            while True:
                try:
                    if os.write(fd, block) < chunk:
                        break
                except OSError as e:
                    assert e.errno == errno.ENOSPC, e
                    break
        os.fsync(fd)
    finally:
        os.close(fd)
    st = os.statvfs(directory)
    assert st.f_bavail * st.f_frsize < 64 << 10, "the filler did not fill the disk"
    return path


def free(path):
    os.unlink(path)
    fd = os.open(os.path.dirname(path), os.O_RDONLY)
    try:
        assert LIBC.syncfs(fd) == 0  # commit the freeing, on this file system only
    finally:
        os.close(fd)


def read(path):
    with open(path, "rb") as f:
        return f.read()


class Tracker:
    """What must be in the tree: acknowledged contents, and what must not exist."""

    def __init__(self, fs):
        self.fs = fs
        self.files = {}
        self.absent = set()
        self.errors = []

    def new_file(self, name, data):
        """Returns 0 or the errno; records what is then acknowledged. A new
        file enters the tree with its content at close, or not at all."""
        path = self.fs.path(name)
        try:
            fd = os.open(path, os.O_CREAT | os.O_EXCL | os.O_WRONLY, 0o640)
        except OSError as e:
            self.absent.add(name)
            self.errors.append((name, "create", e.errno))
            return e.errno
        try:
            os.write(fd, data)
        except OSError as e:
            try:
                os.close(fd)  # whether the file now exists (empty) is not tracked
            except OSError:
                pass
            self.errors.append((name, "write", e.errno))
            return e.errno
        try:
            os.close(fd)
        except OSError as e:
            self.absent.add(name)
            self.errors.append((name, "close", e.errno))
            return e.errno
        self.files[name] = data
        return 0

    def persistence(self):
        with self.fs.client() as c:
            return c.status()["persistence"]

    def overwrite(self, name, data):
        try:
            with open(self.fs.path(name), "wb") as f:
                f.write(data)
        except OSError as e:
            self.errors.append((name, "overwrite", e.errno))
            return e.errno
        self.files[name] = data
        return 0

    def check(self, where):
        deadline = time.monotonic() + READ_BACK_SECONDS
        for n, (name, want) in enumerate(sorted(self.files.items())):
            got = read(self.fs.path(name))
            assert got == want, f"{where}: {name}: {len(got)} bytes, expected {len(want)}"
            assert time.monotonic() < deadline, (
                f"{where}: reading back took over {READ_BACK_SECONDS} s, only {n + 1} of "
                f"{len(self.files)} files read; status: {self.persistence()}")
        for name in sorted(self.absent):
            assert not os.path.lexists(self.fs.path(name)), f"{where}: {name} exists"


def content(name, size=1024):
    head = f"{name}\n".encode()
    return head + b"x" * (size - len(head))


def test_full_disk_enospc_then_recovers(small_disk_cfs):
    fs = small_disk_cfs
    fs.start()
    t = Tracker(fs)
    os.mkdir(fs.path("d"))
    for i in range(50):
        assert t.new_file(f"d/before{i}", content(f"before{i}")) == 0
    assert t.new_file("d/bigbefore", content("bigbefore", BIG)) == 0
    assert t.new_file("d/victim", content("victim")) == 0

    filler = fill(fs.db_dir)

    # Big writes go straight into the database: refused while the journal
    # still has room (a new file is refused whole: it does not appear).
    assert t.new_file("d/big1", content("big1", BIG)) == errno.ENOSPC
    assert t.overwrite("d/victim", content("victim1", BIG)) == errno.ENOSPC
    assert t.errors[0][:2] == ("d/big1", "close")

    # Small writes: the first failure must come, and as ENOSPC.
    failed_with = None
    for i in range(MAX_WRITES_AFTER_FULL):
        err = t.new_file(f"d/full{i}", content(f"full{i}"))
        if err:
            failed_with = err
            break
    assert failed_with is not None, \
        f"{MAX_WRITES_AFTER_FULL} writes of 1 KiB all succeeded on a full disk"
    assert failed_with == errno.ENOSPC, f"first failure: {t.errors[-1]}"
    # Once full, it stays full: more small writes fail the same way.
    for i in range(5):
        assert t.new_file(f"d/more{i}", content(f"more{i}")) == errno.ENOSPC
    # Big writes too, new file or overwrite.
    assert t.new_file("d/big2", content("big2", BIG)) == errno.ENOSPC
    assert t.overwrite("d/victim", content("victim2", BIG)) == errno.ENOSPC
    assert all(e == errno.ENOSPC for _, _, e in t.errors), t.errors

    # Reads and status keep working.
    t.check("disk full")
    status = fs.drover("cfs", "status")
    assert status.returncode == 0 and status.stdout

    free(filler)
    for i in range(20):
        assert t.new_file(f"d/after{i}", content(f"after{i}")) == 0, t.errors[-1]
    assert t.new_file("d/bigafter", content("bigafter", BIG)) == 0, t.errors[-1]
    assert t.overwrite("d/victim", content("victim3")) == 0, t.errors[-1]
    t.check("space freed")

    assert fs.stop() == 0
    fs.start()
    t.check("after restart")


def test_stop_on_full_disk_then_start(small_disk_cfs):
    fs = small_disk_cfs
    fs.start()
    t = Tracker(fs)
    os.mkdir(fs.path("d"))
    for i in range(30):
        assert t.new_file(f"d/before{i}", content(f"before{i}")) == 0
    filler = fill(fs.db_dir)
    # Whatever still fits into the journal is acknowledged and must survive.
    for i in range(10):
        t.new_file(f"d/full{i}", content(f"full{i}"))
    assert all(e == errno.ENOSPC for _, _, e in t.errors), t.errors
    fs.stop()  # its final flush into the database fails: the journal keeps it
    last_run = fs.log().rsplit("--- start", 1)[1]
    assert "No space left" in last_run or "disk is full" in last_run, \
        f"the final flush did not fail, the test proves nothing:\n{last_run}"
    # And droverfs must not tell the operator the database holds everything.
    assert "all changes are in" not in last_run, last_run
    # Starting on the still full disk may be refused (the replayed journal
    # cannot be folded in), but must say why and lose nothing.
    try:
        fs.start()
    except RuntimeError as e:
        assert "No space left" in str(e), str(e)
    else:
        t.check("started on a full disk")
        fs.stop()
    free(filler)
    fs.start()
    t.check("after a stop on a full disk")
    assert t.new_file("d/later", content("later")) == 0
    t.check("writable again")
