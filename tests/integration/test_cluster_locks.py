"""droverfs cluster mode: a lock (mkdir priv/lock/NAME) is held by one node at a time."""
import concurrent.futures
import subprocess
import time

import pytest

from polling import wait_for

CONTEND = (
    # argv: node, lock path, holders dir, seconds, start time
    # Each round until the end time: try mkdir LOCK; on success note the hold
    # as a file HOLDERS/NODE-ROUND in the host's /tmp (shared by the nodes)
    # with the time taken and released, check that no other holder's file is
    # open (the 'current' marker), then rmdir LOCK and do something else for a
    # few ms, as a real lock user would (a holder that asks again at once
    # would win every free moment, and the test would measure start-up order).
    # Prints counts.
    "import os, sys, time, errno, random\n"
    "node, lock, holders, seconds, start = sys.argv[1], sys.argv[2], sys.argv[3], "
    "float(sys.argv[4]), float(sys.argv[5])\n"
    "while time.time() < start: time.sleep(0.001)\n"
    "got = busy = other = 0\n"
    "overlap, errors = [], []\n"
    "cur = os.path.join(holders, 'current')\n"
    "r = -1\n"
    "while time.time() < start + seconds:\n"
    "    r += 1\n"
    "    try:\n"
    "        os.mkdir(lock)\n"
    "    except OSError as e:\n"
    "        if e.errno == errno.EEXIST: busy += 1\n"
    "        else: other += 1; errors.append(f'error {r} {e.strerror}')\n"
    "        time.sleep(0.002)\n"
    "        continue\n"
    "    got += 1\n"
    "    t0 = time.monotonic_ns()\n"
    "    try:\n"
    "        fd = os.open(cur, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o644)\n"
    "        os.write(fd, f'{node} {r}'.encode()); os.close(fd)\n"
    "    except FileExistsError:\n"
    "        with open(cur) as f: overlap.append(f'{node} {r} while {f.read()}')\n"
    "        fd = None\n"
    "    time.sleep(0.003)\n"
    "    if fd is not None: os.unlink(cur)\n"
    "    t1 = time.monotonic_ns()\n"
    "    with open(os.path.join(holders, f'{node}-{r}'), 'w') as f: f.write(f'{t0} {t1}')\n"
    "    os.rmdir(lock)\n"
    "    time.sleep(random.uniform(0.002, 0.008))\n"
    "print('got', got, 'busy', busy, 'other', other)\n"
    "for o in overlap: print('overlap', o)\n"
    "for e in errors: print(e)\n")


@pytest.fixture(scope="module")
def sb(sb):
    # priv/lock is part of the layout droverfs makes; make sure (a missing
    # layout is test_cluster_basic.py::test_every_node_has_its_directories)
    sb.exec("node1", "mkdir", "-p", "/etc/drover/priv/lock")
    for node in sb.node_names:
        wait_for(f"priv/lock on {node}", lambda n=node: sb.exec(
            n, "test", "-d", "/etc/drover/priv/lock", check=False).returncode == 0, 15)
    return sb


def test_lock_contention_from_all_nodes(sb, tmp_path):
    """Every node takes and releases the same lock in a loop: the holds never
    overlap (the host's monotonic clock is the nodes' clock too) and the lock is
    free at the end everywhere."""
    holders = tmp_path / "holders"
    holders.mkdir()
    lock = "/etc/drover/priv/lock/contended"
    seconds = 4.0
    start = time.time() + 1.5
    with concurrent.futures.ThreadPoolExecutor(3) as pool:
        futures = {n: pool.submit(sb.exec, n, "/usr/bin/python3", "-c", CONTEND, n, lock,
                                  str(holders), seconds, start, timeout=60)
                   for n in sb.node_names}
        try:
            outputs = {n: f.result().stdout for n, f in futures.items()}
        except subprocess.TimeoutExpired as e:
            raise AssertionError(f"a contender hangs ({e.cmd[5]}):\n{sb.debug_dump()}")
    got = {}
    for node, out in outputs.items():
        first = out.splitlines()[0].split()
        assert first[0] == "got", out
        got[node] = int(first[1])
        assert int(first[5]) == 0, f"{node}: errors other than EEXIST:\n{out}"
        assert "overlap" not in out, f"{node}: two holders at once:\n{out}"
    holds = []
    for p in holders.iterdir():
        if p.name != "current":
            t0, t1 = map(int, p.read_text().split())
            holds.append((t0, t1, p.name))
    assert len(holds) == sum(got.values())
    assert all(got.values()), got  # contention, but every node gets it sometimes
    holds.sort()
    for a, b in zip(holds, holds[1:]):
        assert a[1] <= b[0], f"{a[2]} and {b[2]} held the lock at the same time"
    print("acquired:", got)
    sb.wait_synced()
    for node in sb.node_names:
        assert sb.exec(node, "test", "-e", lock, check=False).returncode == 1, node


