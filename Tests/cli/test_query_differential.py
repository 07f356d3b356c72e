"""Randomized differential test: segcat's answers against DuckDB's (in-process, the `duckdb` Python
package) on generated data full of edge values, in every layout.

    python3 -m pytest -q Tests/cli/test_query_differential.py                 # CI: 1,000 queries
    DIFF_QUERIES=20000 DIFF_SEED=7 python3 -m pytest -q Tests/cli/test_query_differential.py   # long mode

Seeded and reproducible: DIFF_SEED (default 15) fixes the data, the layouts and the queries; a
failure names its query number, the segcat command and the SQL. The data (`build_records`) has
integers near 2^53 and the Int64 limits, -0.0, subnormals, ±max doubles, non-ASCII strings
('İ', combining marks, emoji), nulls and absent fields, timestamps before 1970 and written with
offsets, and strings right at the 64-byte cut of the min/max stats. It is packed into segments of
different schemas (one lacks two fields and carries an unknown one), codecs (lz4, zlib, none) and
block sizes (1, 7, 50 rows), read together from one directory.

Where DuckDB itself is inexact, the answer is checked against exact arithmetic in Python instead
(`exact_condition`, then DuckDB over the rows it keeps): DuckDB compares a BIGINT column with a
list that mixes an integer and a DOUBLE literal (`n IN (9007199254740992, 1e0)`) or with a DOUBLE
literal (`n = 9007199254740993e0`) as DOUBLEs, so 9007199254740993 equals 9007199254740992 there;
segcat compares exactly. The same route serves LIKE patterns with more than three % signs, on
which DuckDB's own LIKE backtracks for minutes.
"""
import json
import math
import os
import random
from fractions import Fraction
from pathlib import Path

import pytest

from conftest import instant, run

duckdb = pytest.importorskip("duckdb")

SEED = int(os.environ.get("DIFF_SEED", "15"))
QUERIES = int(os.environ.get("DIFF_QUERIES", "1000"))
I64_MIN, I64_MAX = -(2**63), 2**63 - 1
DMAX = 1.7976931348623157e308

FULL = {
    "ts": {"type": "string", "format": "date-time"},
    "i": {"type": ["integer", "null"]},
    "f": {"type": ["number", "null"]},
    "g": {"type": ["number", "null"]},
    "s": {"type": ["string", "null"]},
    "c": {"type": ["string", "null"]},
    "b": {"type": ["boolean", "null"]},
}
# Fields queried (the unknown field `x` of the partial schema is not queryable).
FIELDS = ["ts", "i", "f", "g", "s", "c", "b"]
PARTIAL = {k: v for k, v in FULL.items() if k not in ("g", "b")}
LAYOUTS = [  # (schema, codec, block rows)
    (FULL, "lz4", 7),
    (PARTIAL, "zlib", 1),
    (FULL, "none", 50),
    (PARTIAL, "lz4", 7),
    (FULL, "zlib", 1),
]
ROWS_PER_SEGMENT = 60

EDGE_INTS = [0, 1, -1, 2**53 - 1, 2**53, 2**53 + 1, -(2**53), -(2**53) - 1, I64_MAX, I64_MAX - 1, I64_MIN, I64_MIN + 1, 42, -43]
EDGE_FLOATS = [0.0, -0.0, 5e-324, -5e-324, 2.2250738585072014e-308, DMAX, -DMAX, 0.1, -2.5, 1e300, 9007199254740993.0, 1.5]
EDGE_STRINGS = ["", "a", "A", "b", "İstanbul", "istanbul", "ISTANBUL", "e\u0301te", "\u00e9te", "日本語", "😀 ok", "a_b", "a%b",
                "it's", "x" * 63, "x" * 64, "x" * 64 + "a", "x" * 64 + "b", "x" * 65, "y" * 200, "Σίσυφος", "straße", "STRASSE"]
CATEGORIES = ["EWR", "JFK", "LGA", "İST", "ewr"]
OFFSETS = ["Z", "+02:00", "-05:30", "+00:00", "-00:01"]


