"""Drive `drover sandbox` clusters from tests.

    sb = Sandbox("mytest", nodes=3).up()
    sb.exec("node1", "drover", "cfs", "status")
    sb.cut("node3"); sb.wait_quorate("node3", False); sb.heal("node3")
    sb.stop("node2", "droverfs", kill=True); sb.start("node2", "droverfs")
    sb.down()

Every node runs corosync, droverfs and sshd in its own namespaces; see
drover-sandbox(1). Needs root.
"""
import os
import subprocess
import time

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
BUILD = os.environ.get("DROVER_BUILD", os.path.join(ROOT, "build"))
DROVER = os.path.join(BUILD, "src", "cli", "drover")
STATE_ROOT = "/var/lib/drover-sandbox"


class SandboxError(RuntimeError):
    pass


class Sandbox:
    def __init__(self, name, nodes=3, networks=1, drover=DROVER):
        self.name = name
        self.nodes = nodes
        self.networks = networks
        self.drover = drover
        self.is_up = False

    # -- the command line ----------------------------------------------------
    def cmd(self, command, *args, check=True, timeout=120, input=None):
        """`drover sandbox COMMAND --name NAME ARGS...` -> CompletedProcess (text)."""
        argv = [self.drover, "sandbox", command, "--name", self.name] + [str(a) for a in args]
        proc = subprocess.run(argv, capture_output=True, text=True, timeout=timeout, input=input)
        if check and proc.returncode != 0:
            raise SandboxError(f"{' '.join(argv)} exited {proc.returncode}:\n"
                               f"{proc.stdout}{proc.stderr}")
        return proc

    @property
    def node_names(self):
        return [f"node{k}" for k in range(1, self.nodes + 1)]

    def address(self, node, net=0):
        return f"10.99.{net}.{int(str(node).removeprefix('node'))}"

    @property
    def state_dir(self):
        return os.path.join(STATE_ROOT, self.name)

    def up(self, timeout=120):
        self.cmd("up", "--nodes", self.nodes, "--networks", self.networks, timeout=timeout)
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

    def read_file(self, node, path):
        return self.exec(node, "cat", path).stdout

    def write_file(self, node, path, data):
        self.exec(node, "sh", "-c", 'cat > "$1"', "sh", path, input=data)

    # -- faults --------------------------------------------------------------
    def _link(self, link):
        return [] if link is None else ["--link", link]

    def cut(self, node, link=None):
        self.cmd("cut", node, *self._link(link))

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
                (line.split()[0][len(prefix):] == "br" or
                 line.split()[0][len(prefix):].removeprefix("node").isdigit())]

    def mounts(self):
        with open("/proc/mounts") as f:
            return [line for line in f if self.state_dir + "/" in line or
                    f" {self.state_dir} " in line]
