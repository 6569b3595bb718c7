"""kill -9 of droverfs at any moment loses nothing that was acknowledged.

A writer process (crash_writer.py) saves files in a loop while droverfs is
killed with SIGKILL and restarted under it. After every restart each file
must hold exactly its last acknowledged content, or what the one operation
in flight at the moment of the kill would have made of it.
"""
import errno
import json
import os
import random
import select
import subprocess
import sys
import time

from crash_writer import padded
from drover_ipc import FLUSH

HERE = os.path.dirname(os.path.abspath(__file__))
WRITER = os.path.join(HERE, "crash_writer.py")
NFILES = 20
ROUNDS = 5
# What an operation may fail with while droverfs is down: the aborted
# connection, the dead mount, and the empty mount point between the
# clearing of the stale mount and the new mount.
OUTAGE_ERRNOS = {errno.ENOTCONN, errno.ECONNABORTED, errno.EIO, errno.ENOENT}
# The step of each kind of operation that changes the target file.
APPLYING_STEP = {"save": "rename", "overwrite": "close", "append": "close"}


def read(path):
    with open(path, "rb") as f:
        return f.read().decode()


def describe(text):
    """Short form of a content for assertion messages."""
    first = text.split("\n", 1)[0]
    return f"{first!r}... ({len(text)} bytes, {text.count('append')} appends)"


class Writer:
    def __init__(self, directory, log_path, seed):
        self.log_path = log_path
        self.log_offset = 0
        self.proc = subprocess.Popen(
            [sys.executable, WRITER, directory, log_path, str(NFILES), str(seed)],
            stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True, bufsize=1)

    def command(self, cmd, answer, timeout=15):
        self.proc.stdin.write(cmd + "\n")
        self.proc.stdin.flush()
        ready, _, _ = select.select([self.proc.stdout], [], [], timeout)
        assert ready, f"the writer did not answer {cmd!r} within {timeout} s (hung in droverfs?)"
        line = self.proc.stdout.readline().strip()
        assert line == answer, f"writer answered {line!r} to {cmd!r}"

    def pause(self):
        self.command("p", "paused")

    def resume(self):
        self.proc.stdin.write("r\n")
        self.proc.stdin.flush()

    def finish(self):
        self.command("q", "done")
        self.proc.wait(10)

    def new_records(self):
        with open(self.log_path) as f:
            f.seek(self.log_offset)
            data = f.read()
        assert data == "" or data.endswith("\n")
        self.log_offset += len(data)
        return [json.loads(line) for line in data.splitlines()]

    def kill(self):
        if self.proc.poll() is None:
            self.proc.kill()
            self.proc.wait()


class Model:
    """The contents each file may have: normally one, two while an op is uncertain."""

    def __init__(self, names_contents):
        self.files = {name: {c} for name, c in names_contents.items()}

    def apply_records(self, records, outage=None):
        """Records of one round (between two checks): only its first failure may have landed.

        outage: (killed, ready), the monotonic times of the kill and of the
        restarted droverfs being ready: failures must fall in between.
        """
        counts = {"ok": 0, "failed": 0}
        first_failure = True
        for rec in records:
            name, kind = rec["f"], rec["k"]
            text = padded(rec["c"], rec["n"]) if rec["n"] else rec["c"]
            now = self.files[name]
            after = {text} if kind in ("save", "overwrite") else {c + text for c in now}
            if rec["ok"]:
                counts["ok"] += 1
                self.files[name] = after
                continue
            counts["failed"] += 1
            assert rec["e"] in OUTAGE_ERRNOS, \
                f"op {rec['s']} ({kind} {name}) failed at {rec['step']} with " \
                f"{errno.errorcode.get(rec['e'], rec['e'])}, not an outage error"
            if outage:
                killed, ready = outage
                assert rec["t1"] >= killed and rec["t0"] <= ready, \
                    f"op {rec['s']} ({kind} {name}) failed with " \
                    f"{errno.errorcode.get(rec['e'], rec['e'])} while droverfs was running"
            if first_failure and rec["step"] == APPLYING_STEP[kind]:
                # In flight when droverfs was killed: may or may not have been applied.
                self.files[name] = now | after
            first_failure = False
        return counts

    def check(self, fs, directory, where):
        names = {n for n in os.listdir(directory) if ".tmp." not in n}
        assert names == set(self.files), f"{where}: files {sorted(names ^ set(self.files))} differ"
        for name, allowed in sorted(self.files.items()):
            got = read(os.path.join(directory, name))
            assert got in allowed, (
                f"{where}: {name} holds {describe(got)}, expected one of "
                f"{[describe(c) for c in allowed]}\n{fs.log()[-3000:]}")
            self.files[name] = {got}