def rfc3339(ns, offset):
    """ns since the epoch written in the given offset, with 0, 3 or 9 fraction digits."""
    sign = -1 if offset.startswith("-") else 1
    shift = 0 if offset == "Z" else sign * (int(offset[1:3]) * 3600 + int(offset[4:6]) * 60)
    import datetime
    seconds, frac = divmod(ns, 10**9)
    t = datetime.datetime(1970, 1, 1) + datetime.timedelta(seconds=seconds + shift)
    text = t.strftime("%Y-%m-%dT%H:%M:%S")
    if frac:
        text += "." + (f"{frac:09d}" if frac % 10**6 else f"{frac // 10**6:03d}")
    return text + offset


def build_records(rng, schema, count):
    records = []
    for _ in range(count):
        r = {}
        ns = rng.choice([rng.randrange(-2 * 10**18, 2 * 10**18), rng.randrange(-10**12, 10**12), 0, -1, 10**18 + rng.randrange(10**9)])
        r["ts"] = rfc3339(ns, rng.choice(OFFSETS))
        for name in schema:
            if name == "ts":
                continue
            roll = rng.random()
            if roll < 0.08:
                r[name] = None
                continue
            if roll < 0.14:
                continue  # absent
            if name == "i":
                r[name] = rng.choice(EDGE_INTS) if rng.random() < 0.5 else rng.randrange(-1000, 1000)
            elif name == "f":
                r[name] = rng.choice(EDGE_FLOATS) if rng.random() < 0.5 else round(rng.uniform(-1e4, 1e4), rng.randrange(0, 6))
            elif name == "g":
                r[name] = rng.choice([0.0, -0.0, 5e-324, 0.5, -1.25]) if rng.random() < 0.3 else round(rng.uniform(-1e3, 1e3), 2)
            elif name == "s":
                r[name] = rng.choice(EDGE_STRINGS) if rng.random() < 0.6 else "".join(rng.choice("abcAB _%İé") for _ in range(rng.randrange(0, 8)))
            elif name == "c":
                r[name] = rng.choice(CATEGORIES)
            elif name == "b":
                r[name] = rng.random() < 0.5
        if "g" not in schema and rng.random() < 0.5:
            r["x"] = {"unknown": [1, "two"]}  # outside the schema: kept in the extra column
        records.append(r)
    return records


@pytest.fixture(scope="module")
def dataset(segcat, tmp_path_factory):
    """Segments in every layout under one directory, and the same rows in DuckDB (table t)."""
    rng = random.Random(SEED)
    root = tmp_path_factory.mktemp("differential")
    segments = root / "segments"
    segments.mkdir()
    rows = []  # in segcat's order: segment path order, then row order
    for n, (properties, codec, block_rows) in enumerate(LAYOUTS):
        schema = root / f"schema{n}.json"
        schema.write_text(json.dumps({"$id": "diff", "type": "object", "properties": properties, "required": ["ts"],
                                      "x-segment": {"timestamp": "ts"}}))
        records = build_records(rng, properties, ROWS_PER_SEGMENT)
        source = root / f"records{n}.ndjson"
        source.write_text("".join(json.dumps(r, ensure_ascii=rng.random() < 0.5) + "\n" for r in records))
        run(segcat, "pack", "--schema", schema, "--codec", codec, "--block-rows", block_rows, "-o", segments / f"seg{n:02d}.seg", source, check=0)
        rows.extend(records)
    db = duckdb.connect()
    db.execute("CREATE TABLE t (rid INTEGER, ts BIGINT, i BIGINT, f DOUBLE, g DOUBLE, s VARCHAR, c VARCHAR, b BOOLEAN)")
    db.executemany("INSERT INTO t VALUES (?, ?, ?, ?, ?, ?, ?, ?)",
                   [[k, instant(r["ts"]), r.get("i"), r.get("f"), r.get("g"), r.get("s"), r.get("c"), r.get("b")] for k, r in enumerate(rows)])
    return segments, db, rows


# ---------------------------------------------------------------------------------------------
# Conditions: one tree, rendered for segcat (`--where`) and for DuckDB (SQL), and evaluated
# exactly in Python where DuckDB is not exact.

