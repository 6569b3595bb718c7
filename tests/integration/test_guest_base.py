"""The guest foundation on real parts: QEMU (TCG) booting the test guest and LXC.

A VM config is turned into a QEMU command line by libdrover (through
drover-guest-tool, until `drover vm` exists), started in a network
namespace whose bridge vmbr0 carries the tap, and then driven with drover's
own QMP and guest agent clients: run state, stop/cont with their events,
agent ping, fsfreeze/thaw, the workload's TCP answer, and the workload's
blocks on the disk after quit. A container config becomes an LXC config that
lxc-start runs with a busybox rootfs. Hostile configs are refused before
anything starts.
"""
import json
import os
import shutil
import subprocess
import tempfile
import time

import pytest

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
BUILD = os.environ.get("DROVER_BUILD", os.path.join(ROOT, "build"))
TOOL = os.path.join(BUILD, "tests", "drover-guest-tool")
MAKE_GUEST = os.path.join(ROOT, "scripts", "make-test-guest")

VMID = 100
BLOCKS = 1024
PORT = 7000
# Not a multiple of 256 KiB (QEMU 7.2 TCG migration loses pages otherwise).
MEMORY = "524224K"

pytestmark = pytest.mark.skipif(os.geteuid() != 0, reason="needs root")


def in_netns(ns):
    """Enter only the network namespace: `ip netns exec` also remounts /sys, which hides
    the cgroup hierarchies from LXC."""
    return ["nsenter", f"--net=/run/netns/{ns}"]


def in_netns_with_sys(ns):
    """Enter the network namespace in a mount namespace of its own whose /sys shows that
    network namespace (LXC looks up bridges in /sys/class/net) and still holds the
    host's cgroup hierarchies (which `ip netns exec` would hide)."""
    script = ('set -e; mount --make-rprivate /; d=$(mktemp -d); '
              'mount --rbind /sys/fs/cgroup "$d"; mount -t sysfs sysfs /sys; '
              'mount --move "$d" /sys/fs/cgroup; rmdir "$d"; exec "$@"')
    return in_netns(ns) + ["unshare", "-m", "sh", "-c", script, "sh"]


def tool(*args, ns=None, check=True, input=None, timeout=60):
    cmd = ([] if ns is None else in_netns(ns)) + [TOOL] + list(args)
    proc = subprocess.run(cmd, capture_output=True, text=True, input=input, timeout=timeout)
    if check and proc.returncode != 0:
        raise AssertionError(f"{' '.join(cmd)} failed ({proc.returncode}): {proc.stderr}")
    return proc


def wait_for(what, predicate, timeout, interval=0.2):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        value = predicate()
        if value:
            return value
        time.sleep(interval)
    raise AssertionError(f"timed out after {timeout} s waiting for {what}")


class NetNS:
    """A network namespace with a bridge vmbr0 at 10.77.0.1/24, as a node's."""

    def __init__(self, name):
        self.name = name
        subprocess.run(["ip", "netns", "add", name], check=True)
        for cmd in (["ip", "link", "set", "lo", "up"],
                    ["ip", "link", "add", "vmbr0", "type", "bridge"],
                    ["ip", "addr", "add", "10.77.0.1/24", "dev", "vmbr0"],
                    ["ip", "link", "set", "vmbr0", "up"]):
            self.run(cmd)

    def run(self, cmd, check=True, timeout=60, **kw):
        return subprocess.run(in_netns(self.name) + cmd, check=check,
                              capture_output=True, text=True, timeout=timeout, **kw)

    def tcp(self, host, port, lines=(), timeout=20):
        """Connect from inside the namespace; the greeting and the answer to each line."""
        code = ("import socket,sys,json\n"
                "s=socket.create_connection((sys.argv[1],int(sys.argv[2])),timeout=15)\n"
                "f=s.makefile('rw')\n"
                "out=[f.readline().strip()]\n"
                "for l in sys.argv[3:]:\n"
                "    f.write(l+'\\n'); f.flush(); out.append(f.readline().strip())\n"
                "print(json.dumps(out))\n")
        proc = self.run(["/usr/bin/python3", "-c", code, host, str(port)] + list(lines),
                        timeout=timeout)
        return json.loads(proc.stdout)

    def delete(self):
        subprocess.run(["ip", "netns", "del", self.name], check=False)


