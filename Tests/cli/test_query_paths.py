"""Queries on dotted paths into nested JSON (json fields and fields outside the schema) against
DuckDB's JSON functions over the same NDJSON, with the per-value rules of the spec (Comparing a
path across blocks): a value of another kind than the literal is unknown. Each query runs on three
segments of the same records: shredded (paths read from their own columns), with a bound of 4
shredded columns (most paths read from the residual text), and format version 1 (nothing
shredded), so both ways of reading a path give DuckDB's answer."""
import csv
import io
import json
import math
import random

import pytest

from conftest import run
from test_segcat_nested import SCHEMA

duckdb = pytest.importorskip("duckdb")

ROWS = 3000
BLOCK = 500


def records():
    """OpenTelemetry-shaped records. `attributes.code` is an integer in some blocks and a string
    in others; `attributes.mixed` changes kind from row to row; `attributes.flag` is null, absent
    or a boolean; unknown top-level fields (`trace_id`, `k8s`) come and go."""
    rng = random.Random(14)
    out = []
    for i in range(ROWS):
        block = i // BLOCK
        attributes = {
            "http": {"method": rng.choice(["GET", "POST", "PUT"]), "status_code": rng.choice([200, 201, 404, 500, 503])},
            "duration_ms": rng.choice([rng.randint(0, 90), round(rng.random() * 100, 3)]),
            "retry": rng.random() < 0.2,
            "code": rng.randint(0, 9) if block % 2 == 0 else str(rng.randint(0, 9)),
            "mixed": rng.choice([rng.randint(-3, 3), "x", "y", [1, 2], {"k": 1}, None, 2.5]),
        }
        if rng.random() < 0.5:
            attributes["flag"] = rng.choice([None, True, False])
        if rng.random() < 0.3:
            attributes["user"] = {"id": rng.randint(1, 50), "name": rng.choice(["ann", "bob", "ünï \"q\""])}
        rec = {
            "ts": f"2024-05-01T12:{i // 60 % 60:02d}:{i % 60:02d}Z",
            "body": f"GET /api/items/{rng.randint(1, 99)} took {rng.randint(1, 500)} ms",
            "attributes": attributes if rng.random() > 0.05 else None,
            "resource": {"service": {"name": rng.choice(["cart", "checkout", "search"])}, "host.name": f"h{i % 4}"},
        }
        if rng.random() < 0.4:
            rec["trace_id"] = "%032x" % rng.getrandbits(128)
        if block >= 3 and rng.random() < 0.3:
            rec["k8s"] = {"pod": f"pod-{rng.randrange(5)}", "labels": {"app": rng.choice(["web", "db"])}}
        out.append(json.dumps(rec, separators=(",", ":")))
    return "\n".join(out) + "\n"


@pytest.fixture(scope="module")
def data(segcat, tmp_path_factory):
    d = tmp_path_factory.mktemp("paths")
    (d / "otel.schema.json").write_text(json.dumps(SCHEMA))
    (d / "otel.ndjson").write_text(records())
    segments = {}
    for name, flags in (("shredded", []), ("bound4", ["--max-shredded-columns", "4"]), ("v1", ["--format-version", "1", "--codec", "zlib"])):
        segments[name] = d / f"{name}.seg"
        run(segcat, "pack", "--schema", d / "otel.schema.json", "--block-rows", str(BLOCK), *flags, "-o", segments[name], d / "otel.ndjson", check=0)
    db = duckdb.connect()
    db.execute(f"CREATE TABLE t AS SELECT json AS j FROM read_ndjson_objects('{d / 'otel.ndjson'}')")
    return segments, db


def jp(path):
    return "$." + path


def num(path):
    return f"(CASE WHEN json_type(j, '{jp(path)}') IN ('BIGINT', 'UBIGINT', 'DOUBLE') THEN (j->>'{jp(path)}')::DOUBLE END)"


def txt(path):
    return f"(CASE WHEN json_type(j, '{jp(path)}') = 'VARCHAR' THEN j->>'{jp(path)}' END)"


def boo(path):
    return f"(CASE WHEN json_type(j, '{jp(path)}') = 'BOOLEAN' THEN (j->>'{jp(path)}')::BOOLEAN END)"


def null(path):
    return f"(json_type(j, '{jp(path)}') IS NULL OR json_type(j, '{jp(path)}') = 'NULL')"


