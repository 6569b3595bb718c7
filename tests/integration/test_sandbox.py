"""drover sandbox: a whole cluster on one machine (namespaces, real corosync, droverfs, sshd)."""
import os
import subprocess
import time

import pytest

from conftest import DROVER
from sandbox import STATE_ROOT, Sandbox, SandboxError

CONNECT_TIME = (
    "import socket, sys, time\n"
    "t = time.monotonic()\n"
    "socket.create_connection((sys.argv[1], 22), timeout=10).close()\n"
    "print(time.monotonic() - t)\n")


def connect_time(sb, node, addr):
    """Seconds for a TCP connect (SYN, SYN-ACK) from node to addr:22."""
    return float(sb.exec(node, "/usr/bin/python3", "-c", CONNECT_TIME, addr).stdout)


def procs_in_netns(names):
    """Pids of live processes whose network namespace is one of the named ones."""
    inodes = {os.stat(f"/run/netns/{n}").st_ino for n in names if os.path.exists(f"/run/netns/{n}")}
    found = []
    for pid in filter(str.isdigit, os.listdir("/proc")):
        try:
            if os.stat(f"/proc/{pid}/ns/net").st_ino in inodes:
                found.append(int(pid))
        except OSError:
            pass
    return found


def test_up_starts_every_daemon(sandbox3):
    """status shows corosync, droverfs and sshd running and eth0 up on every node."""
    out = sandbox3.status()
    for node in sandbox3.node_names:
        for daemon in ("corosync", "droverfs", "sshd"):
            assert sandbox3.pid(node, daemon), out
    assert out.count("eth0       up") == 3, out
    assert sandbox3.name in sandbox3.cmd("list").stdout


def test_nodes_have_their_own_names_and_addresses(sandbox3):
    for k, node in enumerate(sandbox3.node_names, 1):
        assert sandbox3.exec(node, "hostname").stdout.strip() == node
        addrs = sandbox3.exec(node, "ip", "-4", "-br", "addr").stdout
        assert f"10.99.0.{k}/24" in addrs
        assert sandbox3.exec(node, "pwd").stdout.strip() == "/root"


def test_exec_passes_status_stdin_and_path(sandbox3):
    assert sandbox3.exec("node1", "sh", "-c", "exit 7", check=False).returncode == 7
    assert sandbox3.exec("node1", "cat", input="hello\n").stdout == "hello\n"
    path = sandbox3.exec("node1", "sh", "-c", "echo $PATH").stdout
    assert os.path.dirname(DROVER) in path.split(":")
    assert sandbox3.exec("node1", "no-such-command", check=False).returncode == 127


def test_private_directories(sandbox3):
    """/run, /var/lib/drover, /etc/corosync are the node's own."""
    sandbox3.write_file("node1", "/run/sandbox-marker", "node1\n")
    assert sandbox3.read_file("node1", "/run/sandbox-marker") == "node1\n"
    assert sandbox3.exec("node2", "test", "-e", "/run/sandbox-marker",
                         check=False).returncode == 1
    assert not os.path.exists("/run/sandbox-marker")
    conf = sandbox3.read_file("node2", "/etc/corosync/corosync.conf")
    assert f"cluster_name: {sandbox3.name}" in conf and "crypto_cipher: aes256" in conf
    assert sandbox3.exec("node3", "test", "-e", "/var/lib/drover/config.db").returncode == 0


def test_droverfs_answers_inside_each_node(sandbox3):
    for node in sandbox3.node_names:
        out = sandbox3.exec(node, "drover", "cfs", "status").stdout
        assert f"Node:             {node}" in out
        assert "Mount point:      /etc/drover" in out


def test_ssh_between_nodes(sandbox3):
    out = sandbox3.exec("node1", "ssh", "-o", "BatchMode=yes", "10.99.0.2", "hostname")
    assert out.stdout.strip() == "node2"
    out = sandbox3.exec("node3", "ssh", "-o", "BatchMode=yes", "node1", "hostname")
    assert out.stdout.strip() == "node1"


def test_cut_and_heal(sandbox3):
    """A cut node loses quorum, the other two keep it; healed, it rejoins."""
    sandbox3.cut("node3")
    try:
        assert "eth0       down" in sandbox3.status()
        sandbox3.wait_quorate("node3", False)
        assert sandbox3.quorate("node1") and sandbox3.quorate("node2")
    finally:
        sandbox3.heal("node3")
    sandbox3.wait_quorate("node3", True)


def test_netem_delay(sandbox3):
    """Delay on node1 holds its packets: a TCP connect to node2 takes at least the delay."""
    assert connect_time(sandbox3, "node1", "10.99.0.2") < 0.2
    sandbox3.netem("node1", "delay", 300)
    try:
        assert "netem: delay 300ms" in sandbox3.status()
        assert connect_time(sandbox3, "node1", "10.99.0.2") >= 0.29
        # node1 also answers late: the SYN-ACK it sends is delayed too
        assert connect_time(sandbox3, "node2", "10.99.0.1") >= 0.29
        assert connect_time(sandbox3, "node2", "10.99.0.3") < 0.2
        sandbox3.netem("node1", "delay", 100, 50)
        t = connect_time(sandbox3, "node1", "10.99.0.2")
        assert 0.045 <= t < 0.4, t
    finally:
        sandbox3.netem("node1", "clear")
    assert connect_time(sandbox3, "node1", "10.99.0.2") < 0.2
    assert "netem: -" in sandbox3.status()
    assert "DSB" not in sandbox3.exec("node1", "iptables", "-S").stdout


