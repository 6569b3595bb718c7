"""Helpers for the tests of `drover cluster` on sandbox nodes."""
import json

from polling import wait_for  # noqa: F401  (tests import it from here too)


def drover(sb, node, *args, check=True, timeout=150):
    """`drover ARGS` inside node; AssertionError with its output if it fails."""
    proc = sb.exec(node, "drover", *args, check=False, timeout=timeout)
    if check and proc.returncode != 0:
        raise AssertionError(f"{node}: drover {' '.join(args)} exited {proc.returncode}:\n"
                             f"{proc.stdout}{proc.stderr}")
    return proc


def status_json(sb, node):
    return json.loads(drover(sb, node, "cluster", "status", "--output-format", "json").stdout)


