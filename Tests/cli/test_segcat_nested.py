"""Nested JSON through segcat: json fields and fields outside the schema are shredded into per-path
columns and come back byte for byte (key order, nulls versus absent keys, number spelling) under
every codec, with mixed types per path and more paths than the bound."""
import json
import random

import pytest

from conftest import run

CODECS = ["zstd", "zstd-19", "lz4", "zlib", "none"]

SCHEMA = {
    "$id": "otel",
    "type": "object",
    "properties": {
        "ts": {"type": "string", "format": "date-time"},
        "body": {"type": "string"},
        "attributes": {"type": ["object", "null"]},
        "resource": {"type": "object"},
    },
    "required": ["ts", "body"],
    "x-segment": {"timestamp": "ts"},
}


def number_spellings(rng):
    return rng.choice([0, -7, 2 ** 63 - 1, -(2 ** 63), 1.5, 0.1, 1e300, 2.5e-08, 12345678901234567890])


def records(count, seed=5, paths=40):
    """Records with OpenTelemetry-like attributes: a path's type varies between rows, some keys
    are null, some absent, some hold arrays, and unknown top-level fields come and go."""
    rng = random.Random(seed)
    lines = []
    for i in range(count):
        attributes = {
            "http": {"method": rng.choice(["GET", "POST", "PUT"]), "status_code": rng.choice([200, 201, 404, 500, "500"])},
            "duration_ms": rng.choice([rng.randint(0, 900), round(rng.random() * 100, 3)]),
            "retry": rng.random() < 0.1,
        }
        for _ in range(rng.randint(0, 4)):
            key = f"attr_{rng.randrange(paths)}"
            attributes[key] = rng.choice([None, rng.randint(-5, 5), "v%d" % rng.randrange(9), [1, "x"], {"nested": True}, number_spellings(rng)])
        if rng.random() < 0.2:
            attributes["user"] = {"id": rng.randint(1, 50), "name": "ünïcødé \"q\" \\ /"}
        rec = {
            "ts": f"2024-05-01T12:{i // 60 % 60:02d}:{i % 60:02d}Z",
            "body": f"GET /api/v{i % 3}/items/{rng.randint(1, 9999)} took {rng.randint(1, 500)} ms",
            "attributes": attributes if rng.random() > 0.05 else None,
            "resource": {"service": {"name": rng.choice(["cart", "checkout", "search"])}, "host.name": f"h{i % 4}"},
        }
        if rng.random() < 0.3:
            rec["trace_id"] = "%032x" % rng.getrandbits(128)
        if rng.random() < 0.1:
            rec["k8s"] = {"pod": f"pod-{rng.randrange(5)}", "labels": {"app": "web", "tier": None}}
        lines.append(json.dumps(rec, separators=(",", ":"), ensure_ascii=rng.random() < 0.5))
    # Keys that only differ in escaping, a duplicate key, and odd number spellings stay as written.
    lines.append('{"ts":"2024-05-01T13:00:00Z","body":"edge","attributes":{"x":1,"x":2,"\\u0079":3},"resource":{}}')
    lines.append('{"ts":"2024-05-01T13:00:01Z","body":"edge","attributes":{"n":-0,"e":1E5,"f":1.50,"g":[ 1 , 2 ]},"resource":{"a": {"b" :null}}}')
    return "\n".join(lines) + "\n"


@pytest.fixture(scope="module")
def nested(tmp_path_factory):
    d = tmp_path_factory.mktemp("nested")
    (d / "otel.schema.json").write_text(json.dumps(SCHEMA))
    (d / "otel.ndjson").write_text(records(5000))
    (d / "wide.ndjson").write_text(records(3000, seed=6, paths=400))
    return d


@pytest.mark.parametrize("codec", CODECS)
@pytest.mark.parametrize("data", ["otel", "wide"])
def test_nested_records_come_back_byte_for_byte(segcat, nested, codec, data):
    source = nested / f"{data}.ndjson"
    seg = nested / f"{data}-{codec}.seg"
    run(segcat, "pack", "--schema", nested / "otel.schema.json", "--codec", codec, "--block-rows", "2000", "-o", seg, source, check=0)
    out = run(segcat, seg, check=0).stdout
    assert out == source.read_bytes()
    assert [json.loads(a) for a in out.decode().splitlines()] == [json.loads(b) for b in source.read_text().splitlines()]
    run(segcat, "verify", seg, check=0)


def test_more_paths_than_the_bound_stay_in_the_residual(segcat, nested):
    source = nested / "wide.ndjson"
    seg = nested / "bounded.seg"
    run(segcat, "pack", "--schema", nested / "otel.schema.json", "--max-shredded-columns", "16", "-o", seg, source, check=0)
    assert run(segcat, seg, check=0).stdout == source.read_bytes()
    info = run(segcat, "info", "--no-schema", seg, check=0).stdout.decode()
    shredded = [line for line in info.splitlines() if line.startswith("  ")]
    assert 0 < len(shredded) <= 16 * 2, info
    assert any(line.split()[0] == "attributes.http.method" for line in shredded)
    wide = nested / "wide-zstd.seg"
    run(segcat, "pack", "--schema", nested / "otel.schema.json", "-o", wide, source, check=0)
    paths = {line.split()[0] for line in run(segcat, "info", "--no-schema", wide, check=0).stdout.decode().splitlines() if line.startswith("  ")}
    assert len(paths) == 256, "one block of these records has over 400 paths; the default bound keeps 256 of them"
    assert run(segcat, wide, check=0).stdout == source.read_bytes()


def test_version_1_output_has_no_shredded_paths_and_reads_back(segcat, nested):
    seg = nested / "v1.seg"
    run(segcat, "pack", "--schema", nested / "otel.schema.json", "--format-version", "1", "--codec", "zlib", "-o", seg, nested / "otel.ndjson", check=0)
    assert seg.read_bytes()[4:6] == b"\x01\x00"
    info = run(segcat, "info", "--no-schema", seg, check=0).stdout.decode()
    assert "format version 1" in info and not any(line.startswith("  ") for line in info.splitlines())
    assert run(segcat, seg, check=0).stdout == (nested / "otel.ndjson").read_bytes()
    r = run(segcat, "pack", "--schema", nested / "otel.schema.json", "--format-version", "1", "--codec", "zstd", "-o", seg, nested / "otel.ndjson")
    assert r.returncode == 64 and b"needs --format-version 2" in r.stderr