class Lit:
    """A literal: its segcat text, its DuckDB text and its exact value (None for NULL)."""

    def __init__(self, ours, sql, value, inexact_in_duckdb=False):
        self.ours, self.sql, self.value, self.inexact = ours, sql, value, inexact_in_duckdb


def quote(s):
    return "'" + s.replace("'", "''") + "'"


def literal_for(rng, field, rows):
    if rng.random() < 0.04:
        return Lit("NULL", "NULL", None)
    seen = [r.get(field) for r in rows if r.get(field) is not None]
    if field == "ts":
        ns = instant(rng.choice([r["ts"] for r in rows])) + rng.choice([0, 0, 1, -1, 10**9])
        return Lit(quote(rfc3339(ns, rng.choice(OFFSETS))), str(ns), ns)
    if field == "i":
        kind = rng.random()
        if kind < 0.5 and seen:
            v = rng.choice(seen)
            return Lit(str(v), str(v), Fraction(v))
        if kind < 0.7:
            text = rng.choice(["2.5", "-2.5", "9007199254740992.5", "9223372036854775807.0", "9223372036854775807.5",
                               "9223372036854775808", "-9223372036854775809", "-9223372036854775808.0", "0.0", "41.999"])
            return Lit(text, text, Fraction(text))
        if kind < 0.85:
            # An exponent: DuckDB reads a DOUBLE and compares as DOUBLEs; segcat compares exactly.
            m, e = rng.choice([(9007199254740993, 0), (42, 0), (15, -1), (1, 30), (-9223372036854775808, 0)])
            value = Fraction(m) * Fraction(10) ** e
            return Lit(f"{m}e{e}", f"{m}e{e}", value, inexact_in_duckdb=True)
        v = rng.choice(EDGE_INTS)
        return Lit(str(v), str(v), Fraction(v))
    if field in ("f", "g"):
        v = rng.choice(seen + EDGE_FLOATS) if seen else 1.0
        text = repr(float(v)) if rng.random() < 0.8 else str(int(v)) if float(v).is_integer() and abs(v) < 1e18 else repr(float(v))
        return Lit(text, text, float(text))
    if field in ("s", "c"):
        v = rng.choice(seen + EDGE_STRINGS) if seen else "a"
        return Lit(quote(v), quote(v), v)
    v = rng.random() < 0.5
    return Lit("TRUE" if v else "FALSE", "TRUE" if v else "FALSE", v)


def like_pattern(rng, rows, field):
    seen = [r.get(field) for r in rows if r.get(field)] or ["a"]
    v = rng.choice(seen + EDGE_STRINGS)
    chars = list(v)
    out = []
    for ch in chars:
        roll = rng.random()
        if roll < 0.15:
            out.append("%")
        elif roll < 0.3:
            out.append("_")
        else:
            out.append(ch)
        if rng.random() < 0.1:
            out.append("%")
    if rng.random() < 0.5:
        out.insert(0, "%")
    if rng.random() < 0.5:
        out.append("%")
    return "".join(out)


OPS = ["=", "!=", "<", "<=", ">", ">="]
FLIP = {"=": "=", "!=": "!=", "<": ">", "<=": ">=", ">": "<", ">=": "<="}


def condition(rng, rows, depth=0):
    roll = rng.random()
    if depth < 3 and roll < 0.3:
        kind = rng.choice(["AND", "OR"])
        parts = [condition(rng, rows, depth + 1) for _ in range(rng.randrange(2, 4))]
        return (kind, parts)
    if depth < 3 and roll < 0.38:
        return ("NOT", condition(rng, rows, depth + 1))
    if roll < 0.4:
        return ("CONST", rng.choice([True, False, None]))
    field = rng.choice(FIELDS)
    leaf = rng.random()
    if leaf < 0.1:
        return ("ISNULL", field, rng.random() < 0.5)
    if field in ("s", "c") and leaf < 0.35:
        return ("LIKE", field, like_pattern(rng, rows, field), rng.random() < 0.4, rng.random() < 0.25)
    if leaf < 0.5:
        return ("IN", field, [literal_for(rng, field, rows) for _ in range(rng.randrange(1, 5))], rng.random() < 0.3)
    return ("CMP", field, rng.choice(OPS), literal_for(rng, field, rows), rng.random() < 0.2)