class VM:
    """A VM from a config, its volumes in a directory storage "local" under base/stor."""

    def __init__(self, base, vmid, conf, ns):
        self.base, self.vmid, self.ns = base, vmid, ns
        self.stor = os.path.join(base, "stor")
        self.run_dir = os.path.join(base, "run")
        self.conf = os.path.join(base, f"{vmid}.conf")
        with open(self.conf, "w") as f:
            f.write(conf)
        self.proc = None

    def disk(self, name, size="64M"):
        path = os.path.join(self.stor, "local", str(self.vmid), name)
        os.makedirs(os.path.dirname(path), exist_ok=True)
        subprocess.run(["truncate", "-s", size, path], check=True)
        return path

    def path(self, suffix):
        return os.path.join(self.run_dir, f"{self.vmid}.{suffix}")

    def cmdline(self):
        out = tool("--storage-dir", self.stor, "cmdline", str(self.vmid), self.conf,
                   self.run_dir, "serial-log").stdout
        return out.splitlines()

    def start(self, taps=("tap100i0",)):
        tool("run-dir", self.run_dir)
        for tap in taps:
            tool("tap-create", tap, "vmbr0", ns=self.ns.name)
        argv = self.cmdline()
        self.log = open(os.path.join(self.base, "qemu.log"), "w")
        # umask 0177: the sockets, pid file and console log are 0600.
        self.proc = subprocess.Popen(in_netns(self.ns.name) + argv,
                                     stdout=self.log, stderr=subprocess.STDOUT,
                                     preexec_fn=lambda: os.umask(0o177))
        self.started = time.monotonic()
        wait_for("READY on the console", lambda: self.proc.poll() is not None or
                 "READY" in self.serial(), timeout=120)
        assert self.proc.poll() is None, f"QEMU exited: {self.qemu_log()}"
        self.ready_after = time.monotonic() - self.started

    def serial(self):
        try:
            with open(self.path("serial0.log"), errors="replace") as f:
                return f.read()
        except FileNotFoundError:
            return ""

    def qemu_log(self):
        with open(os.path.join(self.base, "qemu.log")) as f:
            return f.read()

    def qmp(self, *lines, timeout_ms=10000):
        """Run QMP lines on one connection; the greeting and one JSON result per line."""
        proc = tool("qmp", self.path("qmp"), str(timeout_ms), input="".join(l + "\n" for l in lines),
                    check=False)
        return [json.loads(l) for l in proc.stdout.splitlines()]

    def agent(self, cmd, timeout_ms=20000):
        return tool("agent", self.path("qga"), str(timeout_ms), cmd).stdout.strip()

    def stop(self):
        if self.proc and self.proc.poll() is None:
            self.qmp("quit")
            try:
                self.proc.wait(timeout=20)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()
        tool("tap-delete", "tap100i0", ns=self.ns.name, check=False)


@pytest.fixture(scope="module")
def test_guest():
    out = subprocess.run([MAKE_GUEST, "--build", BUILD], check=True, capture_output=True,
                         text=True, timeout=900).stdout.splitlines()[-1]
    with open(os.path.join(out, "guest.json")) as f:
        return json.load(f)


@pytest.fixture(scope="module")
def base():
    # Short: socket paths must fit in 108 bytes.
    d = tempfile.mkdtemp(prefix="dgt-", dir="/tmp")
    yield d
    shutil.rmtree(d, ignore_errors=True)


@pytest.fixture(scope="module")
def netns():
    ns = NetNS(f"dgt-{os.getpid()}")
    yield ns
    ns.delete()


def vm_conf(guest, extra=""):
    append = (f"console=ttyS0 panic=-1 quiet drover.ip=10.77.0.2/24 drover.gw=10.77.0.1 "
              f"drover.port={PORT} drover.disk=vda drover.blocks={BLOCKS} drover.data=vdb")
    return (f"name: tg{VMID}\nmemory: {MEMORY}\ncores: 1\nvga: none\nballoon: 0\nagent: 1\n"
            f"serial0: socket\n"
            f"virtio0: local:{VMID}/vm-{VMID}-disk-0.raw,cache=none,size=64M\n"
            f"virtio1: local:{VMID}/vm-{VMID}-disk-1.raw,size=64M\n"
            f"net0: virtio=02:00:00:77:00:02,bridge=vmbr0\n"
            f"args: -kernel {guest['kernel']} -initrd {guest['initrd']} -append '{append}'\n"
            + extra)


