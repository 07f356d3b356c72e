"""segcat's query answers against DuckDB's, computed over the same NDJSON by tools/make-query-fixtures
and committed in Tests/Data/queries/ (one CSV per case of queries.json)."""
import csv
import io
import json
import math
from pathlib import Path

import pytest

from conftest import LOGHUB, ROOT, SCHEMAS, run

QUERIES = ROOT / "Tests" / "Data" / "queries"
CASES = json.loads((QUERIES / "queries.json").read_text())


@pytest.fixture(scope="session")
def segments(segcat, flights, tmp_path_factory):
    """Segments of every data set: flights, each loghub file, and all loghub files in one directory."""
    root = tmp_path_factory.mktemp("query-segments")
    paths = {"flights": root / "flights.seg"}
    run(segcat, "pack", "--schema", SCHEMAS / "flights.schema.json", "--block-rows", "20000", "-o", paths["flights"], flights, check=0)
    (root / "loghub").mkdir()
    for source in LOGHUB:
        name = source.stem.lower()
        paths[name] = root / "loghub" / f"{name}.seg"
        run(segcat, "pack", "--schema", SCHEMAS / f"{name}.schema.json", "--block-rows", "500", "-o", paths[name], source, check=0)
    paths["loghub"] = root / "loghub"
    return paths


def same_cell(ours, theirs):
    if ours == theirs:
        return True
    try:
        a, b = float(ours), float(theirs)
    except ValueError:
        return False
    return math.isclose(a, b, rel_tol=1e-9, abs_tol=0.0)


@pytest.mark.parametrize("case", CASES, ids=[c["name"] for c in CASES])
def test_answers_match_duckdb(segcat, segments, case):
    out = run(segcat, segments[case["data"]], *case["args"], "--format", "csv", check=0).stdout.decode()
    ours = list(csv.reader(io.StringIO(out)))
    theirs = list(csv.reader(open(QUERIES / f"{case['name']}.csv", newline="")))
    assert ours[0] == theirs[0], f"{case['name']}: header {ours[0]} != DuckDB's {theirs[0]}"
    assert len(ours) == len(theirs), f"{case['name']} {case['args']}: {len(ours) - 1} rows, DuckDB {len(theirs) - 1}"
    assert len(theirs) > 1, f"{case['name']}: the fixture has no rows, so it checks nothing"
    for number, (a, b) in enumerate(zip(ours[1:], theirs[1:]), start=1):
        assert len(a) == len(b) and all(same_cell(x, y) for x, y in zip(a, b)), \
            f"{case['name']} {case['args']}: row {number} is {a}, DuckDB says {b}"
