"""droverfs cluster mode: partitions. A node without quorum is read-only; healed,
it catches up and all trees are equal again."""
import time

import pytest

TRY_WRITE = (
    # argv: path, data -> prints ok or the errno name of the failure
    "import errno, sys\n"
    "try:\n"
    "    with open(sys.argv[1], 'w') as f:\n"
    "        f.write(sys.argv[2])\n"
    "    print('ok')\n"
    "except OSError as e:\n"
    "    print(errno.errorcode.get(e.errno, e.errno))\n")


def try_write(sb, node, path, data="x\n"):
    return sb.exec(node, "/usr/bin/python3", "-c", TRY_WRITE, path, data,
                   timeout=60).stdout.strip()


def wait_write_result(sb, node, path, want, timeout=45):
    """Poll try_write until it gives want ('ok' or 'EACCES')."""
    deadline = time.time() + timeout
    while True:
        got = try_write(sb, node, path)
        if got == want:
            return
        assert time.time() < deadline, f"{node}: write of {path} gives {got}, not {want}"
        time.sleep(0.3)


def write_many(sb, node, prefix, count):
    sb.exec(node, "sh", "-c",
            'i=1; while [ $i -le $2 ]; do echo "$1 $i" > "/etc/drover/part/$1-$i" || exit 1; '
            'i=$((i+1)); done', "sh", prefix, count, timeout=60)


@pytest.fixture(scope="module")
def sb(sb):
    sb.exec("node1", "mkdir", "-p", "/etc/drover/part")
    sb.write_file("node1", "/etc/drover/part/before", "before the cut\n")
    sb.wait_synced()
    return sb


@pytest.fixture
def healed(sb):
    """Heal every node after the test, whatever happened."""
    yield sb
    for node in sb.node_names:
        sb.heal(node)


def test_cut_one_node_is_read_only_others_write(healed):
    sb = healed
    sb.cut("node3")
    sb.wait_quorate("node3", False)
    assert sb.quorate("node1") and sb.quorate("node2")
    wait_write_result(sb, "node3", "/etc/drover/part/node3-cut", "EACCES")
    # reads keep working, also of directories; mkdir/rm are refused too
    assert sb.read_file("node3", "/etc/drover/part/before") == "before the cut\n"
    assert "before" in sb.exec("node3", "ls", "/etc/drover/part").stdout
    assert sb.exec("node3", "mkdir", "/etc/drover/part/d3", check=False).returncode != 0
    assert sb.exec("node3", "rm", "/etc/drover/part/before", check=False).returncode != 0
    assert "read-only" in sb.cfs_status("node3")["State"]
    # the majority keeps writing
    wait_write_result(sb, "node1", "/etc/drover/part/node1-probe", "ok")
    write_many(sb, "node1", "m1", 30)
    write_many(sb, "node2", "m2", 30)
    sb.exec("node2", "rm", "/etc/drover/part/node1-probe")
    sb.write_file("node1", "/etc/drover/part/before", "changed during the cut\n")
    assert sb.read_file("node3", "/etc/drover/part/before") == "before the cut\n"

    sb.heal("node3")
    sb.wait_quorate("node3", True)
    tree = sb.wait_trees_equal()
    for w in ("m1", "m2"):
        for i in range(1, 31):
            assert f"part/{w}-{i}" in tree
    assert "part/node3-cut" not in tree and "part/node1-probe" not in tree
    assert "part/d3" not in tree
    assert sb.read_file("node3", "/etc/drover/part/m2-30") == "m2 30\n"
    assert sb.read_file("node3", "/etc/drover/part/before") == "changed during the cut\n"
    wait_write_result(sb, "node3", "/etc/drover/part/node3-after", "ok")
    tree = sb.wait_trees_equal()
    assert "part/node3-after" in tree


def test_cut_two_of_three_nobody_has_quorum(healed):
    sb = healed
    sb.cut("node2")
    sb.cut("node3")
    for node in sb.node_names:
        sb.wait_quorate(node, False)
    for node in sb.node_names:
        wait_write_result(sb, node, f"/etc/drover/part/{node}-alone", "EACCES")
        assert sb.read_file(node, "/etc/drover/part/before") == "changed during the cut\n"
        assert "read-only" in sb.cfs_status(node)["State"]

    sb.heal_all("node2", "node3")
    for node in sb.node_names:
        wait_write_result(sb, node, f"/etc/drover/part/{node}-healed", "ok")
    tree = sb.wait_trees_equal()
    for node in sb.node_names:
        assert f"part/{node}-healed" in tree
        assert f"part/{node}-alone" not in tree
