"""segcat queries at the edges (issue 15): each case is a few records and a command line, run as a
user runs it, with the exit status, the output and the message checked."""
import csv
import io
import json
import time

import pytest

from conftest import run

SCHEMA = {
    "$id": "edges", "type": "object",
    "properties": {
        "ts": {"type": "string", "format": "date-time"},
        "n": {"type": ["integer", "null"]},
        "x": {"type": ["number", "null"]},
        "s": {"type": ["string", "null"]},
        "origin": {"type": "string"},
    },
    "required": ["ts"], "x-segment": {"timestamp": "ts"},
}
INT64_MAX = 2**63 - 1


@pytest.fixture
def pack(segcat, tmp_path):
    """Packs records (dicts) into a segment and returns its path."""
    def pack(records, name="edges.seg", block_rows=2):
        schema = tmp_path / "edges.schema.json"
        schema.write_text(json.dumps(SCHEMA))
        src = tmp_path / (name + ".ndjson")
        src.write_text("".join(json.dumps(r) + "\n" for r in records))
        out = tmp_path / name
        run(segcat, "pack", "--schema", schema, "--block-rows", str(block_rows), "-o", out, src, check=0)
        return out
    return pack


def rows(stdout):
    return [json.loads(line) for line in stdout.decode().splitlines()]


def ts(i):
    return f"2024-05-01T00:00:0{i}Z"


def test_group_by_with_count_prints_the_count(segcat, pack):
    seg = pack([{"ts": ts(i), "origin": o} for i, o in enumerate(["EWR", "JFK", "EWR"])])
    out = run(segcat, seg, "--group-by", "origin", "--count", check=0).stdout
    assert rows(out) == [{"origin": "EWR", "count": 2}, {"origin": "JFK", "count": 1}]


@pytest.mark.parametrize("args", [["--since", "-2h"], ["--until", "-2h"], ["--since", "-10000d", "--until", "-0s"]])
def test_relative_times_starting_with_a_dash_are_values(segcat, pack, args):
    seg = pack([{"ts": ts(0)}, {"ts": ts(1)}])
    r = run(segcat, seg, *args, "--count")
    assert r.returncode == 0, r.stderr.decode()


def test_conditions_starting_with_a_dash_are_values(segcat, pack):
    seg = pack([{"ts": ts(0), "n": -3}, {"ts": ts(1), "n": 5}])
    assert rows(run(segcat, seg, "--where", "-2 < n", "--count", check=0).stdout) == [{"count": 1}]


def test_a_negative_limit_is_refused_by_name(segcat, pack):
    seg = pack([{"ts": ts(0)}])
    r = run(segcat, seg, "--limit", "-1", check=64)
    assert "--limit must not be negative" in r.stderr.decode()


def test_integer_sum_and_avg_do_not_lose_precision_on_overflowing_running_sums(segcat, pack):
    seg = pack([{"ts": ts(i), "n": v} for i, v in enumerate([INT64_MAX, 1, -INT64_MAX, -43])])
    out = run(segcat, seg, "--agg", "sum(n),avg(n)", check=0).stdout
    assert out == b'{"sum(n)":-42,"avg(n)":-10.5}\n'


def test_a_sum_that_does_not_fit_64_bits_is_refused(segcat, pack):
    seg = pack([{"ts": ts(i), "n": v} for i, v in enumerate([INT64_MAX, 1])])
    r = run(segcat, seg, "--agg", "sum(n)")
    assert r.returncode == 2, r
    assert "sum(n)" in r.stderr.decode() and "64-bit" in r.stderr.decode()


def test_non_finite_numbers_are_null_in_json_and_inf_in_csv(segcat, pack):
    seg = pack([{"ts": ts(i), "x": 1.7976931348623157e308} for i in range(2)])
    assert run(segcat, seg, "--agg", "sum(x)", check=0).stdout == b'{"sum(x)":null}\n'
    assert run(segcat, seg, "--agg", "sum(x),count(*)", "--format", "csv", check=0).stdout == b"sum(x),count(*)\ninf,2\n"
    assert run(segcat, seg, "--agg", "sum(x),count(*)", "--format", "tsv", check=0).stdout == b"sum(x)\tcount(*)\ninf\t2\n"


