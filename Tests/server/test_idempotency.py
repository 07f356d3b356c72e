"""Idempotency keys: bound to stream and body, expiring while segd runs, a key file that is
compacted, never needs free space at start, and is never mistaken for empty."""
import json
import os
import subprocess
import time

import pytest

from conftest import weblog_lines

LINES = weblog_lines()


def key_file(server, tenant="acme"):
    """The tenant's key file (older builds named it idempotency-keys)."""
    new, old = server.data / tenant / "_idempotency", server.data / tenant / "idempotency-keys"
    return old if old.exists() and not new.exists() else new


def keys_held(server, tenant="acme"):
    for line in server.metrics().splitlines():
        if line.startswith(f'segd_idempotency_keys{{tenant="{tenant}"}}'):
            return float(line.rsplit(" ", 1)[1])
    return None


def test_the_same_key_with_a_different_body_is_422_and_stores_nothing(segd):
    server = segd()
    assert server.post(LINES[:10], headers={"Idempotency-Key": "k1"}).status_code == 200
    r = server.post(LINES[10:20], headers={"Idempotency-Key": "k1"})
    assert r.status_code == 422 and "different body" in r.json()["error"], r.text
    r = server.post(LINES[:10], headers={"Idempotency-Key": "k1"})
    assert r.status_code == 200 and r.headers["Idempotent-Replayed"] == "true"
    server.kill()
    server.start()
    assert server.post(LINES[10:20], headers={"Idempotency-Key": "k1"}).status_code == 422, "the fingerprint survives replay"
    assert server.stop() == 0
    server.start()
    assert server.post(LINES[10:20], headers={"Idempotency-Key": "k1"}).status_code == 422, "and the key file"
    assert server.stop() == 0
    assert server.records("acme") == [json.loads(line) for line in LINES[:10]]


def test_keys_expire_while_running_and_an_expired_key_is_replaced(segd):
    server = segd(["--idempotency-ttl", "2s"])
    assert server.post(LINES[:5], headers={"Idempotency-Key": "k1"}).status_code == 200
    assert server.post(LINES[:5], headers={"Idempotency-Key": "k1"}).headers.get("Idempotent-Replayed") == "true"
    time.sleep(2.5)
    r = server.post(LINES[5:10], headers={"Idempotency-Key": "k1"})
    assert r.status_code == 200 and "Idempotent-Replayed" not in r.headers, "an expired key is used anew"
    assert server.post(LINES[5:10], headers={"Idempotency-Key": "k1"}).headers.get("Idempotent-Replayed") == "true"
    assert server.stop() == 0
    assert len(server.records("acme")) == 10


def test_expired_keys_leave_memory_and_the_key_file_is_compacted(segd):
    server = segd(["--idempotency-ttl", "1s"])
    for i in range(300):
        assert server.post(LINES[i % 1000:i % 1000 + 1], headers={"Idempotency-Key": f"key-{i}"}).status_code == 200
    path = key_file(server)
    deadline = time.time() + 60
    while time.time() < deadline and not (keys_held(server) == 0 and path.exists() and path.stat().st_size == 0):
        time.sleep(0.5)
    assert keys_held(server) == 0, "every expired key left memory"
    assert path.stat().st_size == 0, "the key file was compacted while running"


def test_an_unreadable_key_line_does_not_empty_the_key_file(segd):
    server = segd()
    assert server.post(LINES[:10], headers={"Idempotency-Key": "batch-1"}).status_code == 200
    assert server.stop() == 0
    with open(key_file(server), "ab") as f:
        f.write(b"1\t1\tweblog\t-\tbad-\xff-key\n")  # not UTF-8
    server.start()
    r = server.post(LINES[:10], headers={"Idempotency-Key": "batch-1"})
    assert r.status_code == 200 and r.headers.get("Idempotent-Replayed") == "true", "the other keys are kept"


def test_a_key_file_that_cannot_be_read_stops_the_start(segd):
    server = segd(start=False)
    (server.data / "acme" / "_idempotency").mkdir(parents=True)
    (server.data / "acme" / "weblog" / "wal").mkdir(parents=True)
    with pytest.raises(AssertionError, match="exited 2"):
        server.start()
    assert "_idempotency" in server.log.read_text()


def test_a_torn_last_key_line_is_ignored(segd):
    server = segd()
    assert server.post(LINES[:10], headers={"Idempotency-Key": "batch-1"}).status_code == 200
    assert server.stop() == 0
    now = time.time_ns()
    with open(key_file(server), "ab") as f:
        f.write(f"{now}\t5\tweblog\tbatch-9".encode())  # a crash mid-line: no newline
    server.start()
    r = server.post(LINES[10:15], headers={"Idempotency-Key": "batch-9"})
    assert r.status_code == 200 and "Idempotent-Replayed" not in r.headers, "a torn line is no key"
    assert server.post(LINES[15:20], headers={"Idempotency-Key": "batch-10"}).status_code == 200
    assert server.stop() == 0
    server.start()
    for key in ["batch-1", "batch-9", "batch-10"]:
        body = {"batch-1": LINES[:10], "batch-9": LINES[10:15], "batch-10": LINES[15:20]}[key]
        assert server.post(body, headers={"Idempotency-Key": key}).headers.get("Idempotent-Replayed") == "true", key
    assert server.stop() == 0
    assert len(server.records("acme")) == 20


def test_segd_starts_on_a_full_disk(segd, tmp_path):
    mount = tmp_path / "fs"
    mount.mkdir()
    if subprocess.run(["mount", "-t", "tmpfs", "-o", "size=2m", "tmpfs", str(mount)], capture_output=True).returncode != 0:
        pytest.skip("mounting a tmpfs needs root (CAP_SYS_ADMIN)")
    try:
        server = segd(["--min-free-bytes", "0"], data_dir=mount / "data")
        for i in range(20):
            assert server.post(LINES[i * 10:i * 10 + 10], headers={"Idempotency-Key": f"k{i}"}).status_code == 200
        assert server.stop() == 0
        ballast = os.open(mount / "ballast", os.O_WRONLY | os.O_CREAT)
        try:
            while True:
                os.write(ballast, b"\0" * 4096)
        except OSError:
            pass
        finally:
            os.close(ballast)
        server.start()
        r = server.post(LINES[:10], headers={"Idempotency-Key": "k0"})
        assert r.status_code == 200 and r.headers.get("Idempotent-Replayed") == "true"
        assert server.stop() == 0
    finally:
        subprocess.run(["umount", "-l", str(mount)], capture_output=True)