def render(c, sql):
    kind = c[0]
    if kind in ("AND", "OR"):
        return "(" + f" {kind} ".join(render(p, sql) for p in c[1]) + ")"
    if kind == "NOT":
        return "NOT " + render(c[1], sql)
    if kind == "CONST":
        return {True: "TRUE", False: "FALSE", None: "NULL"}[c[1]]
    if kind == "ISNULL":
        return f"{c[1]} IS {'NOT ' if c[2] else ''}NULL"
    if kind == "LIKE":
        _, field, pattern, ci, negated = c
        return f"{field} {'NOT ' if negated else ''}{'ILIKE' if ci else 'LIKE'} {quote(pattern)}"
    if kind == "IN":
        _, field, lits, negated = c
        return f"{field} {'NOT ' if negated else ''}IN ({', '.join(l.sql if sql else l.ours for l in lits)})"
    _, field, op, lit, flipped = c
    text = lit.sql if sql else lit.ours
    return f"{text} {FLIP[op]} {field}" if flipped else f"{field} {op} {text}"


def needs_python(c):
    """Whether DuckDB cannot check this condition: inexact there, or exponentially slow."""
    kind = c[0]
    if kind in ("AND", "OR"):
        return any(needs_python(p) for p in c[1])
    if kind == "NOT":
        return needs_python(c[1])
    if kind == "IN":
        return c[1] == "i" and any(l.inexact for l in c[2])
    if kind == "CMP":
        return c[1] == "i" and c[3].inexact
    if kind == "LIKE":
        # DuckDB's LIKE backtracks: with many % signs it takes exponential time (minutes on a
        # 65-byte value), so such patterns are checked by Python's O(n·m) `like` instead.
        return c[2].count("%") > 3
    return False


def exact_condition(c, r):
    """SQL three-valued logic, exactly: True, False or None (unknown)."""
    kind = c[0]
    if kind == "AND":
        vals = [exact_condition(p, r) for p in c[1]]
        return False if False in vals else (None if None in vals else True)
    if kind == "OR":
        vals = [exact_condition(p, r) for p in c[1]]
        return True if True in vals else (None if None in vals else False)
    if kind == "NOT":
        v = exact_condition(c[1], r)
        return None if v is None else not v
    if kind == "CONST":
        return c[1]
    value = value_of(r, c[1])
    if kind == "ISNULL":
        return (value is not None) if c[2] else (value is None)
    if kind == "IN":
        if value is None:
            return None
        found = any(l.value is not None and equal(value, l.value) for l in c[2])
        if found:
            return not c[3]
        if any(l.value is None for l in c[2]):
            return None
        return c[3]
    if kind == "CMP":
        _, field, op, lit, _ = c
        if value is None or lit.value is None:
            return None
        a, b = (Fraction(value), lit.value) if field == "i" else (value, lit.value)
        return {"=": a == b, "!=": a != b, "<": a < b, "<=": a <= b, ">": a > b, ">=": a >= b}[op]
    if kind == "LIKE":
        _, field, pattern, ci, negated = c
        if value is None:
            return None
        fold = (lambda t: "".join(ch.lower()[0] for ch in t)) if ci else (lambda t: t)
        return like(fold(value), fold(pattern)) != negated
    raise AssertionError(f"exact_condition does not handle {kind}")


def like(value, pattern):
    """SQL LIKE by dynamic programming over (pattern position, value position): O(n·m), where a
    backtracking regular expression can take exponential time on patterns like '%a%a%a%b'."""
    reachable = {0}
    for p in pattern:
        if p == "%":
            reachable = set(range(min(reachable), len(value) + 1)) if reachable else set()
        else:
            reachable = {i + 1 for i in reachable if i < len(value) and (p == "_" or value[i] == p)}
        if not reachable:
            return False
    return len(value) in reachable


