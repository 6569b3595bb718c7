"""`drover vm list` / `drover ct list` over many guest configs, the batch read
under them (droverfs's READ_FILES), and `drover vm showcmd`, on a local droverfs.

1,000 guest configs spread over three nodes' directories are listed with the
names, memory and hostnames their configs hold, from one batch read; the
batch read gives each file its own status; the command line that showcmd
prints, run by hand through a shell, starts a QEMU that QMP reports running.
"""
import errno
import json
import os
import shlex
import socket
import subprocess
import time

import pytest

from conftest import DROVER, READER, run_as
from drover_ipc import READ_FILES, IpcError

NODES = ("node1", "node2", "node3")


def make_guests(cfs, count):
    """count configs, VMIDs 1000.., round robin over NODES; every 4th a container."""
    expect = {}
    for i in range(count):
        vmid, node = 1000 + i, NODES[i % 3]
        kind = "lxc" if i % 4 == 3 else "qemu-server"
        d = cfs.path(f"nodes/{node}/{kind}")
        os.makedirs(d, exist_ok=True)
        if kind == "lxc":
            text = f"hostname: ct{vmid}\nmemory: 64\n"
        else:
            text = f"name: vm{vmid}\nmemory: {128 + i}\ncores: 1\n"
        with open(os.path.join(d, f"{vmid}.conf"), "w") as f:
            f.write(text)
        expect[vmid] = (node, kind)
    return expect


def test_lists_of_1000_guests(cfs):
    expect = make_guests(cfs, 1000)
    vms = json.loads(cfs.drover("vm", "list", "--output-format", "json").stdout)
    cts = json.loads(cfs.drover("ct", "list", "--output-format", "json").stdout)
    want_vms = sorted(v for v, (_, k) in expect.items() if k == "qemu-server")
    want_cts = sorted(v for v, (_, k) in expect.items() if k == "lxc")
    assert [v["vmid"] for v in vms] == want_vms
    assert [c["vmid"] for c in cts] == want_cts
    for v in vms:
        i = v["vmid"] - 1000
        assert v["node"] == expect[v["vmid"]][0] and v["name"] == f"vm{v['vmid']}"
        assert v["maxmem"] == (128 + i) << 20
        # this node's VMs are stopped (no QEMU); the others published nothing
        assert v["status"] == ("stopped" if v["node"] == "node1" else "unknown")
    for c in cts:
        assert c["node"] == expect[c["vmid"]][0] and c["name"] == f"ct{c['vmid']}"
    text = cfs.drover("vm", "list").stdout
    assert "vm1000" in text and "vm1998" in text


def test_a_bad_config_is_listed_without_its_values(cfs):
    make_guests(cfs, 3)
    with open(cfs.path("nodes/node2/qemu-server/1001.conf"), "w") as f:
        f.write("memory: 0\nbogus: 1\n")
    vms = {v["vmid"]: v for v in json.loads(cfs.drover("vm", "list", "--output-format",
                                                         "json").stdout)}
    assert set(vms) == {1000, 1001, 1002}
    assert vms[1001]["name"] == "" and vms[1002]["name"] == "vm1002"


def test_read_files_gives_each_file_its_status(cfs):
    make_guests(cfs, 4)
    os.makedirs(cfs.path("priv"), exist_ok=True)
    with open(cfs.path("priv/secret"), "w") as f:
        f.write("key")
    paths = ["nodes/node1/qemu-server/1000.conf", "nodes/node9/qemu-server/1.conf",
             "nodes/node1", "/nodes/node2/qemu-server/1001.conf", ".vmlist", "priv/secret"]
    with cfs.client() as c:
        got = c.read_files(paths)
        assert got[0] == (0, b"name: vm1000\nmemory: 128\ncores: 1\n")
        assert got[1][0] == -errno.ENOENT and got[1][1] == b""
        assert got[2][0] == -errno.EISDIR
        assert got[3] == (0, b"name: vm1001\nmemory: 129\ncores: 1\n")
        assert got[4][0] == 0 and "1003" in json.loads(got[4][1])["ids"]
        assert got[5] == (0, b"key")
        assert c.read_files([]) == []
        # a count the payload does not hold, and one over the limit
        for payload in (b"\x05\x00\x00\x00\x01\x00a", b"\x01\x00\x01\x00"):
            with pytest.raises(IpcError) as e:
                c.call(READ_FILES, payload)
            assert e.value.errno in (errno.EBADMSG, errno.E2BIG)
    # a reader of the read-only group gets EACCES for priv/, the rest as root does
    proc = run_as(READER, "/usr/bin/python3", "-c",
                  "import sys; sys.path.insert(0, %r)\n"
                  "from drover_ipc import Client\n"
                  "with Client(%r) as c: print([s for s, _ in c.read_files(%r)])"
                  % (os.path.dirname(__file__), cfs.sock, paths))
    assert proc.returncode == 0, proc.stderr
    assert proc.stdout.strip() == str([0, -errno.ENOENT, -errno.EISDIR, 0, 0, -errno.EACCES])


