"""drover cluster: create, add, status, delnode, expected, nextid on sandbox nodes.

Real corosync, sshd and droverfs in every node; the nodes start bare
(`drover sandbox up --bare`: droverfs in local mode, sshd) and the tests build
the cluster with the commands a user runs.
"""
import json
import re
import subprocess
import threading
import time

import pytest

from cluster_cli import drover, status_json
from polling import wait_for
from conftest import sandbox_name
from sandbox import Sandbox, SandboxError


def bare(make_sandbox, nodes=3, networks=1):
    sb = make_sandbox(nodes=nodes, networks=networks, up=False)
    sb.cmd("up", "--nodes", nodes, "--networks", networks, "--bare", timeout=120)
    sb.is_up = True
    return sb


def fingerprint(sb, node):
    out = sb.exec(node, "ssh-keygen", "-lf", "/etc/ssh/ssh_host_ed25519_key.pub").stdout
    return out.split()[1]


def create(sb, name=None, *extra):
    return drover(sb, "node1", "cluster", "create", name or sb.name, "--link0",
                  sb.address("node1"), *extra)


def add(sb, node, *extra, via="node1", check=True):
    return drover(sb, node, "cluster", "add", sb.address(via), "--link0", sb.address(node),
                  *extra, check=check)


# --- building a cluster ------------------------------------------------------------

def test_create_and_add_with_join_info_and_fingerprint(make_sandbox):
    sb = bare(make_sandbox)
    out = create(sb).stdout
    assert "waiting for quorum" in out and "created" in out
    s = status_json(sb, "node1")
    assert s["quorate"] and s["config_version"] == 1 and s["cluster_name"] == sb.name

    info = drover(sb, "node1", "cluster", "join-info").stdout.strip()
    assert info.startswith("drover-join-1:")
    out = drover(sb, "node2", "cluster", "add", "--join-info", info, "--link0",
                 sb.address("node2")).stdout
    assert "host key of 10.99.0.1 verified" in out and "joined the cluster" in out
    out = add(sb, "node3", "--fingerprint", fingerprint(sb, "node1")).stdout
    assert "node id 3" in out

    versions = set()
    for node in sb.node_names:
        s = wait_for(f"{node} to see 3 quorate members",
                     lambda n=node: (lambda s: s if s["quorate"] and s["members"] == 3
                                     else None)(status_json(sb, n)))
        versions.add(s["config_version"])
        assert s["expected_votes"] == 3 and s["total_votes"] == 3
        assert [n["name"] for n in s["nodes"]] == ["node1", "node2", "node3"]
    assert versions == {3}

    # status in the pvecm layout
    text = drover(sb, "node2", "cluster", "status").stdout
    for heading in ("Cluster information", "Quorum information", "Votequorum information",
                    "Membership information"):
        assert heading in text
    assert re.search(r"^\s+2\s+1 node2 \(10\.99\.0\.2\) \(local\)$", text, re.M), text
    nodes = drover(sb, "node3", "cluster", "nodes").stdout
    assert re.search(r"^\s+3\s+1 node3 \(local\)$", nodes, re.M), nodes

    # the cluster's tree everywhere: a file written anywhere appears everywhere
    sb.write_file("node3", "/etc/drover/hello.txt", "from node3\n")
    for node in sb.node_names:
        wait_for(f"hello.txt on {node}", lambda n=node: sb.exec(
            n, "cat", "/etc/drover/hello.txt", check=False).stdout == "from node3\n")
    # every node's corosync has the full nodelist, and root can ssh between nodes
    for node in sb.node_names:
        conf = sb.read_file(node, "/etc/corosync/corosync.conf")
        assert conf.count("node {") == 3 and "config_version: 3" in conf
        assert sb.read_file(node, "/etc/drover/nodes/%s/drover-ssl.pem" % node).startswith(
            "-----BEGIN CERTIFICATE-----")
    proc = sb.exec("node3", "ssh", "-o", "BatchMode=yes", "root@node1", "hostname")
    assert proc.stdout.strip() == "node1"
    known = sb.read_file("node1", "/etc/drover/priv/known_hosts")
    assert all(known.count(f"{n},") == 1 for n in sb.node_names), known


