"""Waiting for a condition: the one polling loop of the integration tests."""
import time


def wait_until(pred, timeout=5.0, interval=0.01):
    """Poll pred() until it is true or timeout seconds pass; returns its last
    value (for `assert wait_until(...)`)."""
    deadline = time.monotonic() + timeout
    while True:
        v = pred()
        if v or time.monotonic() > deadline:
            return v
        time.sleep(interval)


def wait_for(what, predicate, timeout=60, interval=0.2, dump=None):
    """Poll predicate() until it returns something true, and return that; after
    timeout seconds an AssertionError names what (with dump()'s text, if given)."""
    value = wait_until(predicate, timeout, interval)
    if not value:
        raise AssertionError(f"timed out after {timeout} s waiting for {what}" +
                             (f"\n{dump()}" if dump else ""))
    return value