WHERE = [
    ("attributes.http.status_code >= 500", f"{num('attributes.http.status_code')} >= 500"),
    ("attributes.http.status_code = 404", f"{num('attributes.http.status_code')} = 404"),
    ("attributes.http.status_code != 200", f"{num('attributes.http.status_code')} != 200"),
    ("NOT attributes.http.status_code = 500", f"NOT ({num('attributes.http.status_code')} = 500)"),
    ("attributes.http.method = 'GET'", f"{txt('attributes.http.method')} = 'GET'"),
    ("attributes.http.method IN ('PUT', 'POST')", f"{txt('attributes.http.method')} IN ('PUT', 'POST')"),
    ("attributes.http.method NOT IN ('GET')", f"{txt('attributes.http.method')} NOT IN ('GET')"),
    ("attributes.http.method LIKE 'P%'", f"{txt('attributes.http.method')} LIKE 'P%'"),
    ("attributes.http.method ILIKE 'get'", f"{txt('attributes.http.method')} ILIKE 'get'"),
    ("attributes.retry = TRUE", f"{boo('attributes.retry')} = TRUE"),
    ("attributes.retry = FALSE", f"{boo('attributes.retry')} = FALSE"),
    ("attributes.duration_ms > 50.5", f"{num('attributes.duration_ms')} > 50.5"),
    ("attributes.duration_ms <= 10", f"{num('attributes.duration_ms')} <= 10"),
    ("attributes.user.id < 10", f"{num('attributes.user.id')} < 10"),
    ("attributes.user.id IS NULL", null("attributes.user.id")),
    ("attributes.user.id IS NOT NULL", f"NOT {null('attributes.user.id')}"),
    ("attributes.user IS NOT NULL", f"NOT {null('attributes.user')}"),
    ("attributes.user.name = 'ünï \"q\"'", f"{txt('attributes.user.name')} = 'ünï \"q\"'"),
    ("resource.service.name = 'cart'", f"{txt('resource.service.name')} = 'cart'"),
    ("resource.\"host.name\" = 'h1'", txt('resource."host.name"') + " = 'h1'"),
    ("trace_id IS NOT NULL", f"NOT {null('trace_id')}"),
    ("trace_id LIKE 'a%'", f"{txt('trace_id')} LIKE 'a%'"),
    ("k8s.pod = 'pod-1'", f"{txt('k8s.pod')} = 'pod-1'"),
    ("k8s.labels.app = 'web' AND attributes.http.status_code < 300",
     f"{txt('k8s.labels.app')} = 'web' AND {num('attributes.http.status_code')} < 300"),
    ("attributes.code = 7", f"{num('attributes.code')} = 7"),
    ("attributes.code = '7'", f"{txt('attributes.code')} = '7'"),
    ("attributes.code IN (1, '1', 2)", f"{num('attributes.code')} IN (1, 2) OR {txt('attributes.code')} IN ('1')"),
    ("attributes.code > 3 AND resource.service.name = 'search'",
     f"{num('attributes.code')} > 3 AND {txt('resource.service.name')} = 'search'"),
    ("attributes.mixed = 'x'", f"{txt('attributes.mixed')} = 'x'"),
    ("attributes.mixed > 0", f"{num('attributes.mixed')} > 0"),
    ("NOT attributes.mixed > 0", f"NOT ({num('attributes.mixed')} > 0)"),
    ("attributes.mixed IS NULL", null("attributes.mixed")),
    ("attributes.flag IS NULL", null("attributes.flag")),
    ("attributes.flag = FALSE OR attributes.http.status_code = 201",
     f"{boo('attributes.flag')} = FALSE OR {num('attributes.http.status_code')} = 201"),
    ("attributes.no.such.path = 1", f"{num('attributes.no.such.path')} = 1"),
]


def count(segcat, seg, where):
    r = run(segcat, seg, "--where", where, "--count", "--format", "csv")
    assert r.returncode == 0, f"{where}: exit {r.returncode}: {r.stderr.decode()}"
    return int(r.stdout.decode().split()[1])


@pytest.mark.parametrize("where,sql", WHERE, ids=[w for w, _ in WHERE])
def test_where_on_paths_matches_duckdb(segcat, data, where, sql):
    segments, db = data
    expected = db.execute(f"SELECT count(*) FROM t WHERE {sql}").fetchone()[0]
    for name, seg in segments.items():
        assert count(segcat, seg, where) == expected, f"{name}: {where} (DuckDB: {expected})"


def rows(segcat, seg, *args):
    r = run(segcat, seg, *args, "--format", "csv")
    assert r.returncode == 0, f"{args}: exit {r.returncode}: {r.stderr.decode()}"
    return list(csv.reader(io.StringIO(r.stdout.decode())))


def same(a, b):
    if a == b:
        return True
    try:
        return math.isclose(float(a), float(b), rel_tol=1e-9)
    except ValueError:
        return False


