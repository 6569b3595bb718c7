"""Cluster locks (priv/lock/<name>) and guest configs (one VMID, one place)."""
import errno
import json
import os
import subprocess
import time

import pytest

from fsutil import fails_with, read_file, write_file


def vmlist(cfs):
    return json.loads(read_file(cfs.path(".vmlist")))["ids"]


# --- locks -----------------------------------------------------------------

def test_lock_taken_once(cfs):
    """mkdir of a lock succeeds once; the second mkdir fails with EEXIST."""
    os.mkdir(cfs.path("priv/lock/foo"))
    fails_with(errno.EEXIST, os.mkdir, cfs.path("priv/lock/foo"))


def test_lock_release_and_retake(cfs):
    """rmdir releases a lock; it can be taken again."""
    os.mkdir(cfs.path("priv/lock/foo"))
    os.rmdir(cfs.path("priv/lock/foo"))
    assert not os.path.exists(cfs.path("priv/lock/foo"))
    os.mkdir(cfs.path("priv/lock/foo"))
    assert os.path.isdir(cfs.path("priv/lock/foo"))


def test_fresh_lock_not_expired(cfs):
    """utime(lock, 0) on a fresh lock (release request) fails with EACCES; the lock stays."""
    os.mkdir(cfs.path("priv/lock/foo"))
    fails_with(errno.EACCES, os.utime, cfs.path("priv/lock/foo"), (0, 0))
    assert os.path.isdir(cfs.path("priv/lock/foo"))
    fails_with(errno.EEXIST, os.mkdir, cfs.path("priv/lock/foo"))


def test_lock_refresh(cfs):
    """utime(lock, None) refreshes the lock: it succeeds and the mtime is now."""
    os.mkdir(cfs.path("priv/lock/foo"))
    before = time.time()
    os.utime(cfs.path("priv/lock/foo"), None)
    assert os.stat(cfs.path("priv/lock/foo")).st_mtime >= int(before)


def test_lock_time_cannot_go_back(cfs):
    """Setting a lock's mtime into the past (other than 0) fails with EACCES."""
    os.mkdir(cfs.path("priv/lock/foo"))
    fails_with(errno.EACCES, os.utime, cfs.path("priv/lock/foo"), (1000, 1000))


def test_lock_survives_restart(cfs):
    """A lock taken before a restart is still held after it."""
    os.mkdir(cfs.path("priv/lock/foo"))
    assert cfs.stop() == 0
    cfs.start()
    fails_with(errno.EEXIST, os.mkdir, cfs.path("priv/lock/foo"))


def test_many_locks(cfs):
    """Different lock names are independent."""
    for i in range(20):
        os.mkdir(cfs.path(f"priv/lock/l{i}"))
    assert sorted(os.listdir(cfs.path("priv/lock"))) == sorted(f"l{i}" for i in range(20))


# --- guests ----------------------------------------------------------------

@pytest.fixture
def guest(cfs):
    """cfs with nodes/node1/qemu-server/100.conf and an empty nodes/node2/qemu-server."""
    write_file(cfs.path("nodes/node1/qemu-server/100.conf"), "memory: 1024\n")
    os.makedirs(cfs.path("nodes/node2/qemu-server"))
    os.makedirs(cfs.path("nodes/node2/lxc"))
    return cfs


@pytest.mark.parametrize("path", ["nodes/node2/qemu-server/100.conf",
                                  "nodes/node1/lxc/100.conf",
                                  "nodes/node2/lxc/100.conf"])
def test_vmid_taken_elsewhere(guest, path):
    """A second config for VMID 100 anywhere fails with EEXIST and is not created."""
    fails_with(errno.EEXIST, open, guest.path(path), "w")
    assert not os.path.exists(guest.path(path))
    assert vmlist(guest)["100"]["node"] == "node1"


def test_guest_migrate_by_mv(guest):
    """mv of a guest config to another node's qemu-server moves the guest there."""
    os.rename(guest.path("nodes/node1/qemu-server/100.conf"),
              guest.path("nodes/node2/qemu-server/100.conf"))
    assert read_file(guest.path("nodes/node2/qemu-server/100.conf")) == "memory: 1024\n"
    ids = vmlist(guest)
    assert ids["100"]["node"] == "node2" and ids["100"]["type"] == "qemu"


def test_guest_mv_command_into_dir(guest):
    """`mv 100.conf nodes/node2/qemu-server/` (into a directory) works too."""
    subprocess.run(["mv", guest.path("nodes/node1/qemu-server/100.conf"),
                    guest.path("nodes/node2/qemu-server/")], check=True)
    assert vmlist(guest)["100"]["node"] == "node2"


def test_guest_change_type_by_rename(guest):
    """Renaming qemu 100.conf into node1/lxc makes it an lxc guest."""
    os.rename(guest.path("nodes/node1/qemu-server/100.conf"),
              guest.path("nodes/node1/lxc/100.conf"))
    assert vmlist(guest)["100"]["type"] == "lxc"


def test_guest_proxmox_save(guest):
    """Saving a guest config via temp file + rename over 100.conf works; still on node1."""
    target = guest.path("nodes/node1/qemu-server/100.conf")
    tmp = f"{target}.tmp.{os.getpid()}"
    fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o640)
    os.write(fd, b"memory: 4096\n")
    os.close(fd)
    os.rename(tmp, target)
    assert read_file(target) == "memory: 4096\n"
    assert vmlist(guest)["100"]["node"] == "node1"
    assert sorted(os.listdir(guest.path("nodes/node1/qemu-server"))) == ["100.conf"]