@pytest.fixture(scope="module")
def vm(test_guest, base, netns):
    os.makedirs(os.path.join(base, "vm"))
    v = VM(os.path.join(base, "vm"), VMID, vm_conf(test_guest), netns)
    v.disk(f"vm-{VMID}-disk-0.raw")
    v.disk(f"vm-{VMID}-disk-1.raw")
    v.start()
    yield v
    v.stop()


def test_kvm_detection_and_tcg(vm):
    """KVM only where it runs a guest at a usable speed; TCG otherwise (this machine)."""
    usable, why = tool("kvm").stdout.strip().split(" ", 1)
    argv = vm.cmdline()
    accel = argv[argv.index("-accel") + 1]
    assert accel == ("kvm" if usable == "1" else "tcg"), why
    print(f"KVM usable: {usable} ({why}); booted with {accel}, READY after {vm.ready_after:.1f} s")
    # The RAM size that dodges QEMU 7.2's TCG migration bug reaches QEMU as written.
    assert argv[argv.index("-m") + 1] == "524224k"


def test_run_dir_is_root_only(vm):
    st = os.stat(vm.run_dir)
    assert st.st_mode & 0o777 == 0o700
    for suffix in ("qmp", "qga", "pid", "serial0", "serial0.log"):
        mode = os.stat(vm.path(suffix)).st_mode & 0o777
        assert mode == 0o600, f"{suffix}: {oct(mode)}"
    with open(vm.path("pid")) as f:
        assert int(f.read()) == vm.proc.pid


def test_console_shows_the_guest_up(vm):
    log = vm.serial()
    assert "BOOT-OK" in log and "READY" in log
    assert "FAIL" not in log, log


def test_qmp_status_stop_cont(vm):
    out = vm.qmp("query-status", "stop", "wait STOP", "query-status", "cont", "wait RESUME",
                 "query-status")
    assert out[0]["version"].startswith("7.")
    assert out[1]["status"] == "running"
    assert out[3]["event"] == "STOP"
    assert out[4]["status"] == "paused"
    assert out[6]["event"] == "RESUME"
    assert out[7]["status"] == "running"


def test_qmp_errors_and_timeouts(vm):
    out = vm.qmp("no-such-command", "query-status", "wait NO_SUCH_EVENT", "query-status",
                 timeout_ms=1500)
    assert out[1]["error"] == -121  # -EREMOTEIO: QEMU's error reply
    assert "CommandNotFound" in out[1]["text"]
    assert out[2]["status"] == "running"  # the connection is still good
    assert out[3]["error"] == -110  # -ETIMEDOUT, after 1.5 s, not a hang
    assert out[4]["status"] == "running"


def test_agent_ping_and_osinfo(vm):
    wait_for("the guest agent", lambda: tool("agent", vm.path("qga"), "5000", "ping",
                                             check=False).returncode == 0, timeout=60)
    info = json.loads(vm.agent("get-osinfo"))
    assert info["id"] == "drover-test-guest"
    assert info["kernel-release"].endswith("-cloud-amd64")


def test_agent_fsfreeze_thaw(vm):
    assert vm.agent("fsfreeze-status") == "thawed"
    assert int(vm.agent("fsfreeze-freeze")) == 1  # /data on the second disk
    assert vm.agent("fsfreeze-status") == "frozen"
    assert int(vm.agent("fsfreeze-thaw")) == 1
    assert vm.agent("fsfreeze-status") == "thawed"


def test_workload_answers_and_writes(vm, netns):
    first = netns.tcp("10.77.0.2", PORT, ["one", "two"])
    assert first[0].startswith("DROVER-WORKLOAD seq=")
    assert first[1].startswith("one seq=") and first[2].startswith("two seq=")
    seq0 = int(first[0].split("seq=")[1].split()[0])
    time.sleep(2)
    again = netns.tcp("10.77.0.2", PORT)
    seq1 = int(again[0].split("seq=")[1].split()[0])
    assert seq1 > seq0, "the workload writes blocks"


def ring_of(path, blocks):
    """slot -> block number of the workload's ring on a disk image."""
    seqs = {}
    with open(path, "rb") as f:
        data = f.read(blocks * 512)
    for slot in range(blocks):
        blk = data[slot * 512:(slot + 1) * 512]
        if blk.startswith(b"DROVER-BLOCK "):
            seqs[slot] = int(blk[13:].split()[0])
    return seqs