def equal(value, literal):
    return Fraction(value) == literal if isinstance(literal, Fraction) else value == literal


def value_of(r, field):
    if field == "ts":
        return instant(r["ts"])
    return r.get(field)


# ---------------------------------------------------------------------------------------------
# Queries and answers.

AGGREGATES = [("count(*)", "count(*)"), ("count(i)", "count(i)"), ("count(distinct c)", "count(DISTINCT c)"),
              ("count(distinct s)", "count(DISTINCT s)"), ("count(distinct f)", "count(DISTINCT f)"),
              ("sum(i)", "sum(i)"), ("avg(i)", "avg(i)"), ("sum(g)", "sum(g)"), ("avg(g)", "avg(g)"),
              ("min(i)", "min(i)"), ("max(i)", "max(i)"), ("min(f)", "min(f)"), ("max(f)", "max(f)"),
              ("min(s)", "min(s)"), ("max(s)", "max(s)"), ("min(ts)", "min(ts)"), ("max(ts)", "max(ts)"),
              ("max(b)", "max(b)"), ("min(c)", "min(c)")]
GROUPS = ["c", "b", "i", "s", "f"]


def make_query(rng, rows):
    """A query: its condition tree, segcat's command line (after the path), a function from a SQL
    condition to DuckDB's query, that query with the condition as generated, and the shape of
    the answer."""
    where = condition(rng, rows) if rng.random() < 0.85 else None
    args, time_sql = [], None
    if where is not None:
        args += ["--where", render(where, sql=False)]
    if rng.random() < 0.15:
        lo = instant(rng.choice(rows)["ts"]) + rng.choice([0, 1, -1])
        hi = lo + rng.choice([10**9, 10**15, 10**18])
        args += ["--since", rfc3339(lo, rng.choice(OFFSETS)), "--until", rfc3339(hi, "Z")]
        time_sql = f"ts >= {lo} AND ts < {hi}"

    def clause(condition_sql):
        terms = [t for t in (condition_sql, time_sql) if t]
        return (" WHERE " + " AND ".join(f"({t})" for t in terms)) if terms else ""

    kind = rng.random()
    if kind < 0.4:
        args.append("--count")
        build, shape = (lambda w: f"SELECT count(*) FROM t{clause(w)}"), "count"
    elif kind < 0.6:
        fields = rng.sample(FIELDS, rng.randrange(1, 4))
        limit = rng.choice([None, None, 0, 1, 5])
        args += ["--select", ",".join(fields)] + (["--limit", str(limit)] if limit is not None else [])
        tail = f" ORDER BY rid" + (f" LIMIT {limit}" if limit is not None else "")
        build, shape = (lambda w: f"SELECT {', '.join(fields)} FROM t{clause(w)}{tail}"), ("rows", fields)
    else:
        aggs = rng.sample(AGGREGATES, rng.randrange(1, 4))
        groups = rng.sample(GROUPS, rng.randrange(0, 3)) if kind < 0.9 else []
        args += ["--agg", ",".join(a for a, _ in aggs)] + (["--group-by", ",".join(groups)] if groups else [])
        select = ", ".join(groups + [q for _, q in aggs])
        group_by = f" GROUP BY {', '.join(groups)}" if groups else ""
        build, shape = (lambda w: f"SELECT {select} FROM t{clause(w)}{group_by}"), ("groups", groups, [a for a, _ in aggs])
    return where, args, build, build(render(where, sql=True) if where is not None else None), shape


def ours_value(field_or_agg, v):
    """segcat's NDJSON value in DuckDB's terms (timestamps to ns)."""
    if v is None:
        return None
    if field_or_agg in ("ts", "min(ts)", "max(ts)"):
        return instant(v)
    return v


def same(a, b, name):
    if a is None or b is None:
        return a is None and b is None
    if isinstance(b, bool) or isinstance(a, bool):
        return a == b
    if isinstance(a, float) or isinstance(b, float):
        if name.startswith(("avg", "sum(g")):
            return math.isclose(a, b, rel_tol=1e-9, abs_tol=1e-6)
        return a == b or (math.isnan(a) and math.isnan(b))
    return a == b


