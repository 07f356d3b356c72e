"""tools/pull-segments against an archive that tools/ship-segments filled (moto_server, real AWS CLI):
segcat over the pulled partitions answers as it did over the data directory before shipping."""
from conftest import PREFIX, SEGMENTS


def pulled_files(directory):
    return sorted(str(p.relative_to(directory)) for p in directory.rglob("*.seg"))


def test_pull_then_segcat_returns_the_same_records_as_before_shipping(archive, tmp_path):
    since, until = "2026-11-03T00:00:00Z", "2026-11-03T00:15:00Z"
    pulled = tmp_path / "pulled"

    result = archive.pull(f"s3://{archive.bucket}/{PREFIX}", "--since", since, "--until", until, str(pulled))

    assert result.returncode == 0, result.stderr
    # The segment holding these records began at 23:30 the day before: found through the lookback,
    # and nothing outside the range's partitions is fetched.
    assert pulled_files(pulled) == ["acme/weblog/dt=2026-11-02/hour=23/weblog-20261102T230000Z-n1-000002.seg"]
    expected = archive.records(archive.before / "acme" / "weblog" / "rotated", since=since, until=until)
    assert len(expected) == 90
    assert archive.records(pulled / "acme" / "weblog", since=since, until=until) == expected


def test_pull_of_every_tenant_keeps_the_archive_layout(archive, tmp_path):
    pulled = tmp_path / "pulled"

    result = archive.pull(f"s3://{archive.bucket}/{PREFIX}/", "--since", "2026-11-01T00:00:00Z",
                          "--until", "2026-11-04T00:00:00Z", str(pulled))

    assert result.returncode == 0, result.stderr
    assert pulled_files(pulled) == [
        "acme/weblog/dt=2026-11-01/hour=00/weblog-20261101T000000Z-n1-000001.seg",
        "acme/weblog/dt=2026-11-02/hour=23/weblog-20261102T230000Z-n1-000002.seg",
        "globex/weblog/dt=2026-11-03/hour=12/weblog-20261103T120000Z-n2-000001.seg",
    ]
    for tenant in ("acme", "globex"):
        expected = archive.records(archive.before / tenant / "weblog" / "rotated")
        assert len(expected) == sum(count for t, _, _, count, _ in SEGMENTS if t == tenant)
        assert archive.records(pulled / tenant / "weblog") == expected


def test_pull_of_one_stream_with_a_relative_range(archive, tmp_path):
    pulled = tmp_path / "pulled"

    # Relative to now: the test archive is in 2026-11, so this finds nothing, cleanly.
    result = archive.pull(f"s3://{archive.bucket}/{PREFIX}/globex/weblog", "--since", "-2h", str(pulled))
    assert result.returncode == 0, result.stderr
    assert pulled_files(pulled) == []

    result = archive.pull(f"s3://{archive.bucket}/{PREFIX}/globex/weblog", "--since", "2026-11-03T12:00:00Z",
                          "--until", "2026-11-03T13:00:00Z", str(pulled))
    assert result.returncode == 0, result.stderr
    assert pulled_files(pulled) == ["globex/weblog/dt=2026-11-03/hour=12/weblog-20261103T120000Z-n2-000001.seg"]


def test_pull_with_an_empty_range_is_a_usage_error(shipping):
    result = shipping.pull(f"s3://{shipping.bucket}/{PREFIX}", "--since", "2026-11-03T00:00:00Z",
                           "--until", "2026-11-02T00:00:00Z", str(shipping.tmp / "pulled"))

    assert result.returncode == 64
    assert "must be before --until" in result.stderr


def test_pull_from_a_missing_bucket_fails_clearly(shipping):
    result = shipping.pull("s3://no-such-bucket/archive", "--since", "2026-11-03T00:00:00Z", str(shipping.tmp / "pulled"))

    assert result.returncode == 1
    assert "NoSuchBucket" in result.stderr
