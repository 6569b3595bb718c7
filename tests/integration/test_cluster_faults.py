"""droverfs cluster mode: daemons killed (-9) and restarted, a cold start of the
whole cluster, and a node that was changed in local mode rejoining."""
import glob
import os
import sqlite3
import subprocess

import pytest

from polling import wait_for

WRITE_MANY = (
    # argv: directory, prefix, count -- writes DIR/PREFIX-I with "PREFIX I\n"
    'mkdir -p "$1" 2>/dev/null; i=1; while [ $i -le $3 ]; do '
    'echo "$2 $i" > "$1/$2-$i" || { echo "write $2-$i failed" >&2; exit 1; }; '
    'i=$((i+1)); done')


def start_writer(sb, node, directory, prefix, count):
    """Background writer in node: Popen of `drover sandbox exec`."""
    return subprocess.Popen([sb.drover, "sandbox", "exec", "--name", sb.name, node, "--",
                             "sh", "-c", WRITE_MANY, "sh", directory, prefix, str(count)],
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)


def finish(proc, sb, timeout=90):
    try:
        out, err = proc.communicate(timeout=timeout)
    except subprocess.TimeoutExpired:
        dump = sb.debug_dump(20)
        proc.kill()
        out, err = proc.communicate()
        raise AssertionError(f"writer on {proc.args[5]} hangs after {timeout} s: {err}\n{dump}")
    assert proc.returncode == 0, f"{err}\n{sb.debug_dump(20)}"


def count_files(sb, node, directory):
    proc = sb.exec(node, "sh", "-c", f'ls "{directory}" 2>/dev/null | wc -l', check=False)
    return int(proc.stdout.strip() or 0)


def check_written(tree, directory, prefix, count):
    import hashlib
    for i in range(1, count + 1):
        key = f"{directory}/{prefix}-{i}"
        assert tree.get(key) == hashlib.md5(f"{prefix} {i}\n".encode()).hexdigest(), key


def test_kill_droverfs_during_writes_then_catch_up(make_sandbox):
    sb = make_sandbox(nodes=3)
    sb.wait_synced()
    sb.exec("node1", "mkdir", "/etc/drover/k")
    writers = [start_writer(sb, n, "/etc/drover/k", n, 150) for n in ("node1", "node2")]
    wait_for("the writers to start", lambda: count_files(sb, "node3", "/etc/drover/k") >= 20, 30)
    sb.stop("node3", "droverfs", kill=True)
    assert sb.pid("node3", "droverfs") is None
    for w in writers:
        finish(w, sb)
    sb.start("node3", "droverfs")
    tree = sb.wait_trees_equal()
    for n in ("node1", "node2"):
        check_written(tree, "k", n, 150)
    assert sb.read_file("node3", "/etc/drover/k/node2-150") == "node2 150\n"
    sb.write_file("node3", "/etc/drover/k/node3-after", "back\n")
    assert sb.wait_trees_equal()["k/node3-after"]


def test_kill_corosync_then_restart_catches_up(make_sandbox):
    sb = make_sandbox(nodes=3)
    sb.wait_synced()
    sb.exec("node1", "mkdir", "/etc/drover/c")
    writers = [start_writer(sb, n, "/etc/drover/c", n, 100) for n in ("node1", "node2")]
    wait_for("the writers to start", lambda: count_files(sb, "node3", "/etc/drover/c") >= 10, 30)
    sb.stop("node3", "corosync", kill=True)
    for w in writers:
        finish(w, sb)
    # node3's droverfs has lost corosync: read-only, reads still work
    wait_for("node3 to become read-only",
             lambda: "read-only" in sb.cfs_status("node3").get("State", "") or
             sb.exec("node3", "sh", "-c", "echo x > /etc/drover/c/node3-nocs",
                     check=False).returncode != 0, 30)
    sb.exec("node3", "ls", "/etc/drover/c")
    assert sb.wait_seen_gone("node3")  # (see there: a corosync stall otherwise)
    sb.start("node3", "corosync")
    sb.wait_quorate("node3", True)
    tree = sb.wait_trees_equal(timeout=90)
    for n in ("node1", "node2"):
        check_written(tree, "c", n, 100)
    assert "c/node3-nocs" not in tree
    sb.write_file("node3", "/etc/drover/c/node3-after", "back\n")
    assert sb.wait_trees_equal()["c/node3-after"]


