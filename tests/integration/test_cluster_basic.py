"""droverfs cluster mode: replication between the nodes of a 3-node sandbox."""
import concurrent.futures
import hashlib
import json
import os
import time

import pytest

WRITE_MANY = (
    # argv: directory, prefix, count -- writes DIR/PREFIX-I with "PREFIX I\n"
    'd=$1; p=$2; n=$3; mkdir -p "$d" 2>/dev/null; i=1\n'
    'while [ $i -le $n ]; do printf "%s %s\\n" "$p" "$i" > "$d/$p-$i" || exit 1; '
    'i=$((i+1)); done\n')


def run_on_all(sb, fn, nodes=None):
    """fn(node) on every node in parallel threads; {node: result}."""
    nodes = nodes or sb.node_names
    with concurrent.futures.ThreadPoolExecutor(len(nodes)) as pool:
        futures = {n: pool.submit(fn, n) for n in nodes}
        return {n: f.result() for n, f in futures.items()}


def test_every_node_has_its_directories(sb):
    """Every node makes nodes/<itself>/{qemu-server,lxc,priv} (and priv/lock) once
    quorate; all nodes see all of them."""
    tree = sb.wait_trees_equal()
    want = {"priv", "priv/lock", "nodes"}
    for n in sb.node_names:
        want |= {f"nodes/{n}", f"nodes/{n}/qemu-server", f"nodes/{n}/lxc", f"nodes/{n}/priv"}
    missing = sorted(p for p in want if tree.get(p) != "dir")
    assert not missing, f"missing directories: {missing}"


def test_file_written_anywhere_is_read_everywhere(sb):
    for writer in sb.node_names:
        path = f"/etc/drover/from-{writer}.txt"
        data = f"written on {writer} at {time.time()}\n"
        sb.write_file(writer, path, data)
        for reader in sb.node_names:
            # the writer's close() returned after the change was applied on its
            # node; the others apply it in the same order, poll briefly
            deadline = time.time() + 10
            while True:
                proc = sb.exec(reader, "cat", path, check=False)
                if proc.returncode == 0 and proc.stdout == data:
                    break
                assert time.time() < deadline, (reader, proc.stdout, proc.stderr)
                time.sleep(0.1)


def test_concurrent_writers_shared_directory(sb):
    """3 nodes write 100 files each into one directory at once: identical trees."""
    sb.exec("node1", "mkdir", "/etc/drover/shared")
    run_on_all(sb, lambda n: sb.exec(n, "sh", "-c", WRITE_MANY, "sh",
                                     "/etc/drover/shared", n, 100, timeout=60))
    tree = sb.wait_trees_equal()
    names = sorted(k for k in tree if k.startswith("shared/"))
    assert len(names) == 300
    for node in sb.node_names:
        listing = sb.exec(node, "ls", "/etc/drover/shared").stdout.split()
        assert sorted(listing) == sorted(f"{w}-{i}" for w in sb.node_names
                                         for i in range(1, 101))
        # the content of a few files read directly on each node
        out = sb.exec(node, "sh", "-c", "cat /etc/drover/shared/node1-7 "
                      "/etc/drover/shared/node2-100 /etc/drover/shared/node3-1").stdout
        assert out == "node1 7\nnode2 100\nnode3 1\n"
    for w in sb.node_names:
        for i in (1, 50, 100):
            assert tree[f"shared/{w}-{i}"] == hashlib.md5(f"{w} {i}\n".encode()).hexdigest()


def test_concurrent_writers_separate_directories(sb):
    run_on_all(sb, lambda n: sb.exec(n, "sh", "-c", WRITE_MANY, "sh",
                                     f"/etc/drover/sep-{n}", n, 100, timeout=60))
    tree = sb.wait_trees_equal()
    for w in sb.node_names:
        files = [k for k in tree if k.startswith(f"sep-{w}/")]
        assert len(files) == 100
        for i in range(1, 101):
            assert tree[f"sep-{w}/{w}-{i}"] == hashlib.md5(f"{w} {i}\n".encode()).hexdigest()


RENAME_WATCH = (
    # argv: path, seconds -- reads path in a loop; prints the errors seen and the
    # last content
    "import sys, time\n"
    "path, end = sys.argv[1], time.time() + float(sys.argv[2])\n"
    "errors, last = [], None\n"
    "while time.time() < end:\n"
    "    try:\n"
    "        with open(path) as f:\n"
    "            last = f.read()\n"
    "    except OSError as e:\n"
    "        errors.append(e.strerror)\n"
    "print(len(errors), sorted(set(errors)), repr(last))\n")


