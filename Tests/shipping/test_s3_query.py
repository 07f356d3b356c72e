"""segcat reading segments where they live in S3 (moto on loopback), shipped there by
tools/ship-segments: the same answers as from disk for every query flag, partition pruning seen in
the LIST requests, pages, the footer cache, and failures that end in a retry or a clear exit 2,
never a wrong answer."""
import calendar
import json
import os
import re
import shutil
import subprocess
import time
from pathlib import Path

import pytest

from conftest import PREFIX, WEBLOG, WEBLOG_SCHEMA, new_world
from s3_fakes import FaultProxy, first_attempts_fail

# (tenant, first record, records, seconds apart): segments of up to an hour, as segd seals them;
# blocks of 50 rows, so blocks are pruned and read one by one.
LAYOUT = [
    ("acme", "2026-11-01T00:00:00Z", 200, 15),
    ("acme", "2026-11-01T12:10:00Z", 180, 20),
    ("acme", "2026-11-02T09:30:00Z", 240, 14),
    ("acme", "2026-11-02T10:05:00Z", 200, 17),
    ("acme", "2026-11-02T23:20:00Z", 150, 20),
    ("acme", "2026-11-03T06:00:00Z", 120, 30),
    ("globex", "2026-11-02T10:00:00Z", 100, 30),
]


def stamp(first, i, step):
    start = calendar.timegm(time.strptime(first, "%Y-%m-%dT%H:%M:%SZ"))
    return time.strftime("%Y-%m-%dT%H:%M:%S", time.gmtime(start + i * step)) + f".{(i * 37) % 1000:03d}Z"


@pytest.fixture(scope="module")
def archive(tmp_path_factory, moto, segcat):
    """LAYOUT packed into a segd-style data directory (kept aside as `local`), shipped to S3."""
    world = new_world(tmp_path_factory.mktemp("s3query"), moto, segcat)
    lines = WEBLOG.read_text().splitlines()
    for n, (tenant, first, count, step) in enumerate(LAYOUT):
        records = []
        for i in range(count):
            record = json.loads(lines[(i * 7 + n) % len(lines)])
            record["ts"] = stamp(first, i, step)
            records.append(json.dumps(record))
        name = f"weblog-{first.replace('-', '').replace(':', '')}-n1-{n:06d}.seg"
        path = world.stream_dir(tenant) / "rotated" / name
        path.parent.mkdir(parents=True, exist_ok=True)
        source = world.tmp / f"{name}.ndjson"
        source.write_text("\n".join(records) + "\n")
        subprocess.run([segcat, "pack", "--schema", str(WEBLOG_SCHEMA), "--tenant", tenant, "--node", "n1", "--block-rows", "50",
                        "-o", str(path), str(source)], check=True, capture_output=True)
    world.local = world.tmp / "local"
    shutil.copytree(world.data, world.local)
    result = world.ship()
    assert result.returncode == 0, result.stderr
    assert len(world.s3.keys(world.bucket, PREFIX)) == len(LAYOUT)
    world.url = f"s3://{world.bucket}/{PREFIX}"
    return world


def segcat_run(world, *args, env=None, endpoint=None, cache=None):
    """segcat with the world's credentials (and, when given, another endpoint and cache directory)."""
    environment = {**world.env, **(env or {})}
    if endpoint:
        environment["AWS_ENDPOINT_URL"] = endpoint
    extra = ["--cache-dir", str(cache)] if cache else ["--no-cache"]
    command = [world.segcat, *map(str, args)]
    if command[1] not in ("info", "verify"):
        command.insert(1, "cat")
    return subprocess.run(command + extra, env=environment, capture_output=True, text=True, timeout=300)


def stats_line(stderr):
    match = re.search(r"s3: (\d+) LIST and (\d+) GET requests \((\d+) retried\); (\d+) bytes fetched of (\d+) in (\d+) objects, "
                      r"(\d+) bytes needed; footer cache: (\d+) hits, (\d+) misses", stderr)
    assert match, stderr
    keys = ["lists", "gets", "retries", "fetched", "object_bytes", "objects", "needed", "hits", "misses"]
    return dict(zip(keys, map(int, match.groups())))


