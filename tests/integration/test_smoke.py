"""The basics: a mounted droverfs with its layout, and a clean stop."""
import os

from conftest import is_mounted


def test_layout_and_clean_unmount(cfs):
    entries = set(os.listdir(cfs.mnt))
    assert {"nodes", "priv", "local", "qemu-server", "lxc", ".members", ".vmlist",
            ".version", ".debug", ".clusterlog"} <= entries
    assert os.readlink(cfs.path("local")) == "nodes/node1"
    assert os.path.isdir(cfs.path("local/qemu-server"))
    assert os.path.isdir(cfs.path("priv/lock"))
    assert cfs.stop() == 0
    assert not is_mounted(cfs.mnt)
    assert not os.path.exists(cfs.sock)


def test_write_read_restart(cfs):
    with open(cfs.path("storage.cfg"), "w") as f:
        f.write("dir: local\n\tpath /var/lib/vz\n")
    assert cfs.stop() == 0
    cfs.start()
    with open(cfs.path("storage.cfg")) as f:
        assert f.read() == "dir: local\n\tpath /var/lib/vz\n"