def test_guest_rename_temp_to_other_node(guest):
    """Renaming a temp file to node2/qemu-server/100.conf while 100 is on node1: EEXIST."""
    tmp = guest.path("nodes/node2/qemu-server/100.conf.tmp.1")
    write_file(tmp, "memory: 1\n")
    fails_with(errno.EEXIST, os.rename, tmp, guest.path("nodes/node2/qemu-server/100.conf"))
    assert os.path.exists(tmp)
    assert vmlist(guest)["100"]["node"] == "node1"


def test_guest_dir_move_with_duplicate(guest):
    """Moving in a directory that holds another 100.conf as nodes/node3: EEXIST."""
    os.makedirs(guest.path("staging/qemu-server"))
    write_file(guest.path("staging/qemu-server/100.conf"), "dup\n")
    fails_with(errno.EEXIST, os.rename, guest.path("staging"), guest.path("nodes/node3"))
    assert not os.path.exists(guest.path("nodes/node3"))


def test_guest_dir_move_new_vmid(guest):
    """Moving in a directory with a new VMID registers it on the new node."""
    os.makedirs(guest.path("staging/qemu-server"))
    write_file(guest.path("staging/qemu-server/200.conf"), "new\n")
    os.rename(guest.path("staging"), guest.path("nodes/node3"))
    assert vmlist(guest)["200"]["node"] == "node3"


def test_vmid_free_after_unlink(guest):
    """After 100.conf is removed on node1, node2 may create 100.conf."""
    os.unlink(guest.path("nodes/node1/qemu-server/100.conf"))
    write_file(guest.path("nodes/node2/qemu-server/100.conf"), "x\n")
    assert vmlist(guest)["100"]["node"] == "node2"


@pytest.mark.parametrize("name", ["0100.conf", "100.conf.bak", "100", "abc.conf"])
def test_not_a_guest(guest, name):
    """Names that are not <vmid>.conf are ordinary files, not guests."""
    write_file(guest.path(f"nodes/node2/qemu-server/{name}"), "x\n")
    assert set(vmlist(guest)) == {"100"}


def test_vmlist_after_restart(guest):
    """The guest list is the same after a restart."""
    write_file(guest.path("nodes/node2/lxc/101.conf"), "ct\n")
    before = vmlist(guest)
    assert guest.stop() == 0
    guest.start()
    after = vmlist(guest)
    assert {k: (v["node"], v["type"]) for k, v in after.items()} == \
        {k: (v["node"], v["type"]) for k, v in before.items()}


def test_nothing_is_made_inside_a_lock(cfs):
    """A lock directory holds nothing: files and directories in it are refused
    with EACCES (as renames into it are), so its release never fails."""
    os.mkdir(cfs.path("priv/lock/foo"))
    for flags in (os.O_WRONLY | os.O_CREAT | os.O_TRUNC, os.O_WRONLY | os.O_CREAT,
                  os.O_RDONLY | os.O_CREAT, os.O_WRONLY | os.O_CREAT | os.O_EXCL):
        fails_with(errno.EACCES, os.open, cfs.path("priv/lock/foo/owner"), flags, 0o600)
    fails_with(errno.EACCES, write_file, cfs.path("priv/lock/foo/owner"), "node1\n")
    fails_with(errno.EACCES, os.mkdir, cfs.path("priv/lock/foo/sub"))
    write_file(cfs.path("priv/elsewhere"), "x\n")
    fails_with(errno.EACCES, os.rename, cfs.path("priv/elsewhere"),
               cfs.path("priv/lock/foo/owner"))
    assert os.listdir(cfs.path("priv/lock/foo")) == []
    os.rmdir(cfs.path("priv/lock/foo"))


@pytest.mark.parametrize("where", ["nodes/node2/qemu-server", "nodes/node2/lxc",
                                   "nodes/node1/qemu-server"])
def test_guest_config_name_is_no_directory(guest, where):
    """mkdir of <vmid>.conf in a guest directory is refused (EINVAL), whether the
    VMID is free, taken elsewhere or taken there; so is a directory renamed there."""
    for vmid in (100, 101):
        path = guest.path(f"{where}/{vmid}.conf")
        if not os.path.exists(path):
            fails_with(errno.EINVAL, os.mkdir, path)
            assert not os.path.exists(path)
    os.mkdir(guest.path("nodes/node2/qemu-server/snapshots"))
    fails_with(errno.EINVAL, os.rename, guest.path("nodes/node2/qemu-server/snapshots"),
               guest.path(f"{where}/102.conf"))
    assert set(vmlist(guest)) == {"100"}
    # the guest can still move to node2
    os.rename(guest.path("nodes/node1/qemu-server/100.conf"),
              guest.path("nodes/node2/qemu-server/100.conf"))
    assert vmlist(guest)["100"]["node"] == "node2"


def test_lock_attrs_not_cached(cfs):
    """A released lock disappears for stat at once (no stale cached entry)."""
    os.mkdir(cfs.path("priv/lock/foo"))
    assert os.path.isdir(cfs.path("priv/lock/foo"))
    os.rmdir(cfs.path("priv/lock/foo"))
    assert not os.path.exists(cfs.path("priv/lock/foo"))
