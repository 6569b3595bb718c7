"""drover cluster qdevice setup/remove on sandbox nodes with a QNetd host.

Real corosync-qnetd on the sandbox's QNetd host (`drover sandbox up --qnetd`:
its own namespaces on the same bridge, sshd and corosync-qnetd, no corosync),
real corosync-qdevice on the nodes, real sshd between them. The cluster is
built by `drover sandbox up` with `cluster create` and `cluster add`.
"""
import re
import time

import pytest

from cluster_cli import drover, status_json
from polling import wait_for

QNETD = "10.99.0.254"


def qdevice_sandbox(make_sandbox, nodes=2):
    sb = make_sandbox(nodes=nodes, up=False)
    sb.qnetd = True
    sb.up()
    return sb


def voting(sb, node, members):
    """node's status when it has `members` members and sees every member's
    QDevice alive and voting, else None."""
    s = status_json(sb, node)
    q = s.get("qdevice") or {}
    ok = (s["quorate"] and s["members"] == members and q.get("registered") and
          q.get("alive") and q.get("cast_vote") and
          all(n["qdevice"] == "A,V,NMW" for n in s["nodes"] if n["online"]))
    return s if ok else None


def config_version(sb, node):
    return status_json(sb, node)["config_version"]


def survive_loss(sb, lost, survivor):
    """Cut `lost`: the survivor stays quorate (QDevice vote) and takes writes.
    Returns (seconds until the survivor sees the loss, seconds until a write
    after it succeeded)."""
    t0 = time.monotonic()
    sb.cut(lost)
    seen = None
    while seen is None:
        s = status_json(sb, survivor)
        # quorate all along: the QDevice's vote replaces the lost node's
        assert s["quorate"], f"{survivor} lost quorum {time.monotonic() - t0:.1f} s after the cut"
        if s["members"] == 1:
            seen = time.monotonic() - t0
        assert time.monotonic() - t0 < 60, f"{survivor} still sees {lost} after 60 s"
        time.sleep(0.2)
    assert s["total_votes"] == 2 and s["expected_votes"] == 3 and s["qdevice"]["cast_vote"]
    path = f"/etc/drover/survivor-{survivor}.txt"
    wait_for(f"a write on {survivor}", lambda: sb.exec(
        survivor, "sh", "-c", f"echo alive > {path}", check=False).returncode == 0, timeout=30)
    written = time.monotonic() - t0
    assert sb.read_file(survivor, path) == "alive\n"
    # the lost node has neither its peer nor the QNetd host: no quorum there
    sb.wait_quorate(lost, False)
    sb.heal(lost)
    for node in sb.node_names:
        wait_for(f"{node} back with 2 members and the QDevice's vote",
                 lambda n=node: voting(sb, n, 2), timeout=60)
    return seen, written