QUERIES = [
    [],
    ["--select", "ts,status,path"],
    ["--where", "status >= 400 AND method = 'GET'"],
    ["--where", "path LIKE '/api/%' OR duration_ms > 100", "--select", "ts,path,duration_ms", "--format", "csv"],
    ["--since", "2026-11-02T10:00:00Z", "--until", "2026-11-02T11:00:00Z"],
    ["--since", "2026-11-02T10:20:00Z", "--until", "2026-11-03T00:00:00Z", "--count"],
    ["--limit", "7", "--select", "ts,host"],
    ["--count"],
    ["--where", "cached = true", "--count"],
    ["--group-by", "host,method", "--agg", "count(*),avg(duration_ms),max(bytes),count(distinct path)", "--format", "tsv"],
    ["--group-by", "status", "--agg", "sum(bytes),min(ts)", "--format", "table", "--since", "2026-11-01T06:00:00Z"],
    ["--where", "user_agent IS NULL", "--select", "ts,user_agent", "--format", "ndjson"],
    ["--strict", "--where", "status = 200", "--limit", "3"],
]


@pytest.mark.parametrize("args", QUERIES, ids=lambda a: " ".join(a) or "all records")
def test_every_query_flag_answers_as_from_disk(archive, args):
    local = segcat_run(archive, archive.local, *args)
    remote = segcat_run(archive, archive.url, *args)
    assert local.returncode == 0, local.stderr
    assert remote.returncode == 0, remote.stderr
    assert remote.stdout == local.stdout
    assert local.stdout.strip()


def test_each_level_of_the_path_reads_what_is_under_it(archive):
    levels = {
        f"{archive.url}/acme": "acme/weblog/rotated",
        f"{archive.url}/acme/weblog/": "acme/weblog/rotated",
        f"{archive.url}/acme/weblog/dt=2026-11-02": "acme/weblog/rotated/weblog-20261102*",
        f"{archive.url}/acme/weblog/dt=2026-11-02/hour=10": "acme/weblog/rotated/weblog-20261102T1005*",
    }
    for url, local in levels.items():
        paths = sorted(archive.local.glob(local)) if "*" in local else [archive.local / local]
        assert segcat_run(archive, url).stdout == segcat_run(archive, *paths).stdout, url
    key = archive.s3.keys(archive.bucket, f"{PREFIX}/globex")[0]
    one = segcat_run(archive, f"s3://{archive.bucket}/{key}", "--count", "--format", "csv")
    assert one.returncode == 0 and one.stdout == "count\n100\n", one.stderr


def test_s3_and_local_paths_mix_in_argument_order(archive):
    key = archive.s3.keys(archive.bucket, f"{PREFIX}/globex")[0]
    local = sorted((archive.local / "acme" / "weblog" / "rotated").glob("*.seg"))[0]
    mixed = segcat_run(archive, f"s3://{archive.bucket}/{key}", local, "--select", "ts,host")
    expected = segcat_run(archive, *sorted((archive.local / "globex").rglob("*.seg")), local, "--select", "ts,host")
    assert mixed.returncode == 0, mixed.stderr
    assert mixed.stdout == expected.stdout


def test_info_and_verify_read_objects_in_place(archive):
    key = archive.s3.keys(archive.bucket, f"{PREFIX}/acme")[2]
    local = archive.local / "acme" / "weblog" / "rotated" / key.rsplit("/", 1)[1]
    remote_info = segcat_run(archive, "info", f"s3://{archive.bucket}/{key}")
    local_info = segcat_run(archive, "info", local)
    assert remote_info.returncode == 0, remote_info.stderr
    assert remote_info.stdout.split("\n", 1)[1] == local_info.stdout.split("\n", 1)[1]
    verify = segcat_run(archive, "verify", archive.url)
    assert verify.returncode == 0, verify.stderr
    assert verify.stdout.count(": ok (") == len(LAYOUT)


