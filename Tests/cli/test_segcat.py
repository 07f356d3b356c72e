"""segcat as a user runs it: real files in, real files out, exit codes and messages."""
import json
import os
import subprocess
from pathlib import Path

import pytest

from conftest import LOGHUB, ROOT, SCHEMAS, assert_same_records, run, timestamp_fields

CODECS = ["lz4", "zlib", "zlib-9", "zstd", "zstd-19", "none"]


def schema_for(path):
    return SCHEMAS / f"{Path(path).stem.lower()}.schema.json"


@pytest.mark.parametrize("codec", CODECS)
@pytest.mark.parametrize("data", LOGHUB, ids=lambda p: p.stem)
def test_loghub_round_trip(segcat, tmp_path, data, codec):
    seg = tmp_path / "out.seg"
    run(segcat, "pack", "--schema", schema_for(data), "--codec", codec, "--block-rows", "700", "-o", seg, data, check=0)
    out = run(segcat, seg, check=0).stdout.decode().splitlines()
    n = assert_same_records(data.read_text().splitlines(), out, timestamp_fields(schema_for(data)))
    assert n == 2000
    run(segcat, "verify", seg, check=0)


@pytest.mark.parametrize("codec", CODECS)
def test_flights_round_trip(segcat, tmp_path, flights, codec):
    seg = tmp_path / "flights.seg"
    run(segcat, "pack", "--schema", SCHEMAS / "flights.schema.json", "--codec", codec, "-o", seg, flights, check=0)
    decoded = tmp_path / "flights.out"
    with open(decoded, "wb") as f:
        assert subprocess.run([segcat, seg], stdout=f).returncode == 0
    with open(flights) as a, open(decoded) as b:
        assert assert_same_records(a, b, {"ts", "time_hour"}) == 336_776


def test_example_weblog_round_trip_keeps_nulls_absent_fields_and_unknown_fields(segcat, tmp_path):
    data = ROOT / "docs" / "examples" / "weblog.ndjson"
    seg = tmp_path / "weblog.seg"
    run(segcat, "pack", "--schema", ROOT / "schemas" / "weblog.schema.json", "-o", seg, data, check=0)
    out = run(segcat, seg, check=0).stdout.decode().splitlines()
    lines = data.read_text().splitlines()
    assert_same_records(lines, out, {"ts"})
    records = [json.loads(line) for line in out]
    assert any(r.get("user_agent", 0) is None for r in records), "nulls come back as null"
    assert any("bytes" not in r for r in records), "absent fields stay absent"
    assert any("trace_id" in r for r in records), "unknown fields come back"


def test_invalid_record_stops_pack_with_line_and_field_and_leaves_no_file(segcat, tmp_path):
    src = tmp_path / "bad.ndjson"
    good = '{"ts":"2024-05-01T12:00:00Z","method":"GET","path":"/","status":200}'
    src.write_text("\n".join([good, good, '{"ts":"2024-05-01T12:00:00Z","method":"GET","path":"/","status":"200"}', good]) + "\n")
    out = tmp_path / "bad.seg"
    r = run(segcat, "pack", "--schema", ROOT / "schemas" / "weblog.schema.json", "-o", out, src, check=1)
    message = r.stderr.decode()
    assert "line 3" in message and "'status'" in message and "expected an integer" in message
    assert list(tmp_path.iterdir()) == [src], "no output and no temporary file left behind"


def test_unsupported_schema_keyword_is_named(segcat, tmp_path):
    schema = tmp_path / "s.schema.json"
    schema.write_text('{"$id":"s","type":"object","properties":{"a":{"type":"string","maxLength":3}}}')
    r = run(segcat, "pack", "--schema", schema, "-o", tmp_path / "x.seg", ROOT / "docs" / "examples" / "weblog.ndjson", check=2)
    assert "maxLength" in r.stderr.decode()


def test_pack_reads_stdin_and_writes_stdout(segcat, tmp_path):
    data = LOGHUB[0]
    packed = run(segcat, "pack", "--schema", schema_for(data), stdin=data.read_bytes(), check=0).stdout
    assert packed[:4] == b"SEG1"
    out = run(segcat, "-", stdin=packed, check=0).stdout.decode().splitlines()
    assert_same_records(data.read_text().splitlines(), out, {"ts"})


def test_directories_are_read_recursively_in_path_order(segcat, tmp_path):
    (tmp_path / "b" / "c").mkdir(parents=True)
    (tmp_path / "a").mkdir()
    targets = [tmp_path / "a" / "1.seg", tmp_path / "b" / "2.seg", tmp_path / "b" / "c" / "3.seg"]
    for target, data in zip(targets, LOGHUB[:3]):
        run(segcat, "pack", "--schema", schema_for(data), "-o", target, data, check=0)
    (tmp_path / "b" / "notes.txt").write_text("not a segment")
    lines = run(segcat, tmp_path, check=0).stdout.decode().splitlines()
    expected = [line for data in LOGHUB[:3] for line in data.read_text().splitlines()]
    assert len(lines) == len(expected) == 6000
    assert [json.loads(a)["content"] for a in lines] == [json.loads(b)["content"] for b in expected]