def test_cold_start_of_the_whole_cluster(make_sandbox):
    sb = make_sandbox(nodes=3)
    sb.wait_synced()
    sb.exec("node1", "mkdir", "/etc/drover/cold")
    for n in sb.node_names:
        sb.exec(n, "sh", "-c", WRITE_MANY, "sh", "/etc/drover/cold", n, 20, timeout=60)
    sb.write_file("node2", "/etc/drover/cold/big", "x" * 200000)
    before = sb.wait_trees_equal()
    for n in sb.node_names:
        sb.stop(n)
    for n in sb.node_names:
        assert all(sb.pid(n, d) is None for d in ("corosync", "droverfs"))
    for n in sb.node_names:
        sb.start(n)
    for n in sb.node_names:
        sb.wait_quorate(n, True, timeout=60)
    after = sb.wait_trees_equal(timeout=60)
    assert {k: v for k, v in after.items() if k in before} == before
    # the only new entries allowed: a node's own layout made at start
    layout = {f"nodes/{n}{sub}" for n in sb.node_names
              for sub in ("", "/qemu-server", "/lxc", "/priv")}
    assert set(after) - set(before) <= layout, sorted(set(after) - set(before))
    sb.write_file("node3", "/etc/drover/cold/after", "writable again\n")
    assert sb.wait_trees_equal()["cold/after"]


def backups(sb, node):
    return sorted(glob.glob(os.path.join(sb.host_path(node, "var-lib-drover"), "backup",
                                         "config-*-v*.db")))


def test_local_mode_changes_do_not_win_and_are_backed_up(make_sandbox):
    sb = make_sandbox(nodes=3)
    sb.wait_synced()
    sb.write_file("node1", "/etc/drover/shared.conf", "cluster v1\n")
    sb.wait_synced()
    # (a fresh node may have backed up its first tree when it joined)
    old = {n: backups(sb, n) for n in sb.node_names}

    # node3 alone, in local mode: writable without quorum
    sb.restart("node3", "droverfs", droverfs_args=["-l"])
    assert "Mode:             local" in sb.exec("node3", "drover", "cfs", "status").stdout
    sb.write_file("node3", "/etc/drover/shared.conf", "local change on node3\n")
    sb.write_file("node3", "/etc/drover/local-only.conf", "made in local mode\n")
    # the cluster (node1, node2 are quorate) goes on meanwhile
    sb.wait_synced(["node1", "node2"])
    sb.write_file("node2", "/etc/drover/shared.conf", "cluster v2\n")
    sb.write_file("node1", "/etc/drover/cluster-new.conf", "new in the cluster\n")
    sb.wait_synced(["node1", "node2"])

    sb.restart("node3", "droverfs")
    sb.wait_quorate("node3", True)
    tree = sb.wait_trees_equal(timeout=60)
    assert "local-only.conf" not in tree
    assert "cluster-new.conf" in tree
    for n in sb.node_names:
        assert sb.read_file(n, "/etc/drover/shared.conf") == "cluster v2\n", n
        assert sb.exec(n, "test", "-e", "/etc/drover/local-only.conf",
                       check=False).returncode == 1, n

    found = [b for b in backups(sb, "node3") if b not in old["node3"]]
    assert found, f"no backup in node3's /var/lib/drover/backup: {sb.log('node3')[-3000:]}"
    contents = {}
    db = sqlite3.connect(f"file:{found[-1]}?mode=ro", uri=True)
    try:
        for name, data in db.execute(
                "SELECT e.name, c.data FROM entry e JOIN content c ON c.inode = e.inode"):
            contents[name] = bytes(data)
    finally:
        db.close()
    assert contents.get("local-only.conf") == b"made in local mode\n", sorted(contents)
    assert contents.get("shared.conf") == b"local change on node3\n"
    # the cluster's nodes keep no backup: their tree was not replaced
    assert backups(sb, "node1") == old["node1"] and backups(sb, "node2") == old["node2"]