def test_rename_over_is_atomic_on_other_nodes(sb):
    """A file replaced by temp file + rename on one node (how every config is
    saved) never goes missing on the others: a reader there sees the old or the
    new content, never ENOENT."""
    sb.write_file("node1", "/etc/drover/atomic.conf", "version 0\n")
    sb.wait_synced()
    readers = {}
    with concurrent.futures.ThreadPoolExecutor(2) as pool:
        for node in ("node1", "node3"):
            readers[node] = pool.submit(sb.exec, node, "/usr/bin/python3", "-c", RENAME_WATCH,
                                        "/etc/drover/atomic.conf", 6)
        time.sleep(1)  # the readers run meanwhile (they stop on their own)
        for i in range(1, 11):
            sb.exec("node2", "sh", "-c", f'echo "version {i}" > /etc/drover/atomic.new && '
                    'mv /etc/drover/atomic.new /etc/drover/atomic.conf')
        results = {n: f.result().stdout.strip() for n, f in readers.items()}
    for node, out in results.items():
        assert out.startswith("0 [] "), f"reader on {node}: {out}"
        assert out.endswith("'version 10\\n'"), f"reader on {node}: {out}"


def test_members_lists_every_node_online(sb):
    for node in sb.node_names:
        members = json.loads(sb.read_file(node, "/etc/drover/.members"))
        assert members["nodename"] == node
        assert members["cluster"]["name"] == sb.name
        assert members["cluster"]["nodes"] == 3
        assert members["cluster"]["online"] == 3
        assert members["cluster"]["quorate"] == 1
        assert sorted(members["nodelist"]) == sb.node_names
        for k, name in enumerate(sb.node_names, 1):
            entry = members["nodelist"][name]
            assert entry["id"] == k and entry["online"] == 1
            assert entry["ip"] == sb.address(name)


def test_large_file_replicates_byte_identical(sb, tmp_path):
    # /tmp is the host's /tmp inside the nodes too (only /run and a few
    # directories are private)
    data = os.urandom(3 * 1024 * 1024)
    src = f"/tmp/drover-cluster-big-{os.getpid()}"
    with open(src, "wb") as f:
        f.write(data)
    try:
        sb.exec("node2", "cp", src, "/etc/drover/big.bin")
    finally:
        os.unlink(src)
    want = hashlib.md5(data).hexdigest()
    tree = sb.wait_trees_equal()
    assert tree["big.bin"] == want
    for node in sb.node_names:
        out = sb.exec(node, "sh", "-c", "stat -c %s /etc/drover/big.bin; "
                      "md5sum < /etc/drover/big.bin").stdout.split()
        assert out[0] == str(len(data)) and out[1] == want


CLAIM_VMIDS = (
    # argv: node, start time, first vmid, count: create nodes/NODE/qemu-server/V.conf
    "import errno, os, sys, time\n"
    "node, start, first, count = sys.argv[1], float(sys.argv[2]), int(sys.argv[3]), int(sys.argv[4])\n"
    "while time.time() < start: time.sleep(0.001)\n"
    "for v in range(first, first + count):\n"
    "    p = f'/etc/drover/nodes/{node}/qemu-server/{v}.conf'\n"
    "    try:\n"
    "        fd = os.open(p, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o640)\n"
    "        os.write(fd, f'name: {node}\\n'.encode())\n"
    "        os.close(fd)\n"
    "        print(v, 'ok')\n"
    "    except OSError as e:\n"
    "        print(v, errno.errorcode[e.errno])\n")


def test_same_vmid_on_two_nodes_at_once_one_wins(sb):
    """Two nodes create the same VMID in their own qemu-server dir at the same
    moment: one succeeds, the other gets EEXIST, every node agrees."""
    first, count = 700, 40
    # (the layout should be there already, see test_every_node_has_its_directories;
    # make it here so that this test checks the VMID rule only)
    sb.exec("node1", "mkdir", "-p", "/etc/drover/nodes/node1/qemu-server",
            "/etc/drover/nodes/node2/qemu-server")
    sb.wait_synced()
    start = time.time() + 1.0
    results = run_on_all(sb, lambda n: sb.exec(
        n, "/usr/bin/python3", "-c", CLAIM_VMIDS, n, start, first, count, timeout=60).stdout,
        nodes=["node1", "node2"])
    outcome = {n: dict(line.split() for line in out.splitlines()) for n, out in results.items()}
    winners = {}
    for v in range(first, first + count):
        got = sorted((outcome["node1"][str(v)], outcome["node2"][str(v)]))
        assert got == ["EEXIST", "ok"], (v, got)
        winners[v] = "node1" if outcome["node1"][str(v)] == "ok" else "node2"
    tree = sb.wait_trees_equal()
    for v, w in winners.items():
        loser = "node2" if w == "node1" else "node1"
        assert f"nodes/{w}/qemu-server/{v}.conf" in tree
        assert f"nodes/{loser}/qemu-server/{v}.conf" not in tree
    for node in sb.node_names:
        ids = json.loads(sb.read_file(node, "/etc/drover/.vmlist"))["ids"]
        for v, w in winners.items():
            assert ids[str(v)]["node"] == w and ids[str(v)]["type"] == "qemu"
    print("winners:", {w: sum(1 for x in winners.values() if x == w) for w in ("node1", "node2")})