def test_two_nodes_and_a_qdevice_survive_either_loss(make_sandbox):
    sb = qdevice_sandbox(make_sandbox)
    before = config_version(sb, "node1")

    # refusals first: each changes nothing
    proc = drover(sb, "node1", "cluster", "qdevice", "setup", "10.99.0.99", check=False)
    assert proc.returncode == 1
    assert "cannot reach root@10.99.0.99 over SSH" in proc.stderr, proc.stderr
    sb.stop("qnetd", "corosync-qnetd")
    proc = drover(sb, "node1", "cluster", "qdevice", "setup", QNETD, check=False)
    assert proc.returncode == 1
    assert f"corosync-qnetd on {QNETD} does not answer on TCP port 5403" in proc.stderr
    sb.start("qnetd", "corosync-qnetd")
    proc = drover(sb, "node2", "cluster", "qdevice", "remove", check=False)
    assert proc.returncode == 1 and "no QDevice is configured" in proc.stderr
    for node in sb.node_names:
        assert config_version(sb, node) == before
        assert sb.exec(node, "test", "-e", "/etc/corosync/qdevice/net/nssdb",
                       check=False).returncode == 1

    # setup: every step printed, then 3 expected votes and the Qdevice everywhere
    t0 = time.monotonic()
    out = drover(sb, "node1", "cluster", "qdevice", "setup", QNETD).stdout
    setup_s = time.monotonic() - t0
    for step in ("algorithm ffsplit", f"logging in to root@{QNETD}", "QNetd CA present",
                 "every node reaches corosync-qnetd", "node2: certificate database made",
                 f"config_version {before + 1} written", "node1: corosync-qdevice started",
                 "node2: corosync-qdevice started", "Done"):
        assert step in out, out
    for node in sb.node_names:
        s = wait_for(f"{node} to count the QDevice's vote", lambda n=node: voting(sb, n, 2))
        assert (s["expected_votes"], s["total_votes"], s["quorum"]) == (3, 3, 2)
        assert s["flags"] == "Quorate Qdevice"
        assert s["qdevice"]["host"] == QNETD and s["qdevice"]["algorithm"] == "ffsplit"
        assert sb.pid(node, "corosync-qdevice")
        conf = sb.read_file(node, "/etc/corosync/corosync.conf")
        assert re.search(r"device \{\n\s+model: net\n\s+votes: 1\n\s+net \{\n\s+tls: on\n"
                         rf"\s+host: {re.escape(QNETD)}\n\s+algorithm: ffsplit\n", conf), conf
    text = drover(sb, "node2", "cluster", "status").stdout
    assert re.search(r"^Flags:\s+Quorate Qdevice$", text, re.M), text
    assert re.search(r"^\s+Nodeid\s+Votes\s+Qdevice Name$", text, re.M), text
    assert re.search(r"^\s+2\s+1\s+A,V,NMW node2 \(10\.99\.0\.2\) \(local\)$", text, re.M), text
    assert re.search(r"^\s+0\s+1\s+Qdevice$", text, re.M), text

    # a second setup is refused and changes nothing
    proc = drover(sb, "node2", "cluster", "qdevice", "setup", QNETD, check=False)
    assert proc.returncode == 1 and "remove it first" in proc.stderr, proc.stderr
    assert config_version(sb, "node2") == before + 1

    # either node may go: the other keeps quorum and takes writes
    lost1 = survive_loss(sb, "node1", "node2")
    lost2 = survive_loss(sb, "node2", "node1")
    print(f"\nqdevice setup: {setup_s:.1f} s; loss of node1: node2 saw it after {lost1[0]:.1f} s, "
          f"wrote after {lost1[1]:.1f} s; loss of node2: {lost2[0]:.1f} s / {lost2[1]:.1f} s")

    # a node stopped and started again (all its daemons) comes back with its QDevice
    sb.stop("node2")
    assert sb.pid("node2", "corosync-qdevice") is None
    sb.start("node2")
    assert sb.pid("node2", "corosync-qdevice")
    for node in sb.node_names:
        wait_for(f"{node} with node2's QDevice back", lambda n=node: voting(sb, n, 2))

    # remove: plain votequorum again, no daemon and no certificate database left
    out = drover(sb, "node2", "cluster", "qdevice", "remove").stdout
    for step in ("node1: corosync-qdevice stopped", "node2: corosync-qdevice stopped",
                 f"config_version {before + 2} written without the quorum device",
                 "node1: certificate database removed", "Done"):
        assert step in out, out
    for node in sb.node_names:
        s = status_json(sb, node)
        assert (s["expected_votes"], s["total_votes"], s["quorum"]) == (2, 2, 2)
        assert s["flags"] == "Quorate" and s["qdevice"] is None
        assert sb.pid(node, "corosync-qdevice") is None
        assert "device" not in sb.read_file(node, "/etc/corosync/corosync.conf")
        assert sb.exec(node, "test", "-e", "/etc/corosync/qdevice/net/nssdb",
                       check=False).returncode == 1
    text = drover(sb, "node1", "cluster", "status").stdout
    assert "Qdevice" not in text, text

    # and it can be set up again (the QNetd CA signs the cluster's certificate anew)
    out = drover(sb, "node2", "cluster", "qdevice", "setup", QNETD).stdout
    assert "Done" in out, out
    for node in sb.node_names:
        wait_for(f"{node} to count the QDevice's vote again", lambda n=node: voting(sb, n, 2))

    # no node is added or deleted while the QDevice is there (the seed: remove it first)
    check_node_changes_refused(sb)


def refused_for_qdevice(proc, change):
    assert proc.returncode == 1, proc.stdout + proc.stderr
    assert f"{change}: the cluster has a QDevice (QNetd host {QNETD})" in proc.stderr, proc.stderr
    assert "'drover cluster qdevice remove'" in proc.stderr, proc.stderr


