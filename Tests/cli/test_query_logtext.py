"""LIKE, ILIKE and equality over log-text columns, answered on templates first, give exactly the
rows a plain string match gives: checked on every loghub file against Python over the NDJSON, with
patterns that fall inside template text, inside variables, and across both."""
import json
import random

import pytest

from conftest import LOGHUB, SCHEMAS, run


def like(value, pattern, fold):
    """SQL LIKE for the pattern shapes used here (no `_`), Python side."""
    if fold:
        value, pattern = value.lower(), pattern.lower()
    core = pattern.strip("%")
    if pattern.startswith("%") and pattern.endswith("%") and len(pattern) >= 2:
        return core in value
    if pattern.endswith("%"):
        return value.startswith(core)
    if pattern.startswith("%"):
        return value.endswith(core)
    return value == pattern


def patterns(contents, rng):
    """Pieces of real messages: words, numbers, ids, spans across them, whole messages."""
    out = ["%exception%", "%EXCEPTION%", "%error%", "%blk_-1%", "%10.251%", "%:50010%", "%000%", "%-%", "%", "%%"]
    for _ in range(6):
        text = rng.choice(contents)
        if len(text) < 4:
            continue
        a = rng.randrange(len(text) - 2)
        b = rng.randrange(a + 1, min(len(text), a + 16) + 1)
        piece = text[a:b].replace("%", "").replace("_", "").replace("'", "")
        if piece:
            out += [f"%{piece}%", f"{piece}%", f"%{piece}"]
    for text in rng.sample(contents, 2):
        if "%" not in text and "_" not in text:
            out.append(text)
    return out


@pytest.mark.parametrize("data", LOGHUB, ids=lambda p: p.stem)
def test_template_first_matching_agrees_with_a_plain_match(segcat, tmp_path, data):
    seg = tmp_path / "x.seg"
    run(segcat, "pack", "--schema", SCHEMAS / f"{data.stem.lower()}.schema.json", "-o", seg, data, check=0)
    contents = [json.loads(line)["content"] for line in data.read_text().splitlines()]
    rng = random.Random(data.stem)
    for pattern in patterns(contents, rng):
        quoted = pattern.replace("'", "''")
        for op, fold in (("LIKE", False), ("ILIKE", True), ("NOT LIKE", False)):
            expected = sum(like(c, pattern, fold) != op.startswith("NOT") for c in contents)
            out = run(segcat, seg, "--where", f"content {op} '{quoted}'", "--count", "--format", "csv", check=0).stdout.decode()
            assert out.split() == ["count", str(expected)], f"{data.stem}: content {op} {pattern!r}"
        if "%" not in pattern:
            for op in ("=", "!="):
                expected = sum((c == pattern) == (op == "=") for c in contents)
                out = run(segcat, seg, "--where", f"content {op} '{quoted}'", "--count", "--format", "csv", check=0).stdout.decode()
                assert out.split() == ["count", str(expected)], f"{data.stem}: content {op} {pattern!r}"


def test_most_loghub_messages_are_stored_as_log_text(segcat, tmp_path):
    encoded = []
    for data in LOGHUB:
        seg = tmp_path / f"{data.stem}.seg"
        run(segcat, "pack", "--schema", SCHEMAS / f"{data.stem.lower()}.schema.json", "-o", seg, data, check=0)
        info = run(segcat, "info", "--no-schema", seg, check=0).stdout.decode()
        if any(line.startswith("content") and "log-text" in line for line in info.splitlines()):
            encoded.append(data.stem)
    assert len(encoded) >= 6, f"log-text only for {encoded}: the matching above was not exercised"