def replayed(fs):
    with fs.client() as c:
        return c.status()["persistence"]["replayed_at_start"]


def test_kill9_loses_nothing_acknowledged(cfs, workdir):
    seed = int(os.environ.get("DROVER_CRASH_SEED", time.time()))
    print(f"DROVER_CRASH_SEED={seed}")  # shown when the test fails
    rnd = random.Random(seed)
    directory = cfs.path("crash")
    os.mkdir(directory)
    initial = {}
    for i in range(NFILES):
        initial[f"f{i}"] = padded(f"f{i} initial\n")
        with open(os.path.join(directory, f"f{i}"), "w") as f:
            f.write(initial[f"f{i}"])
    model = Model(initial)
    writer = Writer(directory, os.path.join(workdir, "writer.log"), rnd.randrange(1 << 30))
    replays, totals = [], {"ok": 0, "failed": 0}
    try:
        for rnd_no in range(1, ROUNDS + 1):
            time.sleep(rnd.uniform(0.2, 1.0))
            if rnd_no % 2 == 0:
                # Kill while the journal is being folded into the database.
                with cfs.client() as c:
                    c.send_raw(c.frame(FLUSH))
                    time.sleep(rnd.uniform(0, 0.005))
                    killed = time.monotonic()
                    cfs.kill()
            else:
                killed = time.monotonic()
                cfs.kill()
            cfs.start()
            ready = time.monotonic()
            replays.append(replayed(cfs))
            writer.pause()
            counts = model.apply_records(writer.new_records(), (killed, ready))
            for k in totals:
                totals[k] += counts[k]
            assert counts["ok"] > 0, f"round {rnd_no}: the writer got nothing done"
            model.check(cfs, directory, f"after restart {rnd_no}")
            if rnd_no < ROUNDS:
                writer.resume()
        writer.finish()
        model.apply_records(writer.new_records(), (float("inf"), float("inf")))
    finally:
        writer.kill()
    assert cfs.stop() == 0
    cfs.start()
    model.check(cfs, directory, "after a clean restart")
    assert not [n for n in os.listdir(directory) if ".tmp." in n]
    assert totals["failed"] > 0, "no operation was ever cut by a kill"
    assert max(replays) > 0, f"the journal was never replayed at start: {replays}"


def test_kill9_right_after_close(cfs):
    contents = {}
    for i in range(20):
        data = f"round {i}\n" + "x" * (i * 97)
        with open(cfs.path(f"k{i}"), "w") as f:
            f.write(data)
        contents[f"k{i}"] = data
        with open(cfs.path("same"), "w") as f:
            f.write(data)
        contents["same"] = data
        cfs.kill()
        cfs.start()
        for name, want in contents.items():
            assert read(cfs.path(name)) == want, f"round {i}: {name}"


def test_a_mount_whose_daemon_does_not_answer_is_aborted_not_waited_for(make_cfs):
    """A new droverfs finds a droverfs mount at its mount point whose daemon
    does not answer (here: stopped; after a kill -9 it can be a zombie that a
    thread of it, stuck in the kernel, keeps alive). It must neither hang on
    it (a stat would) nor give up: it aborts that FUSE connection, mounts,
    and the processes that waited on the old mount get an error instead of
    waiting forever."""
    import signal
    old = make_cfs(subdir="old")
    new = make_cfs(subdir="new", start=False)
    new.mnt = old.mnt  # same mount point, another database
    old.proc.send_signal(signal.SIGSTOP)
    try:
        waiter = subprocess.Popen(["stat", old.path("x")], stdout=subprocess.DEVNULL,
                                  stderr=subprocess.PIPE, text=True)
        time.sleep(0.5)
        assert waiter.poll() is None  # it waits for the stopped daemon
        t0 = time.monotonic()
        new.start(timeout=20)
        took = time.monotonic() - t0
        assert took < 10, f"took {took:.1f} s"
        assert "does not answer; aborting its connection" in new.log()
        waiter.wait(timeout=10)
        assert waiter.returncode != 0
        with open(new.path("fresh"), "w") as f:
            f.write("mounted\n")
        assert open(new.path("fresh")).read() == "mounted\n"
    finally:
        old.proc.send_signal(signal.SIGCONT)
    # the old daemon's session was aborted: it ends by itself
    assert old.proc.wait(timeout=10) is not None
    old.proc = None