def test_lock_taken_on_one_node_is_busy_on_the_others(sb):
    sb.exec("node2", "mkdir", "/etc/drover/priv/lock/held")
    for node in sb.node_names:
        proc = sb.exec(node, "mkdir", "/etc/drover/priv/lock/held", check=False)
        assert proc.returncode != 0 and "File exists" in proc.stderr, (node, proc.stderr)
    sb.exec("node3", "rmdir", "/etc/drover/priv/lock/held")
    sb.exec("node1", "mkdir", "/etc/drover/priv/lock/held")
    proc = sb.exec("node2", "mkdir", "/etc/drover/priv/lock/held", check=False)
    assert "File exists" in proc.stderr
    sb.exec("node1", "rmdir", "/etc/drover/priv/lock/held")


UNLOCK = (
    # argv: lock path -- utime(lock, 0): the request to release a lock whose
    # holder stopped refreshing it; prints ok or the errno name
    "import errno, os, sys\n"
    "try:\n"
    "    os.utime(sys.argv[1], (0, 0)); print('ok')\n"
    "except OSError as e:\n"
    "    print(errno.errorcode[e.errno])\n")


def test_dead_holders_lock_taken_over_after_its_lifetime_and_ages_survive_a_resync(
        make_sandbox):
    """A lock whose holder stopped refreshing it can be released by another
    node once it has gone unrefreshed for the lock lifetime (here 10 s,
    --lock-lifetime; 120 s by default), not before; a refresh starts the
    lifetime again; and a node that was cut off and resynchronised meanwhile
    counts the age from when it first saw the lock, not from the resync."""
    life = 10
    sb = make_sandbox(nodes=3)
    for n in sb.node_names:
        sb.restart(n, "droverfs", droverfs_args=["--lock-lifetime", str(life)])
    sb.wait_synced(timeout=60)
    lock = "/etc/drover/priv/lock/takeover"
    sb.exec("node1", "mkdir", "-p", "/etc/drover/priv/lock")
    sb.wait_synced()

    def unlock(node):
        return sb.exec(node, "/usr/bin/python3", "-c", UNLOCK, lock).stdout.strip()

    sb.exec("node1", "mkdir", lock)
    t0 = time.monotonic()
    sb.wait_synced()
    assert "File exists" in sb.exec("node2", "mkdir", lock, check=False).stderr
    assert unlock("node2") == "EACCES"  # fresh: its holder may be alive
    # node3 misses everything for a while and comes back through a resync
    sb.cut("node3")
    sb.wait_quorate("node3", False, timeout=60)
    sb.heal("node3")
    sb.wait_quorate("node3", True, timeout=60)
    sb.wait_synced(timeout=60)
    assert time.monotonic() - t0 > life, "the cut was too short to tell the ages apart"
    # the age counts from the lock's creation as node3 saw it: expired now
    assert unlock("node3") == "ok"
    sb.wait_synced()
    sb.exec("node3", "mkdir", lock)  # taken over
    t1 = time.monotonic()
    # its new holder refreshes it: the lifetime starts again
    time.sleep(life * 0.6)
    sb.exec("node3", "touch", "-m", lock)
    t2 = time.monotonic()
    while time.monotonic() < t1 + life + 1:
        time.sleep(0.2)
    assert unlock("node2") == "EACCES", "refreshed less than a lifetime ago"
    while time.monotonic() < t2 + life + 1:
        time.sleep(0.2)
    assert unlock("node2") == "ok"
    sb.wait_synced()
    sb.exec("node2", "mkdir", lock)