def test_read_files_past_one_reply(cfs):
    """Files that do not fit one 8 MiB reply get E2BIG, in order, from the first that does
    not fit on (also the missing ones after it: they are not looked up), and the reply
    stays a frame however many statuses follow."""
    big = b"x" * (3 << 20)
    for i in range(4):
        with open(cfs.path(f"big{i}"), "wb") as f:
            f.write(big)
    paths = [f"big{i}" for i in range(4)] + [f"missing{i}" for i in range(60000)]
    with cfs.client() as c:
        got = c.read_files(paths)
    assert len(got) == len(paths)
    assert [s for s, _ in got[:2]] == [0, 0] and got[0][1] == big
    assert all(s == -errno.E2BIG for s, _ in got[2:]), {s for s, _ in got[2:]}


def qmp_status(path):
    s = socket.socket(socket.AF_UNIX)
    s.settimeout(5)
    s.connect(path)
    f = s.makefile("rw")
    json.loads(f.readline())
    for cmd in ("qmp_capabilities", "query-status"):
        f.write(json.dumps({"execute": cmd}) + "\n")
        f.flush()
        while True:
            reply = json.loads(f.readline())
            if "return" in reply or "error" in reply:
                break
    s.close()
    return reply["return"]["status"]


def test_showcmd_line_runs_by_hand(cfs, workdir):
    run = os.path.join(workdir, "qemu-run")
    env = dict(os.environ, DROVER_QEMU_RUN_DIR=run)
    d = cfs.path("nodes/node1/qemu-server")
    os.makedirs(d, exist_ok=True)
    with open(os.path.join(d, "150.conf"), "w") as f:
        f.write("name: show-me\nmemory: 64\ncores: 1\nvga: none\nargs: -nodefaults -fw_cfg 'name=opt/drover,string=a b'\n")
    line = cfs.drover("vm", "showcmd", "150", env=env).stdout
    assert line.count("\n") == 1
    argv = shlex.split(line)
    assert argv[0].endswith("qemu-system-x86_64") and "-daemonize" in argv
    assert argv[argv.index("-fw_cfg") + 1] == "name=opt/drover,string=a b"
    assert os.path.join(run, "150.qmp") in line
    pretty = cfs.drover("vm", "showcmd", "150", "--pretty", env=env).stdout
    assert shlex.split(pretty.replace("\\\n", " ")) == argv
    assert all(ln.lstrip().startswith("-") for ln in pretty.splitlines()[1:])
    # the line, run by hand as a shell would, starts the VM
    os.makedirs(run, mode=0o700, exist_ok=True)
    proc = subprocess.run(["sh", "-c", line], capture_output=True, text=True, timeout=60)
    assert proc.returncode == 0, proc.stderr
    pid = int(open(os.path.join(run, "150.pid")).read())
    try:
        deadline = time.monotonic() + 30
        while qmp_status(os.path.join(run, "150.qmp")) != "running":
            assert time.monotonic() < deadline
            time.sleep(0.1)
    finally:
        os.kill(pid, 9)
    # errors: no such VM, bad arguments
    proc = cfs.drover("vm", "showcmd", "151", check=False, env=env)
    assert proc.returncode == 1 and "151" in proc.stderr
    proc = cfs.drover("vm", "showcmd", "150", "--bogus", check=False, env=env)
    assert proc.returncode == 2 and "showcmd" in proc.stderr