@pytest.mark.parametrize("condition,expected", [
    ("n = 9007199254740992.5", 0),
    ("n = 9223372036854775808", 0),
    ("n < 9223372036854775808", 3),
    ("n = 9223372036854775807.0", 1),
    ("n IN (9223372036854775807.0)", 1),
    ("n > 9007199254740992.5", 2),
    ("n >= 9007199254740993", 2),
    ("n <= -9223372036854775809", 0),
    ("n != 1.5", 3),
    ("NOT (n = 1.5)", 3),
])
def test_integers_compare_exactly_with_fractional_and_out_of_range_literals(segcat, pack, condition, expected):
    seg = pack([{"ts": ts(0), "n": 9007199254740992}, {"ts": ts(1), "n": 9007199254740993}, {"ts": ts(2), "n": INT64_MAX},
                {"ts": ts(3), "n": None}])
    assert rows(run(segcat, seg, "--where", condition, "--count", check=0).stdout) == [{"count": expected}], condition


def test_ilike_underscore_is_one_character_of_the_value(segcat, pack):
    seg = pack([{"ts": ts(0), "s": "İstanbul"}, {"ts": ts(1), "s": "istanbul"}])
    assert rows(run(segcat, seg, "--where", "s ILIKE '_stanbul'", "--count", check=0).stdout) == [{"count": 2}]
    assert rows(run(segcat, seg, "--where", "s ILIKE '__stanbul'", "--count", check=0).stdout) == [{"count": 0}]


@pytest.mark.parametrize("since", ["-200000d", "-9223372036854775807s", "1000-01-01T00:00:00Z"])
def test_out_of_range_times_are_refused(segcat, pack, since):
    seg = pack([{"ts": ts(0)}])
    r = run(segcat, seg, f"--since={since}", "--count")
    assert r.returncode == 64, r
    assert "--since" in r.stderr.decode()


@pytest.mark.parametrize("condition", [
    " OR ".join(["n = 1"] * 6000),
    " AND ".join(["n != 1"] * 6000),
    "NOT " * 7000 + "n = 1",
    "(" * 60000 + "n = 1" + ")" * 60000,
], ids=["6000-ors", "6000-ands", "7000-nots", "60000-parentheses"])
def test_deep_or_long_conditions_never_crash(segcat, pack, condition):
    seg = pack([{"ts": ts(0), "n": 1}, {"ts": ts(1), "n": 2}])
    r = run(segcat, seg, "--where", condition, "--count")
    assert r.returncode in (0, 64), r.stderr.decode()[-300:]
    if r.returncode == 64:
        assert "nested too deeply" in r.stderr.decode()


def test_long_or_chains_are_answered(segcat, pack):
    seg = pack([{"ts": ts(0), "n": 1}, {"ts": ts(1), "n": 2}, {"ts": ts(2), "n": 3}])
    condition = " OR ".join(f"n = {v}" for v in range(10, 6010)) + " OR n = 2"
    assert rows(run(segcat, seg, "--where", condition, "--count", check=0).stdout) == [{"count": 1}]


def test_like_with_many_wildcards_answers(segcat, pack):
    """Backtracking takes hours on these (2**100 ways to place the % signs); greedy matching is linear."""
    value = "a" * 250
    seg = pack([{"ts": ts(0), "s": value}, {"ts": ts(1), "s": value + "b"}, {"ts": ts(2), "s": " " * 250}])
    assert rows(run(segcat, seg, "--where", "s LIKE '" + "%a" * 12 + "%b'", "--count", check=0).stdout) == [{"count": 1}]
    assert rows(run(segcat, seg, "--where", "s LIKE '% % % % % %z'", "--count", check=0).stdout) == [{"count": 0}]
    assert rows(run(segcat, seg, "--where", "s ILIKE '" + "%A" * 12 + "%'", "--count", check=0).stdout) == [{"count": 2}]