def check_node_changes_refused(sb):
    """delnode and add refuse while a QDevice is configured, and change nothing;
    then the way the seed and drover-cluster(1) give: node2 is gone for good,
    remove the QDevice, expected 1, delnode."""
    version = config_version(sb, "node1")
    proc = drover(sb, "node1", "cluster", "delnode", "node2", check=False)
    refused_for_qdevice(proc, "cannot delete node node2")
    assert "deleting node" not in proc.stdout  # refused before node2's corosync is asked to stop
    assert sb.pid("node2", "corosync") and voting(sb, "node2", 2)

    # node2 powered off: node1 keeps quorum with the QDevice's vote; still refused
    sb.stop("node2")
    wait_for("node1 alone with the QDevice's vote", lambda: voting(sb, "node1", 1))
    proc = drover(sb, "node1", "cluster", "delnode", "node2", check=False)
    refused_for_qdevice(proc, "cannot delete node node2")

    # add: node2 joins anew (--force: it has a cluster configuration); the member
    # refuses, --force or not, before either side changes anything
    info = drover(sb, "node1", "cluster", "join-info").stdout.strip()
    sb.start("node2", "sshd", "droverfs")
    backups = sb.exec("node2", "ls", "/var/lib/drover/backup/").stdout
    proc = drover(sb, "node2", "cluster", "add", "--join-info", info, "--link0",
                  sb.address("node2"), "--force", check=False)
    refused_for_qdevice(proc, "cannot add node node2")
    assert "10.99.0.1 refused: " in proc.stderr and "stopping droverfs" not in proc.stdout
    assert "device" in sb.read_file("node2", "/etc/corosync/corosync.conf")
    assert sb.exec("node2", "ls", "/var/lib/drover/backup/").stdout == backups
    assert config_version(sb, "node1") == version
    sb.stop("node2")

    # the way out: remove the QDevice (node2 is named as offline), expected 1, delnode
    proc = drover(sb, "node1", "cluster", "qdevice", "remove")
    assert "node node2 is offline" in proc.stderr and "Done" in proc.stdout, proc.stderr
    assert "no quorum (1 of 2 expected votes)" in proc.stderr, proc.stderr
    assert "'drover cluster expected 1'" in proc.stderr, proc.stderr
    wait_for("node1 without quorum (1 of 2 votes)",
             lambda: not status_json(sb, "node1")["quorate"])
    drover(sb, "node1", "cluster", "expected", "1")
    wait_for("node1 quorate again", lambda: status_json(sb, "node1")["quorate"])
    out = drover(sb, "node1", "cluster", "delnode", "node2").stdout
    assert "Node node2 removed" in out, out
    s = wait_for("node1 with the nodelist of one node",
                 lambda: (lambda s: s if [n["name"] for n in s["nodes"]] == ["node1"] else None)(
                     status_json(sb, "node1")))
    assert s["quorate"] and s["config_version"] == version + 2 and s["qdevice"] is None


def test_odd_node_count_needs_force_and_gets_lms(make_sandbox):
    sb = qdevice_sandbox(make_sandbox, nodes=3)
    before = config_version(sb, "node1")
    proc = drover(sb, "node3", "cluster", "qdevice", "setup", QNETD, check=False)
    assert proc.returncode == 1
    assert "odd number of nodes (3)" in proc.stderr and "--force" in proc.stderr
    assert "single point of failure" in proc.stderr  # the drawbacks, as the seed lists them
    assert config_version(sb, "node1") == before
    assert sb.exec("node3", "test", "-e", "/etc/corosync/qdevice/net/nssdb",
                   check=False).returncode == 1

    proc = drover(sb, "node3", "cluster", "qdevice", "setup", QNETD, "--force")
    assert "warning:" in proc.stderr and "single point of failure" in proc.stderr
    assert "algorithm lms" in proc.stdout
    for node in sb.node_names:
        s = wait_for(f"{node} to count the QDevice's votes", lambda n=node: voting(sb, n, 3))
        # lms: the device has N-1 votes, so one node and the device are a majority
        assert s["qdevice"]["votes"] == 2 and s["qdevice"]["algorithm"] == "lms"
        assert (s["expected_votes"], s["total_votes"], s["quorum"]) == (5, 5, 3)