def test_join_refusals(make_sandbox):
    sb = bare(make_sandbox, nodes=3)
    # names that break the rules
    proc = drover(sb, "node1", "cluster", "create", "bad_name", check=False)
    assert proc.returncode == 2 and "not a valid cluster name" in proc.stderr
    proc = drover(sb, "node1", "cluster", "create", "a" * 16, check=False)
    assert proc.returncode == 2 and "at most 15" in proc.stderr
    proc = drover(sb, "node1", "cluster", "create", sb.name, "--link0", "10.99.0.77", check=False)
    assert proc.returncode == 1 and "not an address of this host" in proc.stderr
    create(sb)
    proc = drover(sb, "node1", "cluster", "create", sb.name, check=False)
    assert proc.returncode == 1 and "in a cluster already" in proc.stderr

    # a wrong fingerprint: nothing is changed on either side
    proc = add(sb, "node2", "--fingerprint", "SHA256:" + "A" * 43, check=False)
    assert proc.returncode == 1 and "no host key has fingerprint" in proc.stderr
    assert status_json(sb, "node1")["config_version"] == 1

    # a node with guests is refused without --force
    sb.write_file("node2", "/etc/drover/nodes/node2/qemu-server/100.conf", "memory: 512\n")
    proc = add(sb, "node2", check=False)
    assert proc.returncode == 1 and "1 guest(s)" in proc.stderr and "--force" in proc.stderr
    assert status_json(sb, "node1")["config_version"] == 1

    # --force joins and says what it discards; the old database is kept
    out = add(sb, "node2", "--force")
    assert "discarding the configurations of 1 guest(s)" in out.stderr
    assert "before-join.db" in out.stdout
    backups = sb.exec("node2", "sh", "-c", "ls /var/lib/drover/backup/").stdout
    assert "before-join.db" in backups

    # a duplicate address: node3 also holds node2's address, and says it is its link0
    sb.exec("node3", "ip", "address", "add", "10.99.0.2/32", "dev", "lo")
    proc = drover(sb, "node3", "cluster", "add", "10.99.0.1", "--link0", "10.99.0.2",
                  check=False)
    assert proc.returncode == 1 and "already used by node node2" in proc.stderr
    sb.exec("node3", "ip", "address", "del", "10.99.0.2/32", "dev", "lo")

    # a different link set
    sb.exec("node3", "ip", "address", "add", "10.98.0.3/32", "dev", "lo")
    proc = add(sb, "node3", "--link1", "10.98.0.3", check=False)
    assert proc.returncode == 1 and "must match" in proc.stderr
    assert status_json(sb, "node1")["config_version"] == 2


# --- a running cluster ---------------------------------------------------------------

@pytest.fixture(scope="module")


def cluster3():
    """A 3-node sandbox built by `sandbox up` (cluster create + add), shared by a module."""
    sb = Sandbox(sandbox_name(), nodes=3)
    try:
        sb.up(timeout=180)
        yield sb
    finally:
        sb.down(check=False)


def test_sandbox_up_builds_the_cluster_with_create_and_add(cluster3):
    sb = cluster3
    for node in sb.node_names:
        s = status_json(sb, node)
        assert s["quorate"] and s["members"] == 3 and s["config_version"] == 3
    log = sb.read_file("node1", "/etc/drover/.clusterlog")
    assert log  # the replicated log works on a cluster made this way


