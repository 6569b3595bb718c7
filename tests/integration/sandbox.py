"""Drive `drover sandbox` clusters from tests.

    sb = Sandbox("mytest", nodes=3).up()
    sb.exec("node1", "drover", "cfs", "status")
    sb.cut("node3"); sb.wait_quorate("node3", False); sb.heal("node3")
    sb.stop("node2", "droverfs", kill=True); sb.start("node2", "droverfs")
    sb.down()

Every node runs corosync, droverfs and sshd in its own namespaces; see
drover-sandbox(1). Sandbox(..., qnetd=True) adds the QNetd host "qnetd"
(10.99.0.254: sshd and corosync-qnetd); Sandbox(..., ceph=True) (or
ceph="bluestore") the Ceph host "ceph" (10.99.0.253: ceph-mon, ceph-osd,
ceph-mgr, pool rbd) and the rbd storage "ceph" on every node;
Sandbox(..., ceph_local=True) also a second Ceph cluster "ceph2" on that host
and each node's own /etc/ceph (odd nodes cluster ceph, even nodes ceph2)
behind the rbd storage "ceph-local" (shared 0). Needs root.
"""
import os
import shutil
import subprocess
import time


def process_report(pid):
    """Where a process that does not answer is: state, kernel stack and
    system call of each thread, and its user stacks when gdb is there."""
    if pid is None:
        return "  (not running)"
    out = []
    try:
        for tid in sorted(os.listdir(f"/proc/{pid}/task"), key=int):
            base = f"/proc/{pid}/task/{tid}"
            with open(f"{base}/stat") as f:
                state = f.read().rsplit(")", 1)[1].split()[0]
            with open(f"{base}/syscall") as f:
                syscall = f.read().strip()
            with open(f"{base}/stack") as f:
                stack = " < ".join(line.split()[1] for line in f if line.strip())
            out.append(f"  thread {tid}: state {state}, syscall {syscall}, kernel {stack}")
    except OSError as e:
        out.append(f"  /proc/{pid}: {e}")
    if shutil.which("gdb"):
        try:
            bt = subprocess.run(["gdb", "-p", str(pid), "-batch", "-nx",
                                 "-ex", "thread apply all bt"],
                                capture_output=True, text=True, timeout=60).stdout
            out.extend("  " + line for line in bt.splitlines() if line.startswith(("#", "Thread")))
        except subprocess.TimeoutExpired:
            out.append("  gdb timed out")
    return "\n".join(out)

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
BUILD = os.environ.get("DROVER_BUILD", os.path.join(ROOT, "build"))
DROVER = os.path.join(BUILD, "src", "cli", "drover")
STATE_ROOT = "/var/lib/drover-sandbox"


class SandboxError(RuntimeError):
    pass