def test_closed_pipe_ends_quietly(segcat, tmp_path, flights):
    seg = tmp_path / "f.seg"
    run(segcat, "pack", "--schema", SCHEMAS / "flights.schema.json", "-o", seg, flights, check=0)
    r = subprocess.run(f"'{segcat}' '{seg}' | head -n 2", shell=True, capture_output=True, executable="/bin/bash",
                       env={**os.environ, "PIPESTATUS_CHECK": "1"})
    assert r.returncode == 0
    assert len(r.stdout.decode().splitlines()) == 2
    assert r.stderr == b""
    status = subprocess.run(f"set -o pipefail; '{segcat}' '{seg}' | head -n 1 > /dev/null", shell=True, executable="/bin/bash")
    assert status.returncode == 0, "segcat exits 0 when its reader goes away"


def flip(path, offset):
    data = bytearray(path.read_bytes())
    data[offset] ^= 0xFF
    path.write_bytes(bytes(data))


def test_verify_lists_each_bad_file_and_block(segcat, tmp_path):
    good, bad, cut = tmp_path / "good.seg", tmp_path / "bad.seg", tmp_path / "cut.seg"
    for target in (good, bad, cut):
        run(segcat, "pack", "--schema", schema_for(LOGHUB[0]), "--block-rows", "500", "-o", target, LOGHUB[0], check=0)
    size = bad.stat().st_size
    flip(bad, size // 2)
    cut.write_bytes(cut.read_bytes()[: size * 3 // 4])
    (tmp_path / "junk.seg").write_bytes(os.urandom(3000))
    r = run(segcat, "verify", tmp_path, check=1)
    out = r.stdout.decode()
    assert f"{good}: ok (4 blocks, 2000 rows)" in out
    assert f"{bad}: block " in out and "checksum mismatch" in out
    assert f"{cut}: no valid footer" in out
    assert "junk.seg: not a segment file" in out
    assert "3 of 4 segments are damaged" in r.stderr.decode()


def test_cat_skips_a_damaged_block_reports_it_and_exits_1(segcat, tmp_path):
    seg = tmp_path / "x.seg"
    run(segcat, "pack", "--schema", schema_for(LOGHUB[0]), "--block-rows", "500", "-o", seg, LOGHUB[0], check=0)
    info = run(segcat, "info", seg, check=0).stdout.decode()
    assert "4 blocks" in info
    flip(seg, seg.stat().st_size // 2)
    r = run(segcat, seg, check=1)
    assert len(r.stdout.decode().splitlines()) == 1500
    assert "block" in r.stderr.decode() and str(seg) in r.stderr.decode()


def test_truncated_segment_recovers_complete_blocks(segcat, tmp_path):
    seg = tmp_path / "x.seg"
    run(segcat, "pack", "--schema", schema_for(LOGHUB[0]), "--block-rows", "500", "-o", seg, LOGHUB[0], check=0)
    whole = seg.read_bytes()
    seg.write_bytes(whole[:-20])  # the footer is damaged, every block is whole
    r = run(segcat, seg, check=0)
    assert len(r.stdout.decode().splitlines()) == 2000
    assert "no valid footer" in r.stderr.decode() and "recovered" in r.stderr.decode()
    seg.write_bytes(whole[: len(whole) * 3 // 4])  # the writer died inside a block
    r = run(segcat, seg, check=0)
    assert len(r.stdout.decode().splitlines()) in (500, 1000, 1500)
    assert "stopped: block" in r.stderr.decode()


def test_info_shows_schema_rows_time_range_and_columns(segcat, tmp_path):
    data = [p for p in LOGHUB if p.stem == "Linux"][0]
    seg = tmp_path / "linux.seg"
    run(segcat, "pack", "--schema", schema_for(data), "--codec", "zlib", "-o", seg, data, check=0)
    out = run(segcat, "info", seg, check=0).stdout.decode()
    assert "rows:      2000 in 1 blocks" in out
    assert "time:      2005-06-14T15:16:01Z .. 2005-07-27T14:42:00Z" in out
    for header in ("column", "encoding", "codec", "raw", "stored", "ratio"):
        assert header in out
    pid = [line for line in out.splitlines() if line.startswith("pid ")][0].split()
    assert pid[1] == "integer" and pid[3] == "zlib" and pid[5] == "151", pid
    assert '"$id": "linux"' in out


def test_schema_infer_output_packs_the_same_data(segcat, tmp_path):
    data = LOGHUB[-1]
    schema = tmp_path / "inferred.schema.json"
    schema.write_bytes(run(segcat, "schema", "infer", data, check=0).stdout)
    doc = json.loads(schema.read_text())
    assert doc["$id"] == data.stem.lower() and doc["x-segment"]["timestamp"] == "ts"
    run(segcat, "pack", "--schema", schema, "-o", tmp_path / "x.seg", data, check=0)


@pytest.mark.parametrize("command", [[], ["cat"], ["pack"], ["info"], ["verify"], ["schema"], ["schema", "infer"]])
def test_every_command_has_help(segcat, command):
    r = run(segcat, *command, "--help", check=0)
    assert b"USAGE" in r.stdout or b"USAGE" in r.stderr


def test_missing_file_is_a_clear_error(segcat, tmp_path):
    r = run(segcat, tmp_path / "nope.seg", check=2)
    assert "nope.seg: no such file or directory" in r.stderr.decode()
