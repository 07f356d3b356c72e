"""tools/ship-segments end to end: the real AWS CLI against moto_server, on data directories laid
out as segd leaves them."""
import base64
import fcntl
import hashlib
import os
import subprocess
import time

from conftest import KEYS, PREFIX, SEGMENTS, TOOLS, kill_group

ALL_FILES = sorted(name for _, name, *_ in SEGMENTS)


def assert_archived_exactly(shipping, paths_by_key):
    """S3 holds exactly these keys, each with its file's bytes."""
    assert shipping.s3.keys(shipping.bucket) == sorted(paths_by_key)
    for key, data in paths_by_key.items():
        assert shipping.s3.read(shipping.bucket, key) == data, key


def test_ships_every_sealed_segment_to_its_hive_partition(shipping):
    originals = {key: path.read_bytes() for key, path in zip(KEYS, shipping.populate())}

    result = shipping.ship()

    assert result.returncode == 0, result.stderr
    assert_archived_exactly(shipping, originals)
    assert shipping.all_rotated() == []
    assert shipping.all_shipped() == ALL_FILES
    # What segd is still writing, its log, checkpoint and hook journal stay, and are never shipped.
    for tenant in ("acme", "globex"):
        stream = shipping.stream_dir(tenant)
        assert (stream / "active" / "weblog-20261125T070000Z-n1-000009.seg").exists()
        assert (stream / "wal" / "00000001.wal").exists() and (stream / "checkpoint").exists()
    assert "shipped=3" in result.stderr and "url=s3://" in result.stderr
    # The CLI was asked for a SHA-256 that S3 verifies, and S3 reports the file's own.
    stored = shipping.s3.client.head_object(Bucket=shipping.bucket, Key=KEYS[0], ChecksumMode="ENABLED")
    assert stored["ChecksumSHA256"] == base64.b64encode(hashlib.sha256(originals[KEYS[0]]).digest()).decode()


def test_rerun_ships_nothing_new(shipping):
    shipping.populate()
    assert shipping.ship().returncode == 0
    modified = {key: shipping.s3.modified(shipping.bucket, key) for key in KEYS}
    puts = len(shipping.puts())
    time.sleep(1)  # S3 times have one-second resolution

    result = shipping.ship()

    assert result.returncode == 0, result.stderr
    assert "shipped=0" in result.stderr
    assert len(shipping.puts()) == puts == len(KEYS)
    assert {key: shipping.s3.modified(shipping.bucket, key) for key in KEYS} == modified
    assert shipping.all_shipped() == ALL_FILES


def test_killed_during_an_upload_then_rerun_ships_everything_once(shipping):
    originals = {key: path.read_bytes() for key, path in zip(KEYS, shipping.populate())}
    run = shipping.start_ship(env={"FAKE_AWS_PUT": "hang-before"})
    shipping.wait_for("hung")  # the first PUT is under way

    kill_group(run)

    assert shipping.s3.keys(shipping.bucket) == []
    assert shipping.all_rotated() == ALL_FILES and shipping.all_shipped() == []
    result = shipping.ship()
    assert result.returncode == 0, result.stderr
    assert_archived_exactly(shipping, originals)
    assert len(shipping.puts()) == len(KEYS)
    assert shipping.all_rotated() == [] and shipping.all_shipped() == ALL_FILES


def test_killed_after_an_upload_before_marking_then_rerun_does_not_upload_it_again(shipping):
    originals = {key: path.read_bytes() for key, path in zip(KEYS, shipping.populate())}
    run = shipping.start_ship(env={"FAKE_AWS_PUT": "hang-after"})
    shipping.wait_for("uploaded")  # S3 has the first segment; the file is still in rotated/

    kill_group(run)

    assert shipping.s3.keys(shipping.bucket) == [KEYS[0]]
    assert shipping.all_rotated() == ALL_FILES
    result = shipping.ship()
    assert result.returncode == 0, result.stderr
    assert "already in S3" in result.stderr and "already_in_s3=1" in result.stderr
    assert_archived_exactly(shipping, originals)
    assert len(shipping.puts()) == len(KEYS), "a segment was uploaded twice"
    assert shipping.all_shipped() == ALL_FILES