def canonical(row):
    return tuple((0, "") if v is None else (1, repr(float(v) + 0.0)) if isinstance(v, float) and not isinstance(v, bool) else (2, repr(v)) for v in row)


def test_segcat_agrees_with_duckdb(segcat, dataset):
    segments, db, rows = dataset
    rng = random.Random(SEED * 1_000_003)
    checked = {"duckdb": 0, "python": 0, "refused": 0}
    for number in range(QUERIES):
        where, args, build, sql, shape = make_query(rng, rows)
        result = run(segcat, segments, *args)
        context = f"query {number} (DIFF_SEED={SEED}): segcat {' '.join(map(repr, args))}\n  SQL: {sql}"
        use_python = where is not None and needs_python(where)
        if use_python:
            keep = [r for r in rows if exact_condition(where, r) is True]
            expected = filtered_answer(db, rows, keep, build)
        else:
            expected = db.execute(sql).fetchall()
        if shape[0] == "groups" and "sum(i)" in shape[2]:
            k = len(shape[1]) + shape[2].index("sum(i)")
            if any(r[k] is not None and not I64_MIN <= r[k] <= I64_MAX for r in expected):
                # DuckDB's HUGEINT holds the sum; segcat refuses a sum past Int64, by name.
                assert result.returncode == 2 and b"does not fit a 64-bit integer" in result.stderr, context
                checked["refused"] += 1
                continue
        assert result.returncode == 0, f"{context}\n  exit {result.returncode}: {result.stderr.decode()}"
        out = [json.loads(line) for line in result.stdout.decode().splitlines()]
        compare(out, expected, shape, context)
        checked["python" if use_python else "duckdb"] += 1
    print(f"\n{QUERIES} queries (seed {SEED}): {checked['duckdb']} checked against DuckDB, {checked['python']} against exact "
          f"arithmetic in Python, {checked['refused']} sums refused (DuckDB's HUGEINT result exceeds Int64)")
    assert checked["duckdb"] > QUERIES * 0.7


def filtered_answer(db, rows, keep, build):
    """DuckDB's answer with the condition replaced by the rows Python's exact filter kept."""
    ids = {id(r) for r in keep}
    db.execute("CREATE OR REPLACE TEMP TABLE keep_rids (rid INTEGER)")
    kept = [[k] for k, r in enumerate(rows) if id(r) in ids]
    if kept:
        db.executemany("INSERT INTO keep_rids VALUES (?)", kept)
    return db.execute(build("rid IN (SELECT rid FROM keep_rids)")).fetchall()


def compare(out, expected, shape, context):
    if shape == "count":
        assert out == [{"count": expected[0][0]}], f"{context}\n  segcat {out}, DuckDB {expected}"
        return
    if shape[0] == "rows":
        fields = shape[1]
        ours = [[ours_value(f, r.get(f)) for f in fields] for r in out]
        theirs = [list(r) for r in expected]
        assert len(ours) == len(theirs), f"{context}\n  segcat {len(ours)} rows, DuckDB {len(theirs)}"
        for a, b in zip(ours, theirs):
            assert all(same(x, y, f) for x, y, f in zip(a, b, fields)), f"{context}\n  segcat {a}\n  DuckDB {b}"
        return
    _, groups, aggs = shape
    names = groups + aggs
    ours = sorted(([ours_value(n, r.get(n)) for n in names] for r in out), key=canonical)
    theirs = sorted((list(r) for r in expected), key=canonical)
    if not groups and not theirs:
        theirs = [[0 if a.startswith("count") else None for a in aggs]]
    assert len(ours) == len(theirs), f"{context}\n  segcat {len(ours)} groups, DuckDB {len(theirs)}\n  {ours}\n  {theirs}"
    for a, b in zip(ours, theirs):
        assert all(same(x, y, n) for x, y, n in zip(a, b, names)), f"{context}\n  segcat {a}\n  DuckDB {b}"
