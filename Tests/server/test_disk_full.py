"""segd on a full disk: a small tmpfs as the data directory."""
import json
import os
import subprocess
import time

import pytest

from conftest import weblog_lines

LINES = weblog_lines()


@pytest.fixture
def small_fs(tmp_path):
    mount = tmp_path / "fs"
    mount.mkdir()
    if subprocess.run(["mount", "-t", "tmpfs", "-o", "size=3m", "tmpfs", str(mount)], capture_output=True).returncode != 0:
        pytest.skip("mounting a tmpfs needs root (CAP_SYS_ADMIN)")
    yield mount
    subprocess.run(["umount", "-l", str(mount)], capture_output=True)


def test_a_full_disk_answers_503_keeps_every_acknowledged_record_and_recovers(segd, small_fs):
    server = segd(["--min-free-bytes", "32KiB"], data_dir=small_fs / "data")
    ballast = small_fs / "ballast"
    acknowledged = []
    statuses = []
    # Fill the file system while posting; every answer is 200 or 503, never anything else.
    with open(ballast, "wb", buffering=0) as f:
        for i in range(400):
            try:
                f.write(b"\0" * 16384)
            except OSError:
                pass
            batch = LINES[(i * 10) % 1000:(i * 10) % 1000 + 10]
            r = server.post(batch)
            statuses.append(r.status_code)
            if r.status_code == 200:
                acknowledged.extend(batch)
            else:
                assert r.status_code == 503 and "Retry-After" in r.headers, r.text
                if statuses[-3:] == [503, 503, 503]:
                    break
    assert statuses.count(503) >= 3, statuses
    assert acknowledged, "some records went in before the disk filled"
    assert 'reason="disk_full"' in server.metrics() or 'reason="storage"' in server.metrics()

    # Free the space: segd accepts again by itself.
    os.unlink(ballast)
    deadline = time.time() + 15
    while True:
        r = server.post(LINES[:5])
        if r.status_code == 200:
            acknowledged.extend(LINES[:5])
            break
        assert r.status_code == 503 and time.time() < deadline, r.text
        time.sleep(0.3)

    assert server.stop() == 0
    records = server.records("acme")
    assert sorted(map(json.dumps, records)) == sorted(json.dumps(json.loads(line)) for line in acknowledged)


def test_a_stream_that_could_not_recover_on_a_full_disk_recovers_once_space_is_freed(segd, small_fs):
    server = segd(["--min-free-bytes", "0"], data_dir=small_fs / "data")
    assert server.post(LINES[:10]).status_code == 200
    server.kill()  # its records wait in the write-ahead log
    ballast = small_fs / "ballast"
    with open(ballast, "wb", buffering=0) as f:
        try:
            while True:
                f.write(b"\0" * 4096)
        except OSError:
            pass
    server.start()
    r = server.post(LINES[10:20])
    assert r.status_code == 503 and "Retry-After" in r.headers, r.text
    # Free the space: the stream's recovery runs again by itself, no restart.
    os.unlink(ballast)
    deadline = time.time() + 20
    while (r := server.post(LINES[10:20])).status_code != 200:
        assert r.status_code == 503 and time.time() < deadline, r.text
        time.sleep(0.5)
    assert server.stop() == 0
    records = server.records("acme")
    assert sorted(map(json.dumps, records)) == sorted(json.dumps(json.loads(line)) for line in LINES[:20])