def test_concurrent_runs_upload_each_segment_once(shipping):
    shipping.populate()
    slow = {"FAKE_AWS_PUT": "slow"}
    first, second = shipping.start_ship(env=slow), shipping.start_ship(env=slow)

    outputs = [run.communicate(timeout=120) for run in (first, second)]

    assert [first.returncode, second.returncode] == [0, 0], outputs
    assert len(shipping.puts()) == len(KEYS)
    assert shipping.s3.keys(shipping.bucket) == KEYS
    assert shipping.all_shipped() == ALL_FILES


def test_a_run_that_cannot_get_the_lock_in_time_exits_75(shipping):
    shipping.populate()
    shipping.data.joinpath(".ship-segments.lock").touch()
    with open(shipping.data / ".ship-segments.lock") as held:
        fcntl.flock(held, fcntl.LOCK_EX)

        result = shipping.ship("--wait", "0")

    assert result.returncode == 75
    assert "another ship-segments run holds" in result.stderr
    assert shipping.puts() == [] and shipping.all_rotated() == ALL_FILES


def test_missing_bucket_is_a_clear_error_and_marks_nothing_shipped(shipping):
    shipping.populate()

    result = shipping.ship(env={"SEG_BUCKET": "no-such-bucket"})

    assert result.returncode == 2
    assert "bucket 'no-such-bucket' does not exist" in result.stderr
    assert "nothing was shipped" in result.stderr
    assert shipping.all_rotated() == ALL_FILES and shipping.all_shipped() == []


def test_refused_credentials_are_a_clear_error_and_mark_nothing_shipped(shipping, moto_with_auth):
    shipping.populate()

    result = shipping.ship(env={"AWS_ENDPOINT_URL": moto_with_auth.url, "AWS_ACCESS_KEY_ID": "AKIAWRONGWRONGWRONG1"})

    assert result.returncode == 2
    assert "the AWS credentials were refused (InvalidAccessKeyId" in result.stderr
    assert shipping.all_rotated() == ALL_FILES and shipping.all_shipped() == []


def test_missing_credentials_are_a_clear_error_and_mark_nothing_shipped(shipping):
    shipping.populate()
    env = {k: v for k, v in shipping.env.items() if k not in ("AWS_ACCESS_KEY_ID", "AWS_SECRET_ACCESS_KEY")}

    result = subprocess.run(shipping.ship_command(), env=env, capture_output=True, text=True, timeout=120)

    assert result.returncode == 2
    assert "no AWS credentials found" in result.stderr
    assert shipping.all_rotated() == ALL_FILES and shipping.all_shipped() == []