def test_partition_pruning_shows_in_the_list_requests(archive):
    proxy = FaultProxy(archive.moto.url)
    try:
        result = segcat_run(archive, archive.url, "--since", "2026-11-02T10:00:00Z", "--until", "2026-11-02T10:30:00Z",
                            "--count", "--stats", endpoint=proxy.url)
        assert result.returncode == 0, result.stderr
        local = segcat_run(archive, archive.local, "--since", "2026-11-02T10:00:00Z", "--until", "2026-11-02T10:30:00Z", "--count")
        assert result.stdout == local.stdout
        ranged = [r["query"] for r in proxy.lists() if "delimiter" not in r["query"]]
        # One listing per stream, of the one day in range, from the hour before --since.
        assert sorted((q["prefix"], q.get("start-after")) for q in ranged) == [
            (f"{PREFIX}/acme/weblog/dt=2026-11-02/", f"{PREFIX}/acme/weblog/dt=2026-11-02/hour=09"),
            (f"{PREFIX}/globex/weblog/dt=2026-11-02/", f"{PREFIX}/globex/weblog/dt=2026-11-02/hour=09"),
        ]
        read = {r["path"].split("/dt=")[1].split("/")[0] + "/" + r["path"].split("/")[-2] for r in proxy.gets()}
        assert read <= {"2026-11-02/hour=09", "2026-11-02/hour=10"}, read
        stats = stats_line(result.stderr)
        assert stats["objects"] == 3 and stats["lists"] == len(proxy.lists())
    finally:
        proxy.stop()


def test_a_range_across_midnight_lists_both_days_only(archive):
    proxy = FaultProxy(archive.moto.url)
    try:
        args = ["--since", "2026-11-02T23:30:00Z", "--until", "2026-11-03T07:00:00Z", "--select", "ts"]
        result = segcat_run(archive, f"{archive.url}/acme/weblog", *args, endpoint=proxy.url)
        assert result.returncode == 0, result.stderr
        assert result.stdout == segcat_run(archive, archive.local / "acme", *args).stdout
        # Both days at once (in either order), nothing else.
        assert sorted(r["query"]["prefix"] for r in proxy.lists() if "delimiter" not in r["query"]) == [
            f"{PREFIX}/acme/weblog/dt=2026-11-02/", f"{PREFIX}/acme/weblog/dt=2026-11-03/"]
    finally:
        proxy.stop()


def test_the_days_of_a_range_are_listed_at_once(archive):
    """Day listings go out side by side, not one round trip after another: each is held for a
    second, and all of them reach the store while the first is still held."""
    ranged = lambda request, attempt: "slow" if "list-type" in request["query"] and "delimiter" not in request["query"] else None
    proxy = FaultProxy(archive.moto.url, plan=ranged, delay=1.0)
    try:
        args = ["--since", "2026-11-01T00:00:00Z", "--until", "2026-11-03T12:00:00Z", "--count"]
        result = segcat_run(archive, f"{archive.url}/acme/weblog", *args, endpoint=proxy.url)
        assert result.returncode == 0, result.stderr
        assert result.stdout == segcat_run(archive, archive.local / "acme", *args).stdout
        days = [r for r in proxy.lists() if "delimiter" not in r["query"]]
        assert sorted(r["query"]["prefix"].split("/")[-2] for r in days) == [
            "dt=2026-10-31", "dt=2026-11-01", "dt=2026-11-02", "dt=2026-11-03"]
        assert max(r["in_flight"] for r in days) == len(days)
    finally:
        proxy.stop()


def test_listings_are_paged(archive):
    proxy = FaultProxy(archive.moto.url, max_keys=2)
    try:
        result = segcat_run(archive, archive.url, "--count", "--stats", endpoint=proxy.url)
        assert result.returncode == 0, result.stderr
        assert result.stdout == segcat_run(archive, archive.local, "--count").stdout
        # Without a time range the path is listed as it is, in one paged listing, with no exploring.
        pages = [r["query"] for r in proxy.lists()]
        assert all(p["prefix"] == f"{PREFIX}/" and "delimiter" not in p for p in pages), pages
        assert len(pages) == 4 and all("continuation-token" in p for p in pages[1:])
        assert stats_line(result.stderr)["objects"] == len(LAYOUT)
    finally:
        proxy.stop()