def test_netem_loss_100_is_a_cut(sandbox3):
    sandbox3.netem("node2", "loss", 100)
    try:
        assert "loss 100%" in sandbox3.status()
        sandbox3.wait_quorate("node2", False)
        assert sandbox3.quorate("node1")
    finally:
        sandbox3.netem("node2", "clear")
    sandbox3.wait_quorate("node2", True)


@pytest.mark.parametrize("daemon", ["corosync", "droverfs", "sshd"])
def test_stop_kill_and_start_each_daemon(sandbox3, daemon):
    pid = sandbox3.pid("node2", daemon)
    sandbox3.stop("node2", daemon, kill=True)
    assert sandbox3.pid("node2", daemon) is None
    assert not os.path.exists(f"/proc/{pid}/ns")  # gone (not even a live zombie's ns)
    sandbox3.start("node2", daemon)
    assert sandbox3.pid("node2", daemon) not in (None, pid)
    sandbox3.stop("node2", daemon)
    assert sandbox3.pid("node2", daemon) is None
    sandbox3.start("node2", daemon)
    assert sandbox3.pid("node2", daemon)
    sandbox3.wait_quorate("node2", True)


def test_restart_node_keeps_data_and_droverfs_extra_args(sandbox3):
    sandbox3.wait_quorate("node1", True)
    sandbox3.write_file("node1", "/var/lib/drover/keep-me", "data\n")
    sandbox3.stop("node1")
    assert all(sandbox3.pid("node1", d) is None for d in ("corosync", "droverfs", "sshd"))
    sandbox3.start("node1")
    assert sandbox3.read_file("node1", "/var/lib/drover/keep-me") == "data\n"
    sandbox3.restart("node1", "droverfs", droverfs_args=["-l"])
    assert "Mode:             local" in sandbox3.exec("node1", "drover", "cfs", "status").stdout
    sandbox3.restart("node1", "droverfs")
    sandbox3.wait_quorate("node1", True)


def test_two_sandboxes_side_by_side_and_down_leaves_nothing(sandbox3, make_sandbox):
    other = make_sandbox(nodes=2, networks=2)
    assert other.exec("node2", "hostname").stdout.strip() == "node2"
    assert "10.99.1.2/24" in other.exec("node2", "ip", "-4", "-br", "addr").stdout
    assert other.quorate("node1") and sandbox3.quorate("node1")
    # the same addresses, different clusters: each node talks to its own sandbox
    out = other.exec("node1", "ssh", "-o", "BatchMode=yes", "10.99.0.2", "cat",
                     "/etc/corosync/corosync.conf").stdout
    assert f"cluster_name: {other.name}" in out
    netns = other.netns()
    assert len(netns) == 3
    pids = procs_in_netns(netns)
    assert len(pids) >= 6
    other.down()
    assert other.netns() == []
    assert other.mounts() == []
    assert not os.path.exists(other.state_dir)
    for pid in pids:
        assert not os.path.exists(f"/proc/{pid}/ns/net"), pid
    assert other.name not in subprocess.run([DROVER, "sandbox", "list"], capture_output=True,
                                            text=True).stdout
    assert sandbox3.quorate("node1")


def test_bad_names_and_existing_sandbox_fail_cleanly(sandbox3):
    for bad in ("Bad", "1abc", "a_b", "x" * 16, ""):
        sb = Sandbox(bad)
        proc = sb.cmd("up", check=False)
        assert proc.returncode == 2, bad
        assert "not a valid sandbox name" in proc.stderr
    assert not os.path.exists(os.path.join(STATE_ROOT, "Bad"))
    proc = sandbox3.cmd("up", check=False)
    assert proc.returncode == 1 and "exists already" in proc.stderr
    assert sandbox3.quorate("node1")
    proc = Sandbox("nosuchsandbox").cmd("status", check=False)
    assert proc.returncode == 1 and "no sandbox" in proc.stderr
    assert sandbox3.cmd("up", "--nodes", 17, check=False).returncode == 2
    assert sandbox3.cmd("exec", "node9", "--", "true", check=False).returncode == 2


def test_down_cleans_up_a_broken_sandbox(make_sandbox):
    """down works when the daemons are already dead and a namespace is gone."""
    sb = make_sandbox(nodes=2)
    for d in ("corosync", "droverfs", "sshd"):
        sb.stop("node1", d, kill=True)
    subprocess.run(["ip", "netns", "delete", f"dsb-{sb.name}-node2"], check=True)
    sb.down()
    assert sb.netns() == [] and sb.mounts() == []
    assert not os.path.exists(sb.state_dir)


def test_up_that_fails_removes_what_it_made(make_sandbox):
    sb = make_sandbox(nodes=2, up=False)
    env = dict(os.environ, DROVER_DROVERFS="/bin/false")
    proc = subprocess.run([DROVER, "sandbox", "up", "--name", sb.name, "--nodes", "2"],
                          capture_output=True, text=True, env=env, timeout=120)
    assert proc.returncode == 1
    assert "droverfs" in proc.stderr
    assert sb.netns() == [] and sb.mounts() == []
    assert not os.path.exists(sb.state_dir)