HOLD_OPEN = (
    # argv: path, data, go-file: create (O_EXCL), write, wait for go-file, close
    "import errno, os, sys, time\n"
    "path, data, go = sys.argv[1], sys.argv[2].encode(), sys.argv[3]\n"
    "try:\n"
    "    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o640)\n"
    "except OSError as e:\n"
    "    print('open', errno.errorcode[e.errno], flush=True); sys.exit()\n"
    "os.write(fd, data)\n"
    "print('written', flush=True)\n"
    "while not os.path.exists(go): time.sleep(0.01)\n"
    "try:\n"
    "    os.close(fd)\n"
    "    print('closed ok', flush=True)\n"
    "except OSError as e:\n"
    "    print('close', errno.errorcode[e.errno], flush=True)\n")


def start_holders(sb, script, path, go, data_for):
    """`script` (HOLD_OPEN-like) on node1 and node2 at once; returns their Popen
    objects once both have written and wait for the go-file to close."""
    import subprocess
    procs = {n: subprocess.Popen(
        [sb.drover, "sandbox", "exec", "--name", sb.name, n, "--", "/usr/bin/python3", "-c",
         script, path, data_for(n), str(go)], stdout=subprocess.PIPE, text=True)
        for n in ("node1", "node2")}
    try:
        for n, p in procs.items():
            assert p.stdout.readline().strip() == "written", n
    except BaseException:
        go.touch()
        raise
    return procs


def test_new_file_appears_whole_and_o_excl_has_one_winner(sb, tmp_path):
    """A new file is invisible to the other nodes until its creator closes it,
    then whole. Two nodes creating the same name with O_EXCL at once: both
    opens succeed (neither node can know), exactly one close does, and the
    loser's file is nowhere."""
    go = tmp_path / "go"
    path = "/etc/drover/excl-race"
    procs = start_holders(sb, HOLD_OPEN, path, go, lambda n: f"from {n}")
    try:
        # written, not closed: node3 sees nothing, each writer's node its own empty file
        assert sb.exec("node3", "test", "-e", path, check=False).returncode != 0
        assert sb.exec("node1", "stat", "-c", "%s", path).stdout.strip() == "0"
    finally:
        go.touch()
    results = {n: p.communicate(timeout=30)[0].strip() for n, p in procs.items()}
    assert sorted(results.values()) == ["close EEXIST", "closed ok"], results
    winner = next(n for n, r in results.items() if r == "closed ok")
    for n in sb.node_names:
        deadline = time.time() + 10
        while sb.exec(n, "cat", path, check=False).stdout != f"from {winner}":
            assert time.time() < deadline, (n, sb.exec(n, "cat", path, check=False))
            time.sleep(0.1)


HOLD_APPEND = HOLD_OPEN.replace("os.O_EXCL", "os.O_APPEND")


def test_two_nodes_appending_to_a_new_file_keep_both_lines(sb, tmp_path):
    """`>>` to a name that exists nowhere yet, on two nodes at once: both
    lines are kept (the second create appends to what the first made)."""
    go = tmp_path / "go"
    path = "/etc/drover/append-race"
    procs = start_holders(sb, HOLD_APPEND, path, go, lambda n: f"{n}\n")
    go.touch()
    results = {n: p.communicate(timeout=30)[0].strip() for n, p in procs.items()}
    assert all(r == "closed ok" for r in results.values()), results
    for n in sb.node_names:
        deadline = time.time() + 10
        while sorted(sb.exec(n, "cat", path, check=False).stdout.splitlines()) != \
                ["node1", "node2"]:
            assert time.time() < deadline, (n, sb.exec(n, "cat", path, check=False).stdout)
            time.sleep(0.1)


