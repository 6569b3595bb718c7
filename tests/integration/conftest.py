"""Fixtures for droverfs integration tests: a real droverfs on a real FUSE mount.

Every test gets its own directory with a mount point, database and IPC
socket, and a droverfs process (foreground, local mode) that is stopped
(and checked to unmount cleanly) afterwards.
"""
import os
import shutil
import signal
import subprocess
import tempfile
import time

import pytest

from drover_ipc import Client

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
BUILD = os.environ.get("DROVER_BUILD", os.path.join(ROOT, "build"))
DROVERFS = os.path.join(BUILD, "src", "droverfs", "droverfs")
DROVER = os.path.join(BUILD, "src", "cli", "drover")


def abort_fuse_connection(path):
    """Abort the FUSE connection of the file system mounted at path."""
    minor = None
    with open("/proc/self/mountinfo") as f:
        for line in f:
            fields = line.split()
            if fields[4] == path:
                minor = fields[2].split(":")[1]
    if minor is None:
        return
    ctl = "/sys/fs/fuse/connections"
    if not os.path.exists(f"{ctl}/{minor}"):
        subprocess.run(["mount", "-t", "fusectl", "fusectl", ctl], check=False)
    with open(f"{ctl}/{minor}/abort", "w") as f:
        f.write("1")


def is_mounted(path):
    with open("/proc/self/mountinfo") as f:
        return any(line.split()[4] == path for line in f)


class Droverfs:
    """One droverfs instance. start()/stop()/kill() may be called repeatedly."""

    def __init__(self, base, nodename="node1", extra_args=()):
        self.base = base
        self.mnt = os.path.join(base, "mnt")
        self.db_dir = os.path.join(base, "db")
        self.db = os.path.join(self.db_dir, "config.db")
        self.sock = os.path.join(base, "cfs.sock")
        self.nodename = nodename
        self.extra_args = list(extra_args)
        self.proc = None
        self.log_path = os.path.join(base, "droverfs.log")
        self.starts = 0

    def command(self):
        return [DROVERFS, "-f", "-l", "--mount", self.mnt, "--db", self.db,
                "--socket", self.sock, "--nodename", self.nodename] + self.extra_args

    def start(self, timeout=10, expect_ready=True):
        self.starts += 1
        log = open(self.log_path, "a")
        log.write(f"--- start {self.starts}\n")
        log.flush()
        self.proc = subprocess.Popen(self.command(), stdout=log, stderr=subprocess.STDOUT)
        log.close()
        if not expect_ready:
            return self
        deadline = time.time() + timeout
        while time.time() < deadline:
            if self.proc.poll() is not None:
                raise RuntimeError(f"droverfs exited with {self.proc.returncode}:\n{self.log()}")
            if is_mounted(self.mnt) and os.path.exists(self.sock):
                try:
                    with Client(self.sock) as c:
                        c.status()
                    return self
                except OSError:
                    pass
            time.sleep(0.02)
        raise RuntimeError(f"droverfs did not come up:\n{self.log()}")

    def stop(self, timeout=10):
        """SIGTERM and wait; returns the exit code."""
        if self.proc is None:
            return None
        self.proc.send_signal(signal.SIGTERM)
        try:
            rc = self.proc.wait(timeout)
        except subprocess.TimeoutExpired:
            self.proc.kill()
            rc = self.proc.wait()
        self.proc = None
        return rc

    def kill(self):
        """SIGKILL: leaves a stale mount behind, as a crash would."""
        if self.proc is None:
            return
        self.proc.kill()
        try:
            self.proc.wait(timeout=5)
        except subprocess.TimeoutExpired:
            # a thread of it hangs in the kernel on its own FUSE connection
            # (src/basic/fusectl.h): end the connection, as the next droverfs would
            abort_fuse_connection(self.mnt)
            self.proc.wait(timeout=10)
        self.proc = None

    def log(self):
        try:
            with open(self.log_path) as f:
                return f.read()
        except OSError:
            return ""

    def client(self):
        return Client(self.sock)

    def path(self, rel=""):
        return os.path.join(self.mnt, rel)

    def drover(self, *args, check=True, user=None, **kw):
        cmd = [DROVER, "--socket", self.sock] + list(args)
        if user is not None:
            cmd = as_user(user) + cmd
        return subprocess.run(cmd, capture_output=True, text=True, check=check, **kw)

    def cleanup(self):
        if self.proc is not None:
            self.kill()
        if is_mounted(self.mnt):
            subprocess.run(["umount", "-l", self.mnt], check=False)