def test_corrupt_segment_is_quarantined_and_never_uploaded(shipping):
    paths = shipping.populate()
    corrupt = paths[1]
    data = bytearray(corrupt.read_bytes())
    data[len(data) // 2] ^= 0xFF
    corrupt.write_bytes(bytes(data))

    result = shipping.ship()

    assert result.returncode == 1
    assert "quarantined, not uploaded" in result.stderr and corrupt.name in result.stderr
    quarantine = shipping.stream_dir("acme") / "quarantine"
    assert (quarantine / corrupt.name).read_bytes() == bytes(data)
    assert corrupt.name in (quarantine / (corrupt.name + ".verify.txt")).read_text()
    assert shipping.s3.keys(shipping.bucket) == [KEYS[0], KEYS[2]]
    assert not any(corrupt.name in put for put in shipping.puts())
    assert shipping.all_shipped() == sorted([paths[0].name, paths[2].name])
    # Quarantined stays quarantined: the next run has nothing to do.
    assert shipping.ship().returncode == 0


def test_upload_that_does_not_match_the_file_is_not_marked_shipped(shipping):
    shipping.populate()

    result = shipping.ship(env={"FAKE_AWS_PUT": "wrong-body"})

    assert result.returncode == 1
    assert "does not match after upload" in result.stderr
    assert shipping.all_rotated() == ALL_FILES and shipping.all_shipped() == []


def test_runs_as_a_segd_hook_shipping_only_its_segment(shipping):
    paths = shipping.populate()
    segment = paths[1]
    # As segd runs a hook: the segment as argv[1], SEG_* added to segd's own environment.
    env = {**shipping.env, "SEGD_DATA_DIR": str(shipping.data), "SEG_TENANT": "acme", "SEG_STREAM": "weblog",
           "SEG_PATH": str(segment), "SEG_ROWS": "300", "SEG_MIN_TS": "2026-11-02T23:30:00Z",
           "SEG_MAX_TS": "2026-11-03T00:19:50Z"}
    hook = [str(TOOLS / "ship-segments"), str(segment)]

    result = subprocess.run(hook, env=env, capture_output=True, text=True, timeout=120)

    assert result.returncode == 0, result.stderr
    assert shipping.s3.keys(shipping.bucket) == [KEYS[1]]
    assert shipping.shipped("acme") == [segment.name]
    assert shipping.all_rotated() == sorted([paths[0].name, paths[2].name])
    # Run again (segd retries a hook it lost track of): already shipped, nothing to do.
    again = subprocess.run(hook, env=env, capture_output=True, text=True, timeout=120)
    assert again.returncode == 0 and "already in shipped/" in again.stderr
    # The cron sweep ships the rest, under the same lock and rules.
    assert shipping.ship().returncode == 0
    assert shipping.s3.keys(shipping.bucket) == KEYS


def test_shipped_files_are_deleted_after_keep_days(shipping):
    shipping.populate()
    shipped = shipping.stream_dir("acme") / "shipped"
    shipped.mkdir()
    old, recent = shipped / "weblog-old.seg", shipped / "weblog-recent.seg"
    for path, days in ((old, 8), (recent, 6)):
        path.write_bytes(b"shipped earlier")
        stamp = time.time() - days * 86400
        os.utime(path, (stamp, stamp))

    assert shipping.ship().returncode == 0

    assert not old.exists() and recent.exists()
    assert shipping.all_shipped() == sorted(ALL_FILES + ["weblog-recent.seg"])
    assert shipping.ship("--keep-days", "0").returncode == 0
    assert shipping.all_shipped() == []
    assert shipping.s3.keys(shipping.bucket) == KEYS


def test_segment_without_timestamps_is_filed_under_its_file_name_time(shipping):
    schema = shipping.tmp / "counter.schema.json"
    schema.write_text('{"$id": "counter", "type": "object", "properties": {"n": {"type": "integer"}}, "x-segment": {}}')
    source = shipping.tmp / "counter.ndjson"
    source.write_text("".join(f'{{"n": {i}}}\n' for i in range(10)))
    segment = shipping.data / "acme" / "counter" / "rotated" / "counter-20261105T170000Z-n1-000001.seg"
    segment.parent.mkdir(parents=True)
    subprocess.run([shipping.segcat, "pack", "--schema", str(schema), "-o", str(segment), str(source)], check=True)

    result = shipping.ship()

    assert result.returncode == 0, result.stderr
    assert shipping.s3.keys(shipping.bucket) == [
        f"{PREFIX}/acme/counter/dt=2026-11-05/hour=17/counter-20261105T170000Z-n1-000001.seg"]


def test_segcat_may_be_a_command_line(shipping):
    # As on Elastic Beanstalk, where segd-ship sets SEGCAT to a `docker run … segcat` command.
    first = SEGMENTS[0]
    shipping.pack(shipping.stream_dir("acme") / "rotated" / first[1], *first[2:])

    result = shipping.ship(env={"SEGCAT": f"env LC_ALL=C {shipping.segcat}"})

    assert result.returncode == 0, result.stderr
    assert shipping.s3.keys(shipping.bucket) == [KEYS[0]]
