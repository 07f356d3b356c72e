"""segcat on damaged and hostile segments: no row goes missing quietly, a segment without a footer
is read past a damaged block, crafted sizes cannot exhaust memory, and crafted JSON cannot add
records or fields to the output."""
import json
import random
import subprocess
import sys
import zlib

import pytest

from conftest import LOGHUB, SCHEMAS, run
import segment_file as sf

ANDROID = [p for p in LOGHUB if p.stem == "Android"][0]


def pack(segcat, tmp_path, lines, block_rows, name="x.seg"):
    src = tmp_path / (name + ".ndjson")
    src.write_text("".join(line + "\n" for line in lines))
    seg = tmp_path / name
    run(segcat, "pack", "--schema", SCHEMAS / "android.schema.json", "--block-rows", block_rows, "-o", seg, src, check=0)
    return seg


def decoded(segcat, seg):
    return run(segcat, seg, check=0).stdout.decode().splitlines()


def test_segment_without_footer_is_read_past_a_damaged_block(segcat, tmp_path):
    lines = ANDROID.read_text().splitlines()[:1000]
    seg = pack(segcat, tmp_path, lines, 250)
    whole = decoded(segcat, seg)
    data = bytearray(seg.read_bytes())
    blocks = sf.block_offsets(bytes(data))
    assert len(blocks) == 4
    del data[sf.footer_start(bytes(data)):]  # the writer died before its footer
    offset, length = blocks[1]
    data[offset + length // 2] ^= 0xFF  # and block 1 is damaged
    seg.write_bytes(bytes(data))
    r = run(segcat, seg, check=1)
    out = r.stdout.decode().splitlines()
    assert out == whole[:250] + whole[500:], "blocks 0, 2 and 3 are read, block 1 is skipped"
    err = r.stderr.decode()
    assert "skipped 1 damaged block (250 rows)" in err, err
    assert f"at offset {offset}" in err


def test_unfinished_last_block_is_left_out_with_a_note_and_status_0(segcat, tmp_path):
    seg = pack(segcat, tmp_path, ANDROID.read_text().splitlines()[:1000], 250)
    data = seg.read_bytes()
    offset, length = sf.block_offsets(data)[3]
    seg.write_bytes(data[: offset + length // 2])  # the writer died inside block 3
    r = run(segcat, seg, check=0)
    assert len(r.stdout.decode().splitlines()) == 750
    assert "stopped: block 3" in r.stderr.decode() and "skipped" not in r.stderr.decode()


def corrupt(data, rng):
    """One small random corruption: a few flipped bytes, a zeroed run, or random bytes written."""
    data = bytearray(data)
    kind = rng.choice(("flip", "zero", "scribble"))
    if kind == "flip":
        for _ in range(rng.randint(1, 4)):
            data[rng.randrange(len(data))] ^= 1 << rng.randrange(8)
    else:
        n = rng.randint(1, 64)
        at = rng.randrange(len(data) - n)
        data[at:at + n] = bytes(n) if kind == "zero" else bytes(rng.randrange(256) for _ in range(n))
    return bytes(data)


def test_no_random_small_corruption_loses_rows_with_status_0(segcat, tmp_path):
    seg = pack(segcat, tmp_path, ANDROID.read_text().splitlines(), 500)
    whole = decoded(segcat, seg)
    pristine = seg.read_bytes()
    rng = random.Random(9)
    damaged = tmp_path / "damaged.seg"
    outcomes = {"all rows, status 0": 0, "rows missing, status 1": 0}
    for trial in range(300):
        damaged.write_bytes(corrupt(pristine, rng))
        r = run(segcat, damaged)
        out = r.stdout.decode(errors="replace").splitlines()
        assert set(out) <= set(whole), f"trial {trial}: output has a record the segment never held"
        if r.returncode == 0:
            assert out == whole, f"trial {trial}: status 0 with {len(out)} of {len(whole)} rows\n{r.stderr.decode()}"
            outcomes["all rows, status 0"] += 1
        else:
            assert r.returncode == 1, f"trial {trial}: status {r.returncode}\n{r.stderr.decode()}"
            assert "the output lacks their rows" in r.stderr.decode(), f"trial {trial}: {r.stderr.decode()}"
            outcomes["rows missing, status 1"] += 1
    assert all(outcomes.values()), outcomes


def test_count_from_footers_counts_damaged_blocks_and_verify_finds_them(segcat, tmp_path):
    seg = pack(segcat, tmp_path, ANDROID.read_text().splitlines(), 500)
    data = bytearray(seg.read_bytes())
    offset, length = sf.block_offsets(bytes(data))[2]
    data[offset + length // 2] ^= 0xFF
    seg.write_bytes(bytes(data))
    assert run(segcat, seg, "--count", check=0).stdout.decode().splitlines() == ['{"count":2000}']
    r = run(segcat, seg, "--count", "--where", "content != ''", check=1)
    assert r.stdout.decode().splitlines() == ['{"count":1500}']
    assert "skipped 1 damaged block (500 rows)" in r.stderr.decode()
    assert "block 2" in run(segcat, "verify", seg, check=1).stdout.decode()


def peak_rss_kib(*args):
    """Runs a command in a child python; returns its status, its peak RSS in KiB, and its stdout and stderr."""
    probe = "import resource,subprocess,sys; r=subprocess.run(sys.argv[1:],capture_output=True); " \
            "sys.stdout.buffer.write(b'%d %d\\n' % (r.returncode, resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss)); " \
            "sys.stdout.buffer.write(r.stdout + r.stderr)"
    p = subprocess.run([sys.executable, "-c", probe, *map(str, args)], capture_output=True, timeout=600)
    first, _, output = p.stdout.partition(b"\n")
    code, rss = map(int, first.split())
    return code, rss, output.decode()


def zeros_compressed(size):
    """zlib of `size` zero bytes, made in pieces."""
    z = zlib.compressobj(9)
    piece = bytes(1 << 20)
    out = b"".join(z.compress(piece) for _ in range(size >> 20))
    return out + z.flush()


def test_crafted_sizes_are_refused_before_any_allocation(segcat, tmp_path):
    # Each chunk's zlib payload (~200 KB) inflates to 200 MiB, under zlib's own 1032:1 limit: a
    # 3 MB file of 16 such blocks used to make verify inflate 3.2 GB, holding 400 MB at a time.
    raw = 200 << 20
    stored = zeros_compressed(raw)
    columns = [("msg", "string", 0)]
    blocks = [(1000, [sf.Chunk(sf.ENC_PLAIN_STRING, b"", 1000, codec=sf.CODEC_ZLIB, raw_length=raw, stored=stored)])] * 16
    seg = tmp_path / "crafted.seg"
    seg.write_bytes(sf.segment(columns, blocks))
    assert seg.stat().st_size < 4_000_000
    for command in (["verify"], ["cat"]):
        code, rss, err = peak_rss_kib(segcat, *command, seg)
        assert code == 1, err
        assert "a writer produces at most 83886080" in err, err
        assert rss < 100 * 1024, f"segcat {command[0]} peaked at {rss} KiB"


def test_crafted_block_totals_are_refused(segcat, tmp_path):
    # 40 columns of 80 MiB each are each within the chunk bound, but no block of 1,000 rows can hold them.
    columns = [(f"c{i}", "string", 0) for i in range(40)]
    stored = zeros_compressed(80 << 20)
    chunk = sf.Chunk(sf.ENC_PLAIN_STRING, b"", 1000, codec=sf.CODEC_ZLIB, raw_length=80 << 20, stored=stored)
    seg = tmp_path / "wide.seg"
    seg.write_bytes(sf.segment(columns, [(1000, [chunk] * 40)]))
    code, rss, err = peak_rss_kib(segcat, "cat", seg)
    assert code == 1 and "block declares" in err and "in all" in err, err
    assert rss < 200 * 1024, f"segcat cat peaked at {rss} KiB"


@pytest.mark.parametrize("column, value, ok", [
    ("json", b'{"a":1}\n{"injected":true}', False),
    ("json", b'{"a":1},"injected":true,"z":{', False),
    ("json", b'{"a":1} ', True),
    ("extra", b'"x":1}\n{"injected":true,"y":2', False),
    ("extra", b'"x":1},{"injected":true', False),
    ("extra", b'"x":1,"injected":true', True),
])
def test_json_values_are_checked_so_nothing_can_be_injected(segcat, tmp_path, column, value, ok):
    columns = [("msg", "string", 0), ("ctx", "json", 0), ("", "extra", 8)]
    json_value = value if column == "json" else b'{"a":1}'
    extra_value = value if column == "extra" else b'"x":1'
    chunks = [
        sf.Chunk(sf.ENC_PLAIN_STRING, sf.plain_strings([b"m"]), 1),
        sf.Chunk(sf.ENC_PLAIN_STRING, sf.plain_strings([json_value]), 1),
        sf.Chunk(sf.ENC_PLAIN_STRING, sf.plain_strings([extra_value]), 1),
    ]
    seg = tmp_path / "inject.seg"
    seg.write_bytes(sf.segment(columns, [(1, chunks)]))
    r = run(segcat, seg)
    out = r.stdout.decode()
    if ok:
        assert r.returncode == 0, r.stderr.decode()
        assert len(out.splitlines()) == 1 and json.loads(out)["msg"] == "m"
        return
    assert r.returncode == 1
    assert out == "", "the row with a crafted value is not written at all"
    err = r.stderr.decode()
    assert "block 0" in err and ("'ctx'" in err if column == "json" else "(extra)" in err), err
    assert "on one line" in err and "skipped 1 damaged block (1 row)" in err