@pytest.mark.parametrize("condition,column,message", [
    ("n = 1 AND nope = 2", 11, "no segment has a field 'nope'"),
    ("s = 1", 1, "cannot be compared with a number"),
    ("n > 'x'", 1, "cannot be compared with a string"),
    ("n LIKE 'a%'", 1, "LIKE needs a string field"),
])
def test_field_mistakes_in_conditions_exit_64_and_point_at_the_field(segcat, pack, condition, column, message):
    seg = pack([{"ts": ts(0), "n": 1, "s": "a"}])
    r = run(segcat, seg, "--where", condition, "--count", check=64)
    err = r.stderr.decode()
    assert message in err and f"column {column}" in err, err
    assert err.splitlines()[-1] == " " * (1 + column) + "^", err


@pytest.mark.parametrize("agg,message", [
    ("count(*))", "unbalanced parentheses"),
    ("count(distinct)", "count(distinct x) needs a field"),
    ("count(distinct *)", "count(distinct x) needs a field"),
    ("sum(s)", "sum and avg need numbers"),
    ("max(nope)", "no segment has a field 'nope'"),
])
def test_aggregate_mistakes_say_what_is_wrong(segcat, pack, agg, message):
    seg = pack([{"ts": ts(0), "n": 1, "s": "a"}])
    r = run(segcat, seg, "--agg", agg, check=64)
    assert message in r.stderr.decode(), r.stderr.decode()


def test_one_column_csv_quotes_a_null_so_csv_readers_keep_the_row(segcat, pack):
    seg = pack([{"ts": ts(0), "s": "a"}, {"ts": ts(1), "s": None}, {"ts": ts(2), "s": "c"}])
    out = run(segcat, seg, "--select", "s", "--format", "csv", check=0).stdout.decode()
    assert list(csv.reader(io.StringIO(out))) == [["s"], ["a"], [""], ["c"]]


def test_table_escapes_line_breaks_inside_values(segcat, pack):
    seg = pack([{"ts": ts(0), "s": "two\nlines\tand tab"}])
    out = run(segcat, seg, "--select", "s", "--format", "table", check=0).stdout.decode()
    assert out.splitlines() == ["s", "-" * len("two\\nlines\\tand tab"), "two\\nlines\\tand tab"]


def test_select_of_nothing_is_refused(segcat, pack):
    seg = pack([{"ts": ts(0), "s": "a"}])
    r = run(segcat, seg, "--select", "", check=64)
    assert "--select" in r.stderr.decode()


def test_select_of_a_field_twice_outputs_it_once(segcat, pack):
    seg = pack([{"ts": ts(0), "s": "a"}])
    assert run(segcat, seg, "--select", "s,s", check=0).stdout == b'{"s":"a"}\n'
    assert run(segcat, seg, "--select", "s,s", "--format", "csv", check=0).stdout == b"s\na\n"


def test_limit_zero_prints_no_row_for_counts_and_aggregates_alike(segcat, pack):
    seg = pack([{"ts": ts(0), "n": 1}])
    assert run(segcat, seg, "--count", "--limit", "0", check=0).stdout == b""
    assert run(segcat, seg, "--agg", "count(*)", "--limit", "0", check=0).stdout == b""
    assert run(segcat, seg, "--count", "--limit", "0", "--format", "csv", check=0).stdout == b"count\n"


def test_a_directory_without_segments_is_reported(segcat, tmp_path):
    (tmp_path / "empty").mkdir()
    r = run(segcat, tmp_path / "empty", "--count", check=0)
    assert rows(r.stdout) == [{"count": 0}]
    assert "no segment (*.seg file) in this directory" in r.stderr.decode()