# Users for access tests: a member of the read-only group (www-data), and nobody.
READER = (12345, 33)
NOBODY = (65534, 65534)


def as_user(user):
    uid, gid = user
    return ["setpriv", f"--reuid={uid}", f"--regid={gid}", "--clear-groups"]


def run_as(user, *cmd, **kw):
    return subprocess.run(as_user(user) + list(cmd), capture_output=True, text=True, **kw)


@pytest.fixture
def workdir():
    base = tempfile.mkdtemp(prefix="drover-it-", dir="/tmp")
    os.chmod(base, 0o755)  # other users must reach the mount point
    yield base
    shutil.rmtree(base, ignore_errors=True)


@pytest.fixture
def make_cfs(workdir):
    """Factory: make_cfs(extra_args=[...]) -> started Droverfs (cleaned up after)."""
    made = []

    def factory(extra_args=(), nodename="node1", start=True, subdir="node"):
        base = os.path.join(workdir, subdir)
        os.makedirs(base, exist_ok=True)
        os.chmod(base, 0o755)
        fs = Droverfs(base, nodename=nodename, extra_args=extra_args)
        made.append(fs)
        if start:
            fs.start()
        return fs

    yield factory
    for fs in made:
        fs.cleanup()


@pytest.fixture
def cfs(make_cfs):
    """A running droverfs with default limits."""
    return make_cfs()


STATTER = (
    "import os, sys\n"
    "for line in sys.stdin:\n"
    "    print(os.stat(line.rstrip('\\n')).st_size, flush=True)\n")


@pytest.fixture
def other():
    """Another process, started before the test opens anything (a child
    started later would close the test's descriptors, a commit each):
    other(path) is st_size as it sees it."""
    proc = subprocess.Popen(["/usr/bin/python3", "-c", STATTER], stdin=subprocess.PIPE,
                            stdout=subprocess.PIPE, text=True)

    def size(path):
        proc.stdin.write(path + "\n")
        proc.stdin.flush()
        return int(proc.stdout.readline())

    yield size
    proc.stdin.close()
    proc.wait(timeout=10)


# --- drover sandbox clusters (see sandbox.py) ---------------------------------

_sandbox_serial = iter(range(1, 1000000))


def sandbox_name():
    """A sandbox name unique to this test run: letters and digits, at most 15."""
    return f"pt{os.getpid() % 100000}x{next(_sandbox_serial)}"


def _sandbox_ready():
    import shutil as _sh
    return os.geteuid() == 0 and all(_sh.which(p) for p in ("corosync", "ip", "iptables"))


@pytest.fixture
def make_sandbox():
    """Factory: make_sandbox(nodes=2, networks=1, up=True) -> Sandbox (always taken down)."""
    from sandbox import Sandbox
    if not _sandbox_ready():
        pytest.skip("drover sandbox needs root, corosync, iproute2 and iptables")
    made = []

    def factory(nodes=3, networks=1, up=True, name=None):
        sb = Sandbox(name or sandbox_name(), nodes=nodes, networks=networks)
        made.append(sb)
        if up:
            sb.up()
        return sb

    yield factory
    for sb in made:
        sb.down(check=False)


@pytest.fixture(scope="module")
def sandbox3():
    """A 3-node sandbox shared by a test module, taken down after it."""
    from sandbox import Sandbox
    if not _sandbox_ready():
        pytest.skip("drover sandbox needs root, corosync, iproute2 and iptables")
    sb = Sandbox(sandbox_name(), nodes=3)
    try:
        sb.up()
        yield sb
    finally:
        sb.down(check=False)


@pytest.fixture(scope="module")
def sb(sandbox3):
    """sandbox3 once every node is in sync (a module may extend it: `def sb(sb)`)."""
    sandbox3.wait_synced(timeout=60)
    return sandbox3