def test_quit_leaves_every_acknowledged_block(vm, netns):
    acked = int(netns.tcp("10.77.0.2", PORT)[0].split("seq=")[1].split()[0])
    assert acked > 0
    out = vm.qmp("quit")
    assert out[1] == {}
    assert vm.proc.wait(timeout=20) == 0
    seqs = ring_of(os.path.join(vm.stor, "local", str(VMID), f"vm-{VMID}-disk-0.raw"), BLOCKS)
    top = max(seqs.values())
    assert top >= acked
    for slot, seq in seqs.items():
        assert seq % BLOCKS == slot
    # Every block of the last round is there, the acknowledged one among them.
    assert set(seqs.values()) == set(range(max(1, top - BLOCKS + 1), top + 1))
    assert acked in seqs.values() or acked <= top - BLOCKS


def hostile(base, name, text, *cmd):
    path = os.path.join(base, name)
    with open(path, "w") as f:
        f.write(text)
    return tool(*[a if a != "CONF" else path for a in cmd], check=False)


def test_hostile_configs_start_nothing(test_guest, base, netns):
    d = os.path.join(base, "hostile")
    for vmid, disk in ((101, 0), (VMID, 0), (VMID, 1)):
        os.makedirs(os.path.join(d, "stor", "local", str(vmid)), exist_ok=True)
        subprocess.run(["truncate", "-s", "1M", os.path.join(d, "stor", "local", str(vmid),
                                                              f"vm-{vmid}-disk-{disk}.raw")],
                       check=True)
    run_dir = os.path.join(d, "run")
    good = vm_conf(test_guest)
    cases = [
        (good.replace(f"local:{VMID}/vm-{VMID}-disk-0.raw", f"nosuch:{VMID}/vm-{VMID}-disk-0.raw"),
         "cmdline", "virtio0: storage 'nosuch' does not exist"),
        (good.replace(f"local:{VMID}/vm-{VMID}-disk-0.raw", "local:101/vm-101-disk-0.raw"),
         "cmdline", "virtio0: volume 'local:101/vm-101-disk-0.raw' belongs to guest 101"),
        (good.replace(f"memory: {MEMORY}", "memory: 0"), "check", ":2: memory"),
        (good + "memroy: 512\n", "check", ":12: unknown key 'memroy'"),
        (good.replace("virtio=02:00:00:77:00:02,", ""), "check", ":10: no model"),
        (good.replace("virtio=02:00:00:77:00:02,", "virtio,"), "cmdline", "net0 has no MAC address"),
        (good + "#" + "x" * (10 * 1000 * 1000) + "\n", "check", "larger than the 1048576 bytes"),
    ]
    for i, (text, what, msg) in enumerate(cases):
        if what == "check":
            proc = hostile(d, f"{i}.conf", text, "check", "qemu", "CONF")
        else:
            proc = hostile(d, f"{i}.conf", text, "--storage-dir", os.path.join(d, "stor"),
                           "cmdline", str(VMID), "CONF", run_dir)
        assert proc.returncode != 0 and msg in proc.stderr, (msg, proc.stderr[:300])
    # A NIC on a bridge the node does not have: no tap, nothing started.
    proc = tool("tap-create", "tap100i9", "vmbr9", ns=netns.name, check=False)
    assert proc.returncode != 0 and "bridge 'vmbr9' does not exist" in proc.stderr
    assert "tap100i9" not in netns.run(["ip", "-br", "link"]).stdout
    # kvm: 1 where KVM does not work is refused, not silently run under TCG.
    if tool("kvm").stdout.startswith("0"):
        proc = hostile(d, "kvm.conf", good + "kvm: 1\n", "--storage-dir",
                       os.path.join(d, "stor"), "cmdline", str(VMID), "CONF", run_dir)
        assert proc.returncode != 0 and "KVM does not work on this host" in proc.stderr
    assert not os.path.exists(run_dir), "nothing started, not even a run directory"


# --- containers ---

CTID = 20000 + os.getpid() % 10000  # LXC's cgroups are named by container, host-wide


