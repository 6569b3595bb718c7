"""A writer for the crash tests, run as a separate process.

    crash_writer.py DIR LOG NFILES SEED

Saves the files DIR/f0 .. DIR/f<NFILES-1> in a loop, as Proxmox does
(write DIR/f<N>.tmp.<pid> with O_CREAT|O_EXCL, close, rename over DIR/f<N>),
with some plain overwrites (O_TRUNC) and appends (O_APPEND) mixed in. A few
saves (3 %) are of 150 KiB, which droverfs writes into its database directly.

After each operation one JSON line goes to LOG (outside the mount, written
with one write(), so the test can read it while the writer runs):

    {"s": seq, "k": "save"|"overwrite"|"append", "f": "f3", "c": text, "n": size,
     "ok": true, "t0": start, "t1": end}
    {"s": seq, "k": ..., "f": ..., "c": ..., "ok": false, "step": "create"|"write"|
     "close"|"rename"|"open", "e": errno, "t0": ..., "t1": ...}

"c" is the first line of the new content for save and overwrite (padded()
with dots to "n" bytes makes the whole), the appended text for append; t0 and t1 are CLOCK_MONOTONIC (time.monotonic()) at its start and
end. An operation is acknowledged when "ok" is true. A failed operation
was not acknowledged, but the step that failed may still have been applied.

Control on stdin: "p" pauses after the current operation (answers "paused"
on stdout), "r" resumes, "q" (or EOF) removes leftover temporary files and
exits (answers "done").
"""
import json
import os
import random
import select
import sys
import time

def padded(text, size=1024):
    return text + "." * max(0, size - len(text) - 1) + "\n"


class StepFailed(Exception):
    def __init__(self, step, err):
        super().__init__(step, err)
        self.step = step
        self.errno = err


def step(name, fn, *args):
    try:
        return fn(*args)
    except OSError as e:
        raise StepFailed(name, e.errno)


def write_all(fd, data):
    view = memoryview(data)
    while view:
        n = os.write(fd, view)
        view = view[n:]


def close_checked(fd):
    os.close(fd)


def save(directory, name, content):
    path = os.path.join(directory, name)
    tmp = f"{path}.tmp.{os.getpid()}"
    flags = os.O_CREAT | os.O_EXCL | os.O_WRONLY
    try:
        fd = os.open(tmp, flags, 0o640)
    except FileExistsError:
        # Left over from an attempt cut short by a crash: start over.
        step("create", os.unlink, tmp)
        fd = step("create", os.open, tmp, flags, 0o640)
    except OSError as e:
        raise StepFailed("create", e.errno)
    try:
        step("write", write_all, fd, content.encode())
    except StepFailed:
        try:
            os.close(fd)
        except OSError:
            pass
        raise
    step("close", close_checked, fd)
    step("rename", os.rename, tmp, path)


def rewrite(directory, name, data, flags):
    path = os.path.join(directory, name)
    fd = step("open", os.open, path, os.O_WRONLY | flags)
    try:
        step("write", write_all, fd, data.encode())
    except StepFailed:
        try:
            os.close(fd)
        except OSError:
            pass
        raise
    step("close", close_checked, fd)


def cleanup(directory):
    for name in os.listdir(directory):
        if ".tmp." in name:
            try:
                os.unlink(os.path.join(directory, name))
            except FileNotFoundError:
                pass


def main():
    directory, log_path, nfiles, seed = sys.argv[1], sys.argv[2], int(sys.argv[3]), int(sys.argv[4])
    rnd = random.Random(seed)
    log = os.open(log_path, os.O_WRONLY | os.O_CREAT | os.O_APPEND, 0o644)
    seq = 0
    while True:
        ready, _, _ = select.select([sys.stdin], [], [], 0)
        if ready:
            cmd = sys.stdin.readline().strip()
            if cmd == "p":
                sys.stdout.write("paused\n")
                sys.stdout.flush()
                cmd = sys.stdin.readline().strip()
            if cmd in ("q", ""):
                cleanup(directory)
                sys.stdout.write("done\n")
                sys.stdout.flush()
                return
        seq += 1
        name = f"f{rnd.randrange(nfiles)}"
        kind = rnd.choices(["save", "overwrite", "append"], weights=[6, 2, 2])[0]
        size = 0
        if kind == "save":
            # Now and then big enough to go to the database directly.
            size = 150 * 1024 if rnd.random() < 0.03 else 1024
            head = f"{name} gen {seq}\n"
        elif kind == "overwrite":
            size = 1024
            head = f"{name} gen {seq} overwritten\n"
        else:
            head = f"{name} append {seq}\n"
        text = padded(head, size) if size else head
        rec = {"s": seq, "k": kind, "f": name, "c": head, "n": size, "t0": time.monotonic()}
        try:
            if kind == "save":
                save(directory, name, text)
            elif kind == "overwrite":
                rewrite(directory, name, text, os.O_TRUNC)
            else:
                rewrite(directory, name, text, os.O_APPEND)
            rec["ok"] = True
        except StepFailed as e:
            rec.update(ok=False, step=e.step, e=e.errno)
        rec["t1"] = time.monotonic()
        os.write(log, (json.dumps(rec) + "\n").encode())
        if not rec["ok"]:
            time.sleep(0.002)  # droverfs is down: do not spin


if __name__ == "__main__":
    main()