def test_watch_on_one_node_sees_changes_made_on_another(sb):
    """`drover cfs watch` on node3 reports what node1 changes, in order."""
    import subprocess
    sb.exec("node1", "mkdir", "-p", "/etc/drover/watched")
    sb.wait_synced()
    watcher = subprocess.Popen(
        [sb.drover, "sandbox", "exec", "--name", sb.name, "node3", "--", "drover", "cfs",
         "watch", "watched", "-n", "3", "--output-format", "json"],
        stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    time.sleep(1.0)  # the watch is registered
    sb.exec("node1", "/usr/bin/python3", "-c",
            "import os\n"
            "p = '/etc/drover/watched/f'\n"
            "open(p, 'w').write('one\\n')\n"
            "open(p, 'a').write('two\\n')\n"
            "os.unlink(p)\n")
    out, err = watcher.communicate(timeout=30)
    assert watcher.returncode == 0, err
    evs = [json.loads(line) for line in out.splitlines()]
    assert [(e["op"], e["path"]) for e in evs] == [
        ("create", "watched/f"), ("write", "watched/f"), ("unlink", "watched/f")], evs
    versions = [e["version"] for e in evs]
    assert versions == sorted(versions)


HOLD_WRITER = (
    # argv: path, go-file: open path for writing, write, wait for go-file, then
    # use the descriptor (fstat, pread, write) and close it
    "import errno, os, sys, time\n"
    "path, go = sys.argv[1], sys.argv[2]\n"
    "fd = os.open(path, os.O_RDWR)\n"
    "os.pwrite(fd, b'from the writer\\n', 0)\n"
    "print('written', flush=True)\n"
    "while not os.path.exists(go): time.sleep(0.01)\n"
    "st = os.fstat(fd)\n"
    "data = os.pread(fd, 100, 0)\n"
    "os.write(fd, b'more')\n"
    "try:\n"
    "    os.close(fd)\n"
    "    res = 'closed ok'\n"
    "except OSError as e:\n"
    "    res = 'close ' + errno.errorcode[e.errno]\n"
    "print(st.st_nlink, st.st_size, repr(data), res, flush=True)\n")


@pytest.mark.parametrize("how", ["replace", "unlink"])
def test_file_removed_elsewhere_while_written_here(sb, tmp_path, how):
    """node2 replaces (save by rename) or removes a file that a program on node1
    is writing: the program's descriptor keeps working on its own copy and its
    close succeeds; its writes went to the file that is gone, as in POSIX."""
    import subprocess
    path = f"/etc/drover/held-{how}.conf"
    sb.write_file("node1", path, "version 1\n")
    sb.wait_synced()
    go = tmp_path / "go"
    holder = subprocess.Popen(
        [sb.drover, "sandbox", "exec", "--name", sb.name, "node1", "--", "/usr/bin/python3",
         "-c", HOLD_WRITER, path, str(go)], stdout=subprocess.PIPE, text=True)
    try:
        assert holder.stdout.readline().strip() == "written"
        if how == "replace":
            sb.exec("node2", "sh", "-c", f'echo "version 2" > {path}.new && mv {path}.new {path}')
        else:
            sb.exec("node2", "rm", path)
        want = "version 2\n" if how == "replace" else ""
        deadline = time.time() + 10
        while sb.exec("node1", "cat", path, check=False).stdout != want:
            assert time.time() < deadline
            time.sleep(0.1)
    finally:
        go.touch()
    out = holder.communicate(timeout=30)[0].strip()
    assert out == "0 16 b'from the writer\\n' closed ok", out
    for n in sb.node_names:
        assert sb.exec(n, "cat", path, check=False).stdout == want


STAT_SCRIPT = (
    "import json, os, sys\n"
    "print(json.dumps({p: [os.stat(p).st_mtime_ns, os.stat(p).st_ctime_ns,\n"
    "                      os.stat(p).st_atime_ns, os.stat(p).st_nlink]\n"
    "                  for p in sys.argv[1:]}))\n")


def test_times_are_the_same_on_every_node(sb):
    """Directory times changed by mkdir, create, rename and rmdir made on different
    nodes, a nanosecond mtime and an atime set on others: every node shows the same
    times and link counts (the times travel with the ops)."""
    d = "/etc/drover/times"
    sb.exec("node1", "mkdir", "-p", f"{d}/a/sub", f"{d}/b")
    sb.write_file("node2", f"{d}/a/f", "x\n")
    sb.exec("node3", "mv", f"{d}/a/f", f"{d}/b/g")
    sb.exec("node1", "touch", "-m", "-d", "@1600000000.5", f"{d}/b/g")
    sb.exec("node2", "touch", "-a", "-d", "@5", f"{d}/b/g")
    sb.exec("node3", "rmdir", f"{d}/a/sub")
    paths = [d, f"{d}/a", f"{d}/b", f"{d}/b/g"]
    sb.wait_synced()
    # (the kernel may keep a directory's attributes up to its 1 s timeout)
    deadline = time.time() + 10
    while True:
        seen = {n: json.loads(sb.exec(n, "/usr/bin/python3", "-c", STAT_SCRIPT, *paths).stdout)
                for n in sb.node_names}
        if all(seen[n] == seen["node1"] for n in sb.node_names):
            break
        assert time.time() < deadline, seen
        time.sleep(0.3)
    times = seen["node1"]
    assert times[f"{d}/b/g"][0] == 1_600_000_000_500_000_000
    assert times[f"{d}/b/g"][2] == 5_000_000_000
    assert times[f"{d}/a"][0] == times[f"{d}/a"][1] > times[f"{d}/b"][0]  # rmdir came last
    assert [times[p][3] for p in paths] == [4, 2, 2, 1]