def test_expected_votes(cluster3):
    sb = cluster3
    # corosync refuses what would take quorum away, with its reason
    proc = drover(sb, "node1", "cluster", "expected", "1", check=False)
    assert proc.returncode == 1 and "refused expected votes 1" in proc.stderr
    proc = drover(sb, "node1", "cluster", "expected", "zero", check=False)
    assert proc.returncode == 2

    sb.cut("node3")
    try:
        sb.wait_quorate("node3", False)
        proc = sb.exec("node3", "sh", "-c", "echo x > /etc/drover/isolated.txt", check=False)
        assert proc.returncode != 0 and "Permission denied" in proc.stderr
        drover(sb, "node3", "cluster", "expected", "1")
        sb.wait_quorate("node3", True)
        wait_for("node3 writable", lambda: sb.exec(
            "node3", "sh", "-c", "echo x > /etc/drover/isolated.txt", check=False
        ).returncode == 0)
    finally:
        sb.heal("node3")
    sb.heal_all()


def test_nextid(cluster3):
    sb = cluster3
    assert drover(sb, "node1", "cluster", "nextid").stdout.strip() == "100"
    sb.write_file("node2", "/etc/drover/nodes/node2/qemu-server/100.conf", "memory: 512\n")
    sb.write_file("node3", "/etc/drover/nodes/node3/lxc/101.conf", "memory: 512\n")
    wait_for("both guests on node1", lambda: drover(
        sb, "node1", "cluster", "nextid").stdout.strip() == "102")
    sb.write_file("node1", "/etc/drover/datacenter.cfg", "keyboard: en-us\nnext-id: lower=500,upper=502\n")
    assert drover(sb, "node1", "cluster", "nextid").stdout.strip() == "500"
    sb.write_file("node1", "/etc/drover/nodes/node1/qemu-server/500.conf", "memory: 1\n")
    sb.write_file("node1", "/etc/drover/nodes/node1/qemu-server/501.conf", "memory: 1\n")
    proc = drover(sb, "node1", "cluster", "nextid", check=False)
    assert proc.returncode == 1 and "no free VMID" in proc.stderr
    sb.write_file("node1", "/etc/drover/datacenter.cfg", "next-id: lower=9,upper=50\n")
    proc = drover(sb, "node1", "cluster", "nextid", check=False)
    assert proc.returncode == 1 and "datacenter.cfg:1:" in proc.stderr
    sb.exec("node1", "rm", "/etc/drover/datacenter.cfg")


def test_hand_edited_corosync_conf_reaches_every_node(cluster3):
    sb = cluster3
    before = status_json(sb, "node1")["config_version"]
    script = ("set -e; cd /etc/drover; cp corosync.conf /tmp/cc.new; "
              "sed -i 's/config_version: %d/config_version: %d/' /tmp/cc.new; "
              "sed -i 's/^logging {/logging {\\n    debug: off/' /tmp/cc.new; "
              "cp /tmp/cc.new corosync.conf.new; mv corosync.conf.new corosync.conf"
              % (before, before + 1))
    sb.exec("node2", "sh", "-c", script)
    for node in sb.node_names:
        wait_for(f"config version {before + 1} on {node}",
                 lambda n=node: status_json(sb, n)["config_version"] == before + 1, timeout=45)


# --- changing the membership ---------------------------------------------------------