def busybox_rootfs(path):
    for d in ("bin", "sbin", "usr/bin", "usr/sbin", "etc", "proc", "sys", "dev", "tmp", "root",
              "run", "var"):
        os.makedirs(os.path.join(path, d), exist_ok=True)
    shutil.copy("/bin/busybox", os.path.join(path, "bin", "busybox"))
    applets = subprocess.run(["/bin/busybox", "--list-full"], capture_output=True, text=True,
                             check=True).stdout.split()
    for applet in applets:
        link = os.path.join(path, applet)
        if not os.path.lexists(link):
            os.symlink("/bin/busybox", link)
    with open(os.path.join(path, "etc", "inittab"), "w") as f:
        f.write("::sysinit:/bin/mount -t tmpfs tmpfs /run\n")
    with open(os.path.join(path, "etc", "passwd"), "w") as f:
        f.write("root:x:0:0:root:/root:/bin/sh\n")


@pytest.fixture(scope="module")
def container(base, netns):
    d = os.path.join(base, "ct")
    stor = os.path.join(d, "stor")
    busybox_rootfs(os.path.join(stor, "local", f"subvol-{CTID}-disk-0"))
    conf = os.path.join(d, f"{CTID}.conf")
    with open(conf, "w") as f:
        f.write(f"arch: amd64\nhostname: ct{CTID}\nmemory: 128\nswap: 0\ncores: 1\n"
                f"ostype: unmanaged\nrootfs: local:subvol-{CTID}-disk-0,size=1G\n"
                f"net0: name=eth0,bridge=vmbr0,hwaddr=02:00:00:77:00:05,ip=10.77.0.5/24,"
                f"gw=10.77.0.1\n"
                f"lxc.environment: DROVER_TEST=raw-key\n")
    lxcpath = os.path.join(d, "lxc")
    os.makedirs(os.path.join(lxcpath, str(CTID)))
    generated = tool("--storage-dir", stor, "lxc-conf", str(CTID), conf).stdout
    with open(os.path.join(lxcpath, str(CTID), "config"), "w") as f:
        f.write(generated)
    ct = {"name": str(CTID), "path": lxcpath, "config": generated, "log": os.path.join(d, "lxc.log")}
    yield ct
    netns.run(["lxc-stop", "-n", ct["name"], "-P", lxcpath, "-k"], check=False)


def lxc(netns, ct, cmd, *args, check=True):
    return netns.run([cmd, "-n", ct["name"], "-P", ct["path"]] + list(args), check=check)


def lxc_start(netns, ct):
    cmd = in_netns_with_sys(netns.name) + ["lxc-start", "-n", ct["name"], "-P", ct["path"], "-d",
                                            "-o", ct["log"], "-l", "INFO"]
    return subprocess.run(cmd, capture_output=True, text=True, timeout=60)


def test_lxc_config_has_cgroup_v1_limits(container):
    cfg = container["config"]
    if os.path.exists("/sys/fs/cgroup/memory/memory.limit_in_bytes"):
        assert "lxc.cgroup.memory.limit_in_bytes = 134217728\n" in cfg
    else:
        assert "lxc.cgroup2.memory.max = 134217728\n" in cfg
    assert f"lxc.net.0.veth.pair = veth{CTID}i0\n" in cfg
    assert cfg.endswith("lxc.environment = DROVER_TEST=raw-key\n")


def test_lxc_start_exec_stop(container, netns):
    ct = container
    proc = lxc_start(netns, ct)
    if proc.returncode != 0:
        with open(ct["log"]) as f:
            log = [l for l in f if "seccomp" not in l and "devices.allow" not in l]
        raise AssertionError(proc.stderr + "".join(log[-60:]))
    lxc(netns, ct, "lxc-wait", "-s", "RUNNING", "-t", "30")
    out = lxc(netns, ct, "lxc-attach", "--", "/bin/sh", "-c",
              "hostname; ip -4 addr show eth0").stdout
    assert f"ct{CTID}" in out
    assert "10.77.0.5/24" in out
    # The limits from the config are the container's cgroup's.
    limit = lxc(netns, ct, "lxc-cgroup", "memory.limit_in_bytes", check=False)
    if limit.returncode == 0:
        assert limit.stdout.strip() == "134217728"
    # The veth is on the bridge: the node reaches the container.
    netns.run(["busybox", "ping", "-c", "1", "-W", "5", "10.77.0.5"])
    lxc(netns, ct, "lxc-stop", "-k")
    lxc(netns, ct, "lxc-wait", "-s", "STOPPED", "-t", "30")
    assert f"veth{CTID}i0" not in netns.run(["ip", "-br", "link"]).stdout
