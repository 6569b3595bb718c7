"""Bytes droverfs writes to the disk per byte of file written (local mode).

write_bytes of /proc/PID/io of droverfs, read after `drover cfs flush`
before and after the writes (the flush folds the op journal into SQLite and
checkpoints the WAL, so the copy into the database file is counted too),
divided by the bytes of the files. The same measurement as
bench/run-cfs-bench and docs/benchmarks.md, section "Bytes written to the
disk". write_bytes counts each page of the page cache as it becomes dirty:
it does not depend on timing, so the bounds can be tight.

The database must be on a real disk (tmpfs counts nothing): droverfs here
keeps it under /var/tmp.
"""
import os
import shutil
import subprocess
import tempfile

import pytest

from conftest import DROVER, Droverfs

KIB = 1024
MIB = 1024 * KIB
CHUNK = 4 * KIB
# Target for files of 1 MiB, new or replaced (docs/benchmarks.md): today 2.1x.
BOUND_1M = 2.5
# 1 KiB files: each op goes through the journal (1.1x), and SQLite writes
# the rows into the WAL and again into the database at the checkpoint, 3
# rows of 1 KiB per 4 KiB page (2 x 1.4x). Measured 4.2x (overwrite) and
# 4.5x (save); the save was 7.2x before a fold reused the pages it freed.
BOUND_1K_OVERWRITE = 5.0
BOUND_1K_SAVE = 5.5


def fs_type(path):
    return subprocess.run(["stat", "-f", "-c", "%T", path], capture_output=True, text=True,
                          check=True).stdout.strip()


@pytest.fixture(scope="module")
def disk_cfs():
    base = tempfile.mkdtemp(prefix="drover-wamp-", dir="/var/tmp")
    os.chmod(base, 0o755)
    if fs_type(base) in ("tmpfs", "ramfs"):
        shutil.rmtree(base)
        pytest.skip("/var/tmp is not on a disk: write_bytes would count nothing")
    fs = Droverfs(base)
    try:
        fs.start()
        if not os.path.exists(f"/proc/{fs.proc.pid}/io"):
            pytest.skip("no /proc/PID/io (kernel without task I/O accounting)")
        yield fs
    finally:
        fs.cleanup()
        shutil.rmtree(base, ignore_errors=True)


def write_bytes(fs):
    with open(f"/proc/{fs.proc.pid}/io") as f:
        for line in f:
            key, value = line.split(":")
            if key == "write_bytes":
                return int(value)
    raise AssertionError("no write_bytes in /proc/PID/io")


def flush(fs):
    subprocess.run([DROVER, "--socket", fs.sock, "cfs", "flush"], check=True,
                   capture_output=True)


def content(size, seed):
    """size bytes that differ from one seed to the next."""
    pattern = bytes((i * 7 + seed) % 251 for i in range(251))
    return (pattern * (size // len(pattern) + 1))[:size]


def write(path, flags, data):
    fd = os.open(path, os.O_WRONLY | flags, 0o644)
    try:
        for off in range(0, len(data), CHUNK):
            assert os.write(fd, data[off:off + CHUNK]) == len(data[off:off + CHUNK])
    finally:
        os.close(fd)  # droverfs commits here: its error is the write's


def new_file(path, data):
    write(path, os.O_CREAT | os.O_EXCL, data)


def overwrite(path, data):
    write(path, os.O_TRUNC, data)


def save(path, data):
    """The save pattern: a temporary file renamed over the old one."""
    tmp = path + ".tmp"
    new_file(tmp, data)
    os.rename(tmp, path)


def amplification(fs, how, directory, nfiles, size):
    """Bytes written per byte of content for nfiles replaced by `how`."""
    flush(fs)
    before = write_bytes(fs)
    for i in range(nfiles):
        how(os.path.join(directory, f"f{i:04d}"), content(size, i + 1))
    flush(fs)
    ratio = (write_bytes(fs) - before) / (nfiles * size)
    for i in range(nfiles):
        with open(os.path.join(directory, f"f{i:04d}"), "rb") as f:
            assert f.read() == content(size, i + 1), f"f{i:04d} lost its content"
    return ratio


def check(ratio, bound, how, size_text):
    print(f"{how.__name__} of {size_text} files: {ratio:.3f}x")
    # Every byte reaches the WAL at least once: less means the measurement is broken.
    assert ratio >= 1.0, f"{ratio:.2f}x: write_bytes does not count droverfs's writes"
    assert ratio <= bound, \
        f"{how.__name__} of {size_text} files wrote {ratio:.2f}x their size (at most {bound}x)"


def populate(fs, name, nfiles, size):
    directory = fs.path(name)
    os.mkdir(directory)
    for i in range(nfiles):
        new_file(os.path.join(directory, f"f{i:04d}"), content(size, 0))
    return directory


@pytest.mark.parametrize("how", [new_file, overwrite, save], ids=["new", "overwrite", "save"])
def test_1mib_files(disk_cfs, how):
    """5 files of 1 MiB in 4 KiB writes: new, overwritten in place, saved over."""
    if how is new_file:
        directory = disk_cfs.path("new-1m")
        os.mkdir(directory)
    else:
        directory = populate(disk_cfs, f"{how.__name__}-1m", 5, MIB)
    check(amplification(disk_cfs, how, directory, 5, MIB), BOUND_1M, how, "1 MiB")


@pytest.mark.parametrize("how,bound", [(overwrite, BOUND_1K_OVERWRITE), (save, BOUND_1K_SAVE)],
                         ids=["overwrite", "save"])
def test_1kib_files(disk_cfs, how, bound):
    """300 files of 1 KiB, each replaced once, folded by one flush."""
    directory = populate(disk_cfs, f"{how.__name__}-1k", 300, KIB)
    check(amplification(disk_cfs, how, directory, 300, KIB), bound, how, "1 KiB")