def test_the_footer_cache_saves_every_footer_request(archive, tmp_path):
    proxy = FaultProxy(archive.moto.url)
    try:
        args = [archive.url, "--group-by", "host", "--agg", "count(*)", "--stats"]
        first = segcat_run(archive, *args, endpoint=proxy.url, cache=tmp_path / "cache")
        suffix_reads = [r for r in proxy.gets() if r["headers"].get("range", "").startswith("bytes=-")]
        assert first.returncode == 0 and stats_line(first.stderr)["misses"] == len(LAYOUT)
        proxy.clear()
        second = segcat_run(archive, *args, endpoint=proxy.url, cache=tmp_path / "cache")
        assert second.returncode == 0 and second.stdout == first.stdout
        stats = stats_line(second.stderr)
        assert (stats["hits"], stats["misses"]) == (len(LAYOUT), 0)
        # No header or footer reads: every GET is a chunk range inside a block.
        assert not [r for r in proxy.gets() if r["headers"].get("range", "").startswith(("bytes=-", "bytes=0-"))]
        assert suffix_reads
    finally:
        proxy.stop()


def test_a_rewritten_object_misses_the_cache(archive, tmp_path):
    """Same key, other content: another ETag, so the old footer is never used for the new bytes."""
    world = new_world(tmp_path, archive.moto, archive.segcat)
    local = sorted((archive.local / "acme" / "weblog" / "rotated").glob("*.seg"))
    key = f"{PREFIX}/acme/weblog/dt=2026-11-01/hour=00/x.seg"
    world.s3.client.put_object(Bucket=world.bucket, Key=key, Body=local[0].read_bytes())
    url = f"s3://{world.bucket}/{PREFIX}"
    assert segcat_run(world, url, "--count", "--format", "csv", cache=tmp_path / "c").stdout == "count\n200\n"
    world.s3.client.put_object(Bucket=world.bucket, Key=key, Body=local[1].read_bytes())
    again = segcat_run(world, url, "--count", "--format", "csv", "--stats", cache=tmp_path / "c")
    assert again.stdout == "count\n180\n"
    assert stats_line(again.stderr)["misses"] == 1


FAULTS = ["503", "500", "slow", "reset", "truncate"]


@pytest.mark.parametrize("args", [["--count"], [], ["--group-by", "host", "--agg", "avg(duration_ms)", "--since", "2026-11-02T00:00:00Z"]],
                         ids=["count", "all records", "group-by"])
def test_faults_are_retried_until_the_answer_is_right(archive, args):
    proxy = FaultProxy(archive.moto.url, first_attempts_fail(FAULTS[:2]), delay=2.5)
    try:
        result = segcat_run(archive, archive.url, *args, "--stats", "--s3-timeout", "1", endpoint=proxy.url)
        assert result.returncode == 0, result.stderr
        assert result.stdout == segcat_run(archive, archive.local, *args).stdout
        assert stats_line(result.stderr)["retries"] >= len(proxy.requests) // 3
    finally:
        proxy.stop()


def test_every_kind_of_fault_is_survived(archive):
    proxy = FaultProxy(archive.moto.url, first_attempts_fail(FAULTS), delay=2.5)
    try:
        result = segcat_run(archive, archive.url, "--select", "ts,path,status", "--s3-timeout", "1", "--s3-attempts", "8",
                            endpoint=proxy.url)
        assert result.returncode == 0, result.stderr
        assert result.stdout == segcat_run(archive, archive.local, "--select", "ts,path,status").stdout
        assert set(proxy.faults) == set(FAULTS)
    finally:
        proxy.stop()