def test_add_while_writing_then_delnode(make_sandbox):
    """A node joins while the others write; nobody loses quorum or a write. Then a
    powered-off node is deleted: 2 of 2, expected votes 2."""
    sb = bare(make_sandbox, nodes=3)
    create(sb)
    add(sb, "node2")
    sb.wait_synced(["node1", "node2"])

    stop = threading.Event()
    acked = {"node1": [], "node2": []}
    lost_quorum = []

    def writer(node):
        i = 0
        while not stop.is_set():
            path = f"/etc/drover/w-{node}-{i}"
            if sb.exec(node, "sh", "-c", f"echo {i} > {path}", check=False).returncode == 0:
                acked[node].append(path)
            i += 1

    def watch_quorum():
        while not stop.is_set():
            for node in ("node1", "node2"):
                if sb.quorate(node) is False:
                    lost_quorum.append(node)
            time.sleep(0.2)

    threads = [threading.Thread(target=writer, args=(n,)) for n in acked]
    threads.append(threading.Thread(target=watch_quorum))
    for t in threads:
        t.start()
    try:
        add(sb, "node3")
        time.sleep(1)
    finally:
        stop.set()
        for t in threads:
            t.join()
    assert not lost_quorum, f"quorum lost on {lost_quorum} while node3 joined"
    assert acked["node1"] and acked["node2"]
    sb.wait_synced()
    listing = {n: set(sb.exec(n, "sh", "-c", "ls /etc/drover").stdout.split())
               for n in sb.node_names}
    for node, paths in acked.items():
        for p in paths:
            name = p.rsplit("/", 1)[1]
            assert all(name in listing[n] for n in sb.node_names), f"{p} lost"

    # delnode of a powered-off node
    sb.stop("node3")
    sb.wait_quorate("node1", True)
    proc = drover(sb, "node1", "cluster", "delnode", "node1", check=False)
    assert proc.returncode == 1 and "this node" in proc.stderr
    proc = drover(sb, "node1", "cluster", "delnode", "nodeX", check=False)
    assert proc.returncode == 1 and "no node 'nodeX'" in proc.stderr
    out = drover(sb, "node1", "cluster", "delnode", "node3").stdout
    assert "deleting node node3 (node id 3)" in out
    for node in ("node1", "node2"):
        s = wait_for(f"{node}: 2 of 2", lambda n=node: (lambda s: s if (
            len(s["nodes"]) == 2 and s["expected_votes"] == 2) else None)(status_json(sb, n)),
            timeout=120)
        assert s["quorate"] and s["total_votes"] == 2
        assert "node3" not in sb.read_file(node, "/etc/corosync/corosync.conf")


def test_two_links_survive_the_loss_of_one(make_sandbox):
    sb = make_sandbox(nodes=3, networks=2)
    for node in sb.node_names:
        conf = sb.read_file(node, "/etc/corosync/corosync.conf")
        assert "ring1_addr: 10.99.1." in conf and "linknumber: 1" in conf
    sb.cut("node3", link=0)
    try:
        time.sleep(6)  # well past the token timeout: a lost link would have cost quorum
        for node in sb.node_names:
            assert sb.quorate(node) is True, node
        s = status_json(sb, "node1")
        node3 = [n for n in s["nodes"] if n["name"] == "node3"][0]
        assert node3["links"] == {"link0": False, "link1": True}, node3
        sb.write_file("node3", "/etc/drover/over-link1.txt", "ok\n")
        wait_for("file over link 1", lambda: sb.exec(
            "node1", "cat", "/etc/drover/over-link1.txt", check=False).stdout == "ok\n")
    finally:
        sb.heal("node3", link=0)


def test_updatecerts_renews_the_certificate_and_the_host_key(cluster3):
    sb = cluster3
    cert = "/etc/drover/nodes/node2/drover-ssl.pem"
    before = sb.read_file("node2", cert)
    sb.exec("node2", "sh", "-c", "rm -f /etc/ssh/ssh_host_ed25519_key* && "
            "ssh-keygen -q -t ed25519 -N '' -f /etc/ssh/ssh_host_ed25519_key")
    new_key = " ".join(sb.read_file("node2", "/etc/ssh/ssh_host_ed25519_key.pub").split()[:2])
    out = drover(sb, "node2", "cluster", "updatecerts").stdout
    assert "checked" in out
    assert sb.read_file("node2", cert) == before  # still valid: kept
    known = sb.read_file("node1", "/etc/drover/priv/known_hosts")
    assert f"node2,10.99.0.2 {new_key}" in known and known.count("node2,") == 1
    drover(sb, "node2", "cluster", "updatecerts", "--force")
    after = sb.read_file("node1", cert)
    assert after.startswith("-----BEGIN CERTIFICATE-----") and after != before
    text = sb.exec("node1", "openssl", "x509", "-noout", "-text", "-in", cert).stdout
    assert "DNS:node2" in text and "IP Address:10.99.0.2" in text
    proc = sb.exec("node1", "openssl", "verify", "-CAfile", "/etc/drover/drover-root-ca.pem",
                   cert)
    assert proc.stdout.strip().endswith("OK")
    proc = drover(sb, "node2", "cluster", "updatecerts", "--bogus", check=False)
    assert proc.returncode == 2