class Sandbox:
    QNETD = "qnetd"
    CEPH = "ceph"

    def __init__(self, name, nodes=3, networks=1, drover=DROVER, qnetd=False, ceph=False,
                 ceph_local=False):
        self.name = name
        self.nodes = nodes
        self.networks = networks
        self.drover = drover
        self.qnetd = qnetd
        self.ceph = ceph  # False, True (memstore), "memstore" or "bluestore"
        self.ceph_local = ceph_local  # up --ceph-local (implies a memstore Ceph host)
        self.is_up = False
        # extra environment of the drover commands (DROVER_DROVERD: a test droverd)
        self.env = {}

    # -- the command line ----------------------------------------------------
    def cmd(self, command, *args, check=True, timeout=120, input=None):
        """`drover sandbox COMMAND --name NAME ARGS...` -> CompletedProcess (text)."""
        argv = [self.drover, "sandbox", command, "--name", self.name] + [str(a) for a in args]
        proc = subprocess.run(argv, capture_output=True, text=True, timeout=timeout, input=input,
                              env=dict(os.environ, **self.env) if self.env else None)
        if check and proc.returncode != 0:
            raise SandboxError(f"{' '.join(argv)} exited {proc.returncode}:\n"
                               f"{proc.stdout}{proc.stderr}")
        return proc

    @property
    def node_names(self):
        return [f"node{k}" for k in range(1, self.nodes + 1)]

    def address(self, node, net=0):
        if node == self.QNETD:
            return f"10.99.{net}.254"
        if node == self.CEPH:
            return f"10.99.{net}.253"
        return f"10.99.{net}.{int(str(node).removeprefix('node'))}"

    @property
    def state_dir(self):
        return os.path.join(STATE_ROOT, self.name)

    def up(self, timeout=120):
        # DROVER_SANDBOX_REALTIME=1: corosync keeps its realtime priority (up --realtime)
        realtime = os.environ.get("DROVER_SANDBOX_REALTIME") == "1"
        ceph = [] if not self.ceph else ["--ceph"] if self.ceph is True else [f"--ceph={self.ceph}"]
        self.cmd("up", "--nodes", self.nodes, "--networks", self.networks,
                 *(["--qnetd"] if self.qnetd else []), *ceph,
                 *(["--ceph-local"] if self.ceph_local else []),
                 *(["--realtime"] if realtime else []), timeout=timeout)
        self.is_up = True
        return self

    def down(self, check=True):
        proc = self.cmd("down", check=check)
        self.is_up = False
        return proc

    def status(self):
        return self.cmd("status").stdout

    def exec(self, node, *cmd, check=True, timeout=60, input=None):
        """Run cmd inside node; CompletedProcess with text stdout/stderr."""
        return self.cmd("exec", node, "--", *cmd, check=check, timeout=timeout, input=input)

    def exec_bytes(self, node, *cmd, check=True, timeout=120, input=None):
        """Run cmd inside node with bytes in and out (images, checksums of binary data)."""
        argv = [self.drover, "sandbox", "exec", "--name", self.name, node, "--",
                *map(str, cmd)]
        proc = subprocess.run(argv, input=input, capture_output=True, timeout=timeout,
                              env=dict(os.environ, **self.env) if self.env else None)
        if check and proc.returncode != 0:
            raise AssertionError(f"{node}: {' '.join(map(str, cmd))} exited {proc.returncode}:\n"
                                 f"{proc.stdout.decode(errors='replace')}"
                                 f"{proc.stderr.decode(errors='replace')}")
        return proc

    def read_file(self, node, path):
        return self.exec(node, "cat", path).stdout

    def write_file(self, node, path, data):
        self.exec(node, "sh", "-c", 'cat > "$1"', "sh", path, input=data)

    # -- faults --------------------------------------------------------------
    def _link(self, link):
        return [] if link is None else ["--link", link]

    def cut(self, node, link=None):
        self.cmd("cut", node, *self._link(link))

    def heal_all(self, *nodes):
        """Heal the nodes' links, then wait until every node is quorate and in sync."""
        for node in nodes:
            self.heal(node)
        for node in self.node_names:
            self.wait_quorate(node, True)
        self.wait_synced()

    def heal(self, node, link=None):
        self.cmd("heal", node, *self._link(link))

    def netem(self, node, *spec, link=None):
        """netem("node1", "delay", 100, 10) / ("loss", 5) / ("clear",)"""
        self.cmd("netem", node, *spec, *self._link(link))

    # -- daemons -------------------------------------------------------------
    def start(self, node, *daemons, droverfs_args=()):
        extra = ["--", *droverfs_args] if droverfs_args else []
        self.cmd("start", node, *daemons, *extra)

    def stop(self, node, *daemons, kill=False):
        self.cmd("stop", *(["--kill"] if kill else []), node, *daemons)

    def restart(self, node, *daemons, kill=False, droverfs_args=()):
        extra = ["--", *droverfs_args] if droverfs_args else []
        self.cmd("restart", *(["--kill"] if kill else []), node, *daemons, *extra)

    def pid(self, node, daemon):
        """The daemon's pid as status shows it, or None when stopped."""
        current = None
        for line in self.status().splitlines():
            if line.strip() and not line.startswith(" "):
                current = line.strip()
            fields = line.split()
            if current == node and fields[:2] == [daemon, "running"]:
                return int(fields[3])
        return None

    # -- quorum --------------------------------------------------------------
    def quorate(self, node):
        """True/False from corosync-quorumtool inside node; None if corosync does not answer."""
        out = self.exec(node, "corosync-quorumtool", "-s", check=False).stdout
        for line in out.splitlines():
            if line.startswith("Quorate:"):
                return line.split(":", 1)[1].strip() == "Yes"
        return None

    def total_votes(self, node):
        """Total votes in node's corosync membership; None if corosync does not answer."""
        out = self.exec(node, "corosync-quorumtool", "-s", check=False).stdout
        for line in out.splitlines():
            if line.startswith("Total votes:"):
                return int(line.split(":", 1)[1])
        return None

    def wait_seen_gone(self, node, timeout=30):
        """Wait until every other node's corosync counts fewer votes than the
        cluster has, after node's corosync was killed. Restarted before that
        (within the token timeout), corosync 3.1.7 with knet 1.25 can stall
        the new membership's sync for good when cpg traffic follows at once
        ("Retransmit List" on the restarted node, never "Completed service
        synchronization"); a crashed corosync restarted by hand or by a
        service manager comes back later than that. True when seen."""
        deadline = time.time() + timeout
        others = [n for n in self.node_names if n != node]
        while time.time() < deadline:
            if all((self.total_votes(n) or 0) < len(self.node_names) for n in others):
                return True
            time.sleep(0.3)
        return False

    def wait_quorate(self, node, want=True, timeout=45):
        deadline = time.time() + timeout
        while time.time() < deadline:
            if self.quorate(node) == want:
                return
            time.sleep(0.5)
        raise SandboxError(f"{node} of {self.name}: quorate is not {want} after {timeout} s")

    # -- what is left --------------------------------------------------------
    def netns(self):
        out = subprocess.run(["ip", "netns", "list"], capture_output=True, text=True).stdout
        prefix = f"dsb-{self.name}-"
        return [line.split()[0] for line in out.splitlines()
                if line.startswith(prefix) and
                (line.split()[0][len(prefix):] in ("br", self.QNETD, self.CEPH) or
                 line.split()[0][len(prefix):].removeprefix("node").isdigit())]

    def mounts(self):
        with open("/proc/mounts") as f:
            return [line for line in f if self.state_dir + "/" in line or
                    f" {self.state_dir} " in line]

    # -- cluster file system state (used by test_cluster_*.py) ---------------
    def cfs_status(self, node, timeout=60):
        """`drover cfs status` inside node as a dict {"State": ..., "Version": ...};
        {} if droverfs does not answer."""
        try:
            proc = self.exec(node, "drover", "cfs", "status", check=False, timeout=timeout)
        except subprocess.TimeoutExpired:
            return {}
        if proc.returncode != 0:
            return {}
        info = {}
        for line in proc.stdout.splitlines():
            key, sep, value = line.partition(":")
            if sep and not line.startswith(" ") and key not in info:
                info[key.strip()] = value.strip()
        return info

    def wait_synced(self, nodes=None, timeout=60, writable=True):
        """Wait until every node (default: all) is synced (and writable) with the
        same tree version and digest; returns {node: status dict}."""
        nodes = list(nodes or self.node_names)
        deadline = time.time() + timeout
        last = {}
        while True:
            last = {n: self.cfs_status(n) for n in nodes}
            states = [s.get("State", "") for s in last.values()]
            same = len({(s.get("Version"), s.get("Digest")) for s in last.values()}) == 1
            if same and all(st.startswith("synced") and
                            (not writable or st.endswith(", writable")) for st in states):
                return last
            if time.time() > deadline:
                raise SandboxError(f"{self.name}: nodes {nodes} not synced after {timeout} s: " +
                                   "; ".join(f"{n}: {s.get('State')} v{s.get('Version')} "
                                             f"{s.get('Digest')}" for n, s in last.items()))
            time.sleep(0.3)

    TREE_SCRIPT = (
        "import hashlib, json, os, sys\n"
        "root = sys.argv[1]\n"
        "out = {}\n"
        "for dirpath, dirnames, filenames in os.walk(root):\n"
        "    rel = os.path.relpath(dirpath, root)\n"
        "    names = dirnames + filenames\n"
        "    if rel == '.':\n"
        "        # dot-files at the top are per-node virtual files; local, lxc,\n"
        "        # qemu-server are per-node symlinks\n"
        "        names = [n for n in names if not n.startswith('.') and\n"
        "                 not os.path.islink(os.path.join(dirpath, n))]\n"
        "        dirnames[:] = [d for d in dirnames if d in names]\n"
        "    for n in names:\n"
        "        p = os.path.join(dirpath, n)\n"
        "        key = os.path.normpath(os.path.join(rel, n))\n"
        "        if os.path.islink(p):\n"
        "            out[key] = 'link:' + os.readlink(p)\n"
        "        elif os.path.isdir(p):\n"
        "            out[key] = 'dir'\n"
        "        else:\n"
        "            with open(p, 'rb') as f:\n"
        "                out[key] = hashlib.md5(f.read()).hexdigest()\n"
        "json.dump(out, sys.stdout, sort_keys=True)\n")

    def tree(self, node, root="/etc/drover"):
        """{relative path: md5 of the content | 'dir' | 'link:TARGET'} of the tree
        under root inside node, without the top-level dot-files and symlinks."""
        import json
        return json.loads(self.exec(node, "/usr/bin/python3", "-c", self.TREE_SCRIPT,
                                    root, timeout=120).stdout)

    def log(self, node, daemon="droverfs"):
        """The node's daemon log (host side), '' if there is none."""
        try:
            with open(os.path.join(self.state_dir, node, "log", f"{daemon}.log"),
                      errors="replace") as f:
                return f.read()
        except OSError:
            return ""

    def host_path(self, node, *parts):
        """Host path of a node's private directory, e.g. host_path("node1",
        "var-lib-drover") is node1's /var/lib/drover."""
        return os.path.join(self.state_dir, node, *parts)

    def wait_trees_equal(self, nodes=None, timeout=60):
        """wait_synced, then the trees (tree()) of all nodes; asserts they become
        equal (a change may still land between the reads: retried until timeout)
        and returns the common tree."""
        nodes = list(nodes or self.node_names)
        deadline = time.time() + timeout
        while True:
            self.wait_synced(nodes, timeout=max(1, deadline - time.time()))
            trees = {n: self.tree(n) for n in nodes}
            first = trees[nodes[0]]
            bad = [n for n in nodes[1:] if trees[n] != first]
            if not bad:
                return first
            if time.time() > deadline:
                n = bad[0]
                diff = sorted(k for k in set(first) | set(trees[n])
                              if first.get(k) != trees[n].get(k))
                raise AssertionError(f"{self.name}: tree of {n} differs from {nodes[0]} at "
                                     f"{diff[:20]} ({len(diff)} paths)")
            time.sleep(0.5)

    def debug_dump(self, lines=12):
        """Per node: replication state, tree version and digest, and the end of
        the droverfs log -- for assertion messages."""
        out = []
        for n in self.node_names:
            s = self.cfs_status(n, timeout=10)
            out.append(f"--- {n}: {s.get('State')}, version {s.get('Version')}, digest "
                       f"{s.get('Digest')}, queue {s.get('Queue')}")
            if not s:
                out.append(process_report(self.pid(n, "droverfs")))
            out.extend(self.log(n).splitlines()[-lines:])
        return "\n".join(out)