@pytest.mark.parametrize("fault", ["503", "truncate", "reset"])
def test_faults_that_never_end_fail_with_exit_2_and_no_answer(archive, fault):
    proxy = FaultProxy(archive.moto.url, lambda request, attempt: fault if request["headers"].get("range") else None)
    try:
        result = segcat_run(archive, archive.url, "--count", "--where", "status = 200", "--s3-attempts", "3", endpoint=proxy.url)
        assert result.returncode == 2, result.stderr
        assert result.stdout == ""
        assert "gave up after 3 attempts" in result.stderr and len(result.stderr.strip().splitlines()) == 1
    finally:
        proxy.stop()


def test_missing_bucket_key_and_wrong_region_are_one_line_and_exit_2(archive):
    cases = {
        "s3://no-such-bucket-here/archive/": "no such bucket",
        f"s3://{archive.bucket}/{PREFIX}/acme/weblog/dt=2026-11-01/hour=00/missing.seg": "no such key",
    }
    for url, message in cases.items():
        result = segcat_run(archive, url, "--count")
        assert result.returncode == 2 and message in result.stderr and result.stdout == "", result.stderr
        assert len(result.stderr.strip().splitlines()) == 1
    proxy = FaultProxy(archive.moto.url, lambda request, attempt: "redirect")
    try:
        result = segcat_run(archive, archive.url, "--count", endpoint=proxy.url)
        assert result.returncode == 2 and "AWS_REGION=eu-west-1" in result.stderr, result.stderr
    finally:
        proxy.stop()


def test_refused_credentials_exit_2(moto_with_auth, archive):
    result = segcat_run(archive, archive.url, "--count", endpoint=moto_with_auth.url)
    assert result.returncode == 2, result.stderr
    assert "refused the credentials from environment" in result.stderr and result.stdout == ""


def test_the_segcat_under_test_is_built_from_these_sources(segcat):
    """Not a release build left from an earlier benchmark, which may predate the code under test."""
    from conftest import ROOT

    if os.environ.get("SEGCAT"):
        pytest.skip("SEGCAT names the binary")
    assert Path(segcat) == ROOT / ".build" / "debug" / "segcat" or "/debug/" in segcat
    rebuilt = subprocess.run(["swift", "build", "--product", "segcat", "--package-path", str(ROOT)], capture_output=True, text=True)
    assert rebuilt.returncode == 0 and "Compiling" not in rebuilt.stdout, rebuilt.stdout[-2000:]


def test_segments_a_query_needs_nearly_all_of_are_read_whole(archive):
    """A full decode reads the stream's first segment in ranges (header, footer, chunks) and learns
    it needs nearly all of it; the stream's other segments are then one GET each, of the whole."""
    acme = [k for k in archive.s3.keys(archive.bucket, f"{PREFIX}/acme/")]
    sizes = {f"/{archive.bucket}/{k}": len(archive.s3.read(archive.bucket, k)) for k in acme}
    proxy = FaultProxy(archive.moto.url)
    try:
        result = segcat_run(archive, f"{archive.url}/acme/", "--stats", endpoint=proxy.url)
        assert result.returncode == 0, result.stderr
        assert result.stdout == segcat_run(archive, archive.local / "acme").stdout
        per_object = {path: [r["headers"].get("range") for r in proxy.gets() if r["path"] == path] for path in sizes}
        whole = [p for p, ranges in per_object.items() if ranges == [f"bytes=0-{sizes[p] - 1}"]]
        assert len(whole) == len(acme) - 1, per_object
        stats = stats_line(result.stderr)
        assert stats["gets"] == sum(map(len, per_object.values())) and stats["fetched"] <= 1.3 * stats["needed"]
        # A query that reads a few columns keeps to ranges: no object is fetched whole.
        proxy.clear()
        narrow = segcat_run(archive, f"{archive.url}/acme/", "--select", "ts,status", "--stats", endpoint=proxy.url)
        assert narrow.returncode == 0, narrow.stderr
        assert narrow.stdout == segcat_run(archive, archive.local / "acme", "--select", "ts,status").stdout
        assert not [r for r in proxy.gets() if r["headers"].get("range") == f"bytes=0-{sizes[r['path']] - 1}"]
        stats = stats_line(narrow.stderr)
        assert stats["fetched"] <= 1.3 * stats["needed"]
    finally:
        proxy.stop()
