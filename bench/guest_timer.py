#!/usr/bin/python3
"""Run inside a sandbox node by run-guest-bench: times, side by side, what
run-guest-bench compares there. Prints one line of JSON.

    guest_timer.py start VMID REPS RUN_DIR [SHOWCMD_DROVER]
        Per repetition, in alternating order: `drover vm start VMID` (returns
        once QMP says running), then `drover vm stop VMID`; and the same QEMU
        command line (`drover vm showcmd VMID`, of SHOWCMD_DROVER when given:
        an older drover without showcmd is timed too) run by hand through sh, then
        QMP asked for its status until it says running, then the QEMU killed.
        Wall times in ms: {"drover": [...], "hand": [...]}.
    guest_timer.py run REPS CMD...
        CMD run REPS times: wall times in ms: {"ms": [...]}.
"""
import json
import os
import signal
import socket
import subprocess
import sys
import time


def ms_since(t0):
    return (time.monotonic() - t0) * 1000.0


def qmp_running(path):
    """One QMP session: capabilities, query-status; True when running."""
    s = socket.socket(socket.AF_UNIX)
    s.settimeout(10)
    s.connect(path)
    f = s.makefile("rw")
    f.readline()  # the greeting
    status = None
    for cmd in ("qmp_capabilities", "query-status"):
        f.write('{"execute": "%s"}\n' % cmd)
        f.flush()
        while True:
            reply = json.loads(f.readline())
            if "return" in reply:
                status = reply["return"]
                break
            if "error" in reply:
                raise RuntimeError(reply["error"])
    s.close()
    return status.get("status") == "running"


def wait_gone(pid):
    for _ in range(500):
        try:
            os.kill(pid, 0)
        except ProcessLookupError:
            return
        time.sleep(0.01)
    raise RuntimeError(f"QEMU {pid} did not go")


def drover_start(vmid):
    t0 = time.monotonic()
    subprocess.run(["drover", "vm", "start", vmid], check=True, stdout=subprocess.DEVNULL)
    ms = ms_since(t0)
    subprocess.run(["drover", "vm", "stop", vmid], check=True, stdout=subprocess.DEVNULL)
    return ms


def hand_start(line, vmid, run_dir):
    t0 = time.monotonic()
    subprocess.run(["sh", "-c", line], check=True)
    qmp = os.path.join(run_dir, f"{vmid}.qmp")
    while True:
        try:
            if qmp_running(qmp):
                break
        except (OSError, ValueError):
            pass
        time.sleep(0.001)
    ms = ms_since(t0)
    with open(os.path.join(run_dir, f"{vmid}.pid")) as f:
        pid = int(f.read())
    os.kill(pid, signal.SIGKILL)
    wait_gone(pid)
    return ms


def start(vmid, reps, run_dir, showcmd="drover"):
    line = subprocess.run([showcmd, "vm", "showcmd", vmid], check=True, capture_output=True,
                          text=True).stdout
    out = {"drover": [], "hand": [], "cmdline": line.strip()}
    os.umask(0o177)  # as drover runs QEMU: its sockets and pid file root's alone
    for i in range(reps):
        order = ("drover", "hand") if i % 2 == 0 else ("hand", "drover")
        for who in order:
            if who == "drover":
                out["drover"].append(drover_start(vmid))
            else:
                out["hand"].append(hand_start(line, vmid, run_dir))
    return out


def run(reps, cmd):
    times = []
    for _ in range(reps):
        t0 = time.monotonic()
        subprocess.run(cmd, check=True, stdout=subprocess.DEVNULL)
        times.append(ms_since(t0))
    return {"ms": times}


def main():
    if sys.argv[1] == "start":
        res = start(sys.argv[2], int(sys.argv[3]), *sys.argv[4:6])
    else:
        res = run(int(sys.argv[2]), sys.argv[3:])
    print(json.dumps(res))


if __name__ == "__main__":
    main()
