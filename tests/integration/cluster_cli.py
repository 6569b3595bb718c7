"""Helpers for the tests of `drover cluster` on sandbox nodes."""
import json
import time


def drover(sb, node, *args, check=True, timeout=150):
    """`drover ARGS` inside node; AssertionError with its output if it fails."""
    proc = sb.exec(node, "drover", *args, check=False, timeout=timeout)
    if check and proc.returncode != 0:
        raise AssertionError(f"{node}: drover {' '.join(args)} exited {proc.returncode}:\n"
                             f"{proc.stdout}{proc.stderr}")
    return proc


def status_json(sb, node):
    return json.loads(drover(sb, node, "cluster", "status", "--output-format", "json").stdout)


def wait_for(what, predicate, timeout=60, interval=0.2):
    """Poll predicate() until it returns something true, and return that."""
    deadline = time.monotonic() + timeout
    while True:
        value = predicate()
        if value:
            return value
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out after {timeout} s waiting for {what}")
        time.sleep(interval)
