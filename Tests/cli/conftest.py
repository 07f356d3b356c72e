"""Shared fixtures for the command-line tests: the segcat binary, the data sets, and helpers."""
import json
import os
import re
import subprocess
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
SHARED = ROOT.parent / "shared" / "data"
LOGHUB = sorted((SHARED / "loghub").glob("*.ndjson"))
SCHEMAS = ROOT / "Tests" / "Data" / "schemas"


@pytest.fixture(scope="session")
def segcat():
    """Path of the segcat binary under test (SEGCAT, else the debug build)."""
    path = Path(os.environ.get("SEGCAT", ROOT / ".build" / "debug" / "segcat"))
    assert path.exists(), f"{path} is missing: run `swift build` first"
    return str(path)


@pytest.fixture(scope="session")
def flights():
    """The 336,776-record flights file (FLIGHTS, else built once into .build/data)."""
    path = Path(os.environ.get("FLIGHTS", ROOT / ".build" / "data" / "flights.ndjson"))
    if not path.exists():
        path.parent.mkdir(parents=True, exist_ok=True)
        subprocess.run([str(SHARED / "get-flights"), str(path)], check=True)
    return path


def run(*args, stdin=None, check=None):
    """Runs a command, returning the CompletedProcess (bytes)."""
    result = subprocess.run([str(a) for a in args], input=stdin, capture_output=True, timeout=600)
    if check is not None:
        assert result.returncode == check, f"{args}: exit {result.returncode}\nstderr: {result.stderr.decode()}"
    return result


_RFC3339 = re.compile(r"^(\d{4})-(\d\d)-(\d\d)[Tt ](\d\d):(\d\d):(\d\d)(?:\.(\d{1,9}))?([Zz]|[+-]\d\d:\d\d)$")


def instant(text):
    """Nanoseconds since the epoch of an RFC 3339 date-time (an independent parser, for checking)."""
    import calendar

    m = _RFC3339.match(text)
    assert m, f"not RFC 3339: {text}"
    y, mo, d, h, mi, s, frac, zone = m.groups()
    seconds = calendar.timegm((int(y), int(mo), int(d), int(h), int(mi), int(s)))
    if zone not in ("Z", "z"):
        sign = 1 if zone[0] == "+" else -1
        seconds -= sign * (int(zone[1:3]) * 3600 + int(zone[4:6]) * 60)
    return seconds * 1_000_000_000 + int((frac or "").ljust(9, "0") or 0)


def timestamp_fields(schema_path):
    schema = json.loads(Path(schema_path).read_text())
    return {k for k, v in schema["properties"].items() if v.get("format") == "date-time"}


def assert_same_records(original_lines, decoded_lines, ts_fields):
    """Every record equal: same keys, same values, date-times the same instant."""
    count = 0
    for number, (a, b) in enumerate(zip(original_lines, decoded_lines, strict=True), start=1):
        ra, rb = json.loads(a), json.loads(b)
        for f in ts_fields:
            if f in ra and ra[f] is not None:
                ra[f] = instant(ra[f])
            if f in rb and rb[f] is not None:
                rb[f] = instant(rb[f])
        assert ra == rb, f"record {number} differs:\n in:  {a!r}\n out: {b!r}"
        count += 1
    return count