def test_separate_then_delnode_then_a_new_cluster(make_sandbox):
    sb = make_sandbox(nodes=3)
    sb.write_file("node3", "/etc/drover/nodes/node3/qemu-server/300.conf", "memory: 300\n")
    sb.wait_synced()
    out = drover(sb, "node3", "cluster", "separate").stdout
    assert "drover cluster delnode node3" in out
    status = sb.cfs_status("node3")
    assert status.get("Mode") == "local", status
    assert sb.read_file("node3", "/etc/drover/nodes/node3/qemu-server/300.conf") == "memory: 300\n"
    assert sb.exec("node3", "test", "-e", "/etc/drover/nodes/node1", check=False).returncode != 0
    assert sb.exec("node3", "test", "-e", "/etc/corosync/corosync.conf",
                   check=False).returncode != 0
    sb.write_file("node3", "/etc/drover/alone.txt", "mine\n")

    # the cluster still has quorum (2 of 3) and removes the node
    drover(sb, "node1", "cluster", "delnode", "node3")
    for node in ("node1", "node2"):
        wait_for(f"{node}: 2 of 2", lambda n=node: len(status_json(sb, n)["nodes"]) == 2)
    sb.write_file("node2", "/etc/drover/after.txt", "cluster\n")
    wait_for("after.txt on node1", lambda: sb.exec(
        "node1", "cat", "/etc/drover/after.txt", check=False).stdout == "cluster\n")
    assert sb.exec("node1", "test", "-e", "/etc/drover/alone.txt", check=False).returncode != 0

    # the separated node starts a cluster of its own
    drover(sb, "node3", "cluster", "create", "other", "--link0", sb.address("node3"))
    s = status_json(sb, "node3")
    assert s["cluster_name"] == "other" and s["quorate"] and len(s["nodes"]) == 1
    assert status_json(sb, "node1")["cluster_name"] == sb.name


def tx_bytes(sb, node, dev):
    out = sb.exec(node, "ip", "-s", "-j", "link", "show", dev).stdout
    return json.loads(out)[0]["stats64"]["tx"]["bytes"]


@pytest.mark.parametrize("high", [0, 1])


def test_link_priorities_choose_the_link(make_sandbox, high):
    """knet_link_priority from --linkN ADDR,priority=N: in passive mode the
    link with the highest priority carries the traffic; the other only its
    heartbeats."""
    low = 1 - high
    prio = {high: 20, low: 10}
    sb = bare(make_sandbox, nodes=2, networks=2)
    drover(sb, "node1", "cluster", "create", sb.name, "--link0", f"10.99.0.1,priority={prio[0]}",
           "--link1", f"10.99.1.1,priority={prio[1]}")
    drover(sb, "node2", "cluster", "add", "10.99.0.1", "--link0", "10.99.0.2", "--link1",
           "10.99.1.2")
    conf = sb.read_file("node2", "/etc/corosync/corosync.conf")
    for link in (0, 1):
        assert re.search(rf"linknumber: {link}\s+knet_link_priority: {prio[link]}", conf), conf
    for node in sb.node_names:
        wait_for(f"{node} quorate", lambda n=node: status_json(sb, n)["quorate"])
    before = {link: tx_bytes(sb, "node1", f"eth{link}") for link in (0, 1)}
    sb.exec("node1", "sh", "-c", "mkdir -p /etc/drover/prio && for i in $(seq 200); do "
            "head -c 2000 /dev/urandom > /etc/drover/prio/f$i; done")
    sent = {link: tx_bytes(sb, "node1", f"eth{link}") - before[link] for link in (0, 1)}
    assert sent[high] > 200 * 2000, sent  # every file went over the preferred link
    assert sent[low] < sent[high] / 5, sent
