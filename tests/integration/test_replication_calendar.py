"""`drover replication calendar`: the schedule checker, as a user runs it.

No daemon is needed; the command is run with TZ set, and where systemd-analyze
is installed, its normalized forms and next events are compared with ours for
the schedules on which both agree by design (no DST switch in between).
"""
import json
import os
import shutil
import subprocess

import pytest

from conftest import DROVER


def calendar(*args, tz="UTC", check=True):
    proc = subprocess.run([DROVER, "replication", "calendar", *args], capture_output=True,
                          text=True, env=dict(os.environ, TZ=tz))
    if check:
        assert proc.returncode == 0, proc.stderr
    return proc


def test_text_output_in_systemd_analyze_form():
    out = calendar("mon..fri 8..17:00/15", "--count", "3", "--from", "2020-07-31 00:00").stdout
    lines = out.splitlines()
    assert lines[0] == "  Original form: mon..fri 8..17:00/15"
    assert lines[1] == "Normalized form: Mon..Fri *-*-* 08..17:00/15:00"
    assert lines[2] == "    Next elapse: Fri 2020-07-31 08:00:00 UTC"
    assert lines[3].startswith("       From now: ") and lines[3].endswith(" ago")
    assert lines[4] == "       Iter. #2: Fri 2020-07-31 08:15:00 UTC"
    assert lines[6] == "       Iter. #3: Fri 2020-07-31 08:30:00 UTC"
    assert len(lines) == 8


def test_local_zone_shows_utc_too():
    out = calendar("02:30", "-n", "2", "--from", "2024-10-26 12:00", tz="Europe/Vienna").stdout
    assert "    Next elapse: Sun 2024-10-27 02:30:00 CEST\n" in out
    assert "       (in UTC): Sun 2024-10-27 00:30:00 UTC\n" in out
    # the repeated 02:30 (CET) does not run again: the next is Monday's
    assert "       Iter. #2: Mon 2024-10-28 02:30:00 CET\n" in out


def test_words_are_joined_and_options_go_anywhere():
    a = calendar("mon..fri", "22:00", "--from", "@0", "-n", "2").stdout
    b = calendar("-n", "2", "mon..fri 22:00", "--from=@0").stdout
    assert a == b
    assert "Normalized form: Mon..Fri *-*-* 22:00:00" in a


def test_json_output():
    out = calendar("*/15", "-n", "4", "--from", "@1596153600", "-o", "json").stdout
    assert '"original":"*/15"' in out  # no "\/" escapes
    doc = json.loads(out)
    assert doc == {"original": "*/15", "normalized": "*-*-* *:00/15:00", "utc": False,
                   "events": [1596154500, 1596155400, 1596156300, 1596157200]}


def test_never():
    out = calendar("02-30", "--from", "@0").stdout
    assert "    Next elapse: never" in out
    doc = json.loads(calendar("2015-10-21", "--from", "2020-01-01", "-o", "json").stdout)
    assert doc["events"] == []


def test_parse_error_points_at_the_position():
    proc = calendar("mon..fri 25:00", check=False)
    assert proc.returncode == 1
    assert proc.stdout == ""
    err = proc.stderr.splitlines()
    assert err[0] == ("drover: calendar 'mon..fri 25:00': position 9: "
                      "hour 25 out of range 0..23")
    assert err[1] == "  mon..fri 25:00"
    assert err[2] == "  " + " " * 9 + "^"


@pytest.mark.parametrize("args, message", [
    ([], "missing SPEC"),
    (["daily", "--count", "0"], "--count: '0' is not a number"),
    (["daily", "--count", "lots"], "--count: 'lots' is not a number"),
    (["daily", "--from", "yesterday"], "--from: 'yesterday' is not a time"),
    (["daily", "--from", "2024-02-30"], "does not exist"),
    (["daily", "-o", "yaml"], "--output-format: 'yaml'"),
])
def test_usage_errors(args, message):
    proc = calendar(*args, check=False)
    assert proc.returncode == 2
    assert message in proc.stderr


def test_from_refuses_a_skipped_local_time():
    proc = calendar("daily", "--from", "2024-03-31 02:30", tz="Europe/Vienna", check=False)
    assert proc.returncode == 2
    assert "a local time the clock skips" in proc.stderr


# Ours and the same in systemd's words (systemd reads a single number as an hour).
SYSTEMD_SPECS = [("*/5", "*:0/5"), ("hourly", "hourly"), ("0", "*:00"),
                 ("mon..fri 8..17:00/15", "mon..fri 8..17:00/15"), ("sat 02:00", "sat 02:00"),
                 ("daily", "daily"), ("12:05", "12:05"), ("*/2:00", "0/2:00"),
                 ("sat *-1..7 15:00", "sat *-1..7 15:00"), ("quarterly", "quarterly"),
                 ("weekly", "weekly"), ("4..10,6:5/5,23", "4..10,6:5/5,23"),
                 ("2020-7..9-2/2", "2020-7..9-2/2"), ("mon,wed..fri 3:4:5", "mon,wed..fri 3:4:5"),
                 ("*-02-29 12:00", "*-02-29 12:00")]


@pytest.mark.skipif(not shutil.which("systemd-analyze"), reason="systemd-analyze not installed")
@pytest.mark.parametrize("ours, theirs", SYSTEMD_SPECS, ids=[s for s, _ in SYSTEMD_SPECS])
def test_same_as_systemd_analyze(ours, theirs):
    """Normalized form and the next 5 events, in UTC, as systemd 252 computes them."""
    args = ["--iterations=5", "--base-time=2020-07-31 00:00:00 UTC"]
    ref = subprocess.run(["systemd-analyze", "calendar", *args, theirs], capture_output=True,
                         text=True, env=dict(os.environ, TZ="UTC"))
    assert ref.returncode == 0, ref.stderr
    out = calendar(ours, "-n", "5", "--from", "2020-07-31 00:00 UTC").stdout

    def keep(text):
        return [line for line in text.splitlines()[1:] if "From now" not in line]
    assert keep(out) == keep(ref.stdout)