def text(v):
    if v is None:
        return ""
    if isinstance(v, bool):
        return "true" if v else "false"
    if isinstance(v, float) and v.is_integer():
        return str(int(v))
    return str(v)


AGGREGATES = [
    (["--group-by", "resource.service.name", "--agg", "count(*)"],
     f"SELECT {txt('resource.service.name')} k, count(*) FROM t GROUP BY k ORDER BY k NULLS LAST"),
    (["--group-by", "attributes.http.method", "--agg", "sum(attributes.duration_ms),max(attributes.http.status_code)"],
     f"SELECT {txt('attributes.http.method')} k, sum({num('attributes.duration_ms')}), max({num('attributes.http.status_code')}) "
     "FROM t GROUP BY k ORDER BY k NULLS LAST"),
    (["--where", "attributes.retry = TRUE", "--agg", "min(attributes.user.id),avg(attributes.duration_ms),count(trace_id)"],
     f"SELECT min({num('attributes.user.id')}), avg({num('attributes.duration_ms')}), count({txt('trace_id')}) FROM t "
     f"WHERE {boo('attributes.retry')} = TRUE"),
    (["--group-by", "k8s.labels.app", "--where", "k8s.pod IS NOT NULL", "--agg", "count(distinct k8s.pod)"],
     f"SELECT {txt('k8s.labels.app')} k, count(DISTINCT {txt('k8s.pod')}) FROM t WHERE NOT {null('k8s.pod')} GROUP BY k ORDER BY k NULLS LAST"),
]


@pytest.mark.parametrize("args,sql", AGGREGATES, ids=[" ".join(a) for a, _ in AGGREGATES])
def test_aggregates_on_paths_match_duckdb(segcat, data, args, sql):
    segments, db = data
    expected = [[text(v) for v in row] for row in db.execute(sql).fetchall()]
    assert expected
    for name, seg in segments.items():
        ours = rows(segcat, seg, *args)[1:]
        assert len(ours) == len(expected), f"{name} {args}: {ours} != {expected}"
        for a, b in zip(ours, expected):
            assert len(a) == len(b) and all(same(x, y) for x, y in zip(a, b)), f"{name} {args}: {a} != DuckDB {b}"


def test_select_paths_gives_each_rows_values(segcat, data):
    segments, db = data
    sql = (f"SELECT j->>'$.ts', {txt('resource.service.name')}, {num('attributes.http.status_code')}, {txt('trace_id')} FROM t "
           f"WHERE {num('attributes.code')} = 3")
    expected = db.execute(sql).fetchall()
    assert expected
    for name, seg in segments.items():
        out = run(segcat, seg, "--where", "attributes.code = 3", "--select", "resource.service.name,attributes.http.status_code,trace_id", check=0)
        got = [json.loads(line) for line in out.stdout.decode().splitlines()]
        assert len(got) == len(expected), name
        for g, (_, service, status, trace) in zip(got, expected):
            assert g.get("resource.service.name") == service and g.get("attributes.http.status_code") == status, f"{name}: {g}"
            assert g.get("trace_id") == trace, f"{name}: {g}"


def test_pruning_skips_blocks_by_shredded_stats(segcat, data):
    """`attributes.code` is a string in odd blocks: a numeric comparison cannot match there, and
    `k8s` first appears in block 3; the footer alone tells both (segment "shredded" only)."""
    segments, _ = data
    def stats(where):
        r = run(segcat, segments["shredded"], "--where", where, "--count", "--stats", check=0)
        return r.stderr.decode()
    assert "blocks: 6 (3 pruned" in stats("attributes.code = 7")
    assert "blocks: 6 (3 pruned" in stats("k8s.pod = 'pod-1'")
    assert "blocks: 6 (0 pruned" in stats("attributes.http.status_code >= 500")
    assert "blocks: 6 (6 pruned" in stats("attributes.http.status_code > 503")


def test_quoted_and_bad_path_names(segcat, data):
    segments, _ = data
    seg = segments["shredded"]
    assert count(segcat, seg, "resource.\"host.name\" IN ('h1', 'h2')") == ROWS // 2
    assert count(segcat, seg, "\"resource\".\"host.name\" = 'h3'") == ROWS // 4
    r = run(segcat, seg, "--where", "attributes..code = 1", "--count")
    assert r.returncode != 0 and b"no segment has a field 'attributes..code'" in r.stderr
    r = run(segcat, seg, "--where", "attributes.\"a\"..b = 1", "--count")
    assert r.returncode != 0 and b"expected a key after '.'" in r.stderr
    r = run(segcat, seg, "--where", "body.x = 1", "--count")
    assert r.returncode != 0 and b"no segment has a field 'body.x'" in r.stderr
