"""segd's storage at the format's limits and after damage (issue 10): a request larger than a
block, a damaged write-ahead log, an active segment shorter than its checkpoint."""
import hashlib
import json
import os
import subprocess
import time

import requests

from conftest import BUILD, TENANTS

BULK_TOKEN = "bulk-token"


def bulk_tenant(server):
    """Adds a tenant that may post 1.1 million records at once."""
    tenants = json.loads(json.dumps(TENANTS))
    tenants["tenants"]["bulk"] = {"tokens_sha256": [hashlib.sha256(BULK_TOKEN.encode()).hexdigest()], "streams": "*",
                                  "records_per_second": 10_000_000, "burst": 2_000_000}
    server.tenants.write_text(json.dumps(tenants))


def count(server, *parts):
    out = subprocess.run([str(BUILD / "segcat"), "--count", "--format", "csv", str(server.data.joinpath(*parts))],
                         capture_output=True, check=True, timeout=300).stdout.decode()
    return int(out.split()[-1])


def test_a_request_of_1_1_million_records_comes_back_whole(segd):
    """The request was answered 200 and lost whole: one block of 1.1 million rows, which readers
    refuse (the format allows 1,048,576). It must be split across blocks and come back whole."""
    server = segd(["--max-body", "64MiB", "--block-rows", "16384", "--shutdown-timeout", "10m"], start=False)
    bulk_tenant(server)
    server.start()
    body = b"".join(b'{"ts":"2024-05-01T00:00:00Z","n":%d}\n' % i for i in range(1_100_000))
    assert len(body) < 64 << 20
    r = requests.post(f"{server.url}/v1/streams/app/records", data=body, timeout=600,
                      headers={"Authorization": f"Bearer {BULK_TOKEN}", "Content-Type": "application/x-ndjson"})
    assert r.status_code == 200 and r.json() == {"accepted": 1_100_000}, r.text
    assert server.stop(timeout=600) == 0
    verify = subprocess.run([str(BUILD / "segcat"), "verify", str(server.data / "bulk")], capture_output=True, timeout=300)
    assert verify.returncode == 0, verify.stdout.decode() + verify.stderr.decode()
    assert count(server, "bulk") == 1_100_000


def app_lines(numbers):
    return [b'{"ts":"2024-05-01T00:00:00Z","n":%d}\n' % n for n in numbers]


def test_damage_in_the_middle_of_the_log_refuses_the_stream_loudly(segd):
    """Every frame after the first bad one was dropped silently; now the stream answers 503 and
    the log names the file and offset, and the files are left as they are."""
    server = segd(["--flush-interval", "1h"])
    for i in range(3):
        assert server.post(app_lines(range(i * 10, i * 10 + 10)), stream="app", tenant="globex").status_code == 200
    server.kill()
    [wal] = [p for p in server.files("globex/_wal/*.wal") if p.stat().st_size > 100]
    data = bytearray(wal.read_bytes())
    data[len(data) // 2] ^= 0xFF  # inside the second of three frames
    wal.write_bytes(bytes(data))
    server.start()
    r = server.post(app_lines([99]), stream="app", tenant="globex")
    assert r.status_code == 503 and "cannot be written" in r.json()["error"] and "/" not in r.json()["error"], r.text
    assert "offset" in server.log.read_text() and wal.name in server.log.read_text()
    assert wal.read_bytes() == bytes(data), "nothing is cut"
    weblog = [b'{"ts":"2024-05-01T00:00:00Z","method":"GET","path":"/","status":200}\n']
    assert server.post(weblog).status_code == 200, "other streams keep running"


def test_an_active_segment_shorter_than_its_checkpoint_is_quarantined_not_cut(segd):
    server = segd(["--block-rows", "10", "--flush-interval", "100ms"])
    assert server.post(app_lines(range(10)), stream="app", tenant="globex").status_code == 200
    assert server.post(app_lines(range(10, 20)), stream="app", tenant="globex").status_code == 200
    deadline = time.time() + 30
    while time.time() < deadline and not server.files("globex/app/active/*.seg"):
        time.sleep(0.05)
    time.sleep(1)
    server.kill()
    [active] = server.files("globex/app/active/*.seg")
    size = active.stat().st_size
    os.truncate(active, size - 3)
    server.start()
    quarantined = server.data / "globex/app/quarantine" / active.name
    assert quarantined.exists() and quarantined.stat().st_size == size - 3
    assert "quarantined" in server.log.read_text()


def test_shutdown_timeout_bounds_the_storage_phase_and_loses_nothing(segd):
    """--shutdown-timeout bounds the storage phase too: what is not in a segment by then stays in
    the write-ahead log, and the next start replays it."""
    server = segd(["--max-body", "64MiB", "--block-rows", "16384", "--shutdown-timeout", "1s", "--flush-interval", "1h"], start=False)
    bulk_tenant(server)
    server.start()
    body = b"".join(b'{"ts":"2024-05-01T00:00:00Z","n":%d}\n' % i for i in range(600_000))
    r = requests.post(f"{server.url}/v1/streams/app/records", data=body, timeout=600,
                      headers={"Authorization": f"Bearer {BULK_TOKEN}", "Content-Type": "application/x-ndjson"})
    assert r.status_code == 200, r.text
    started = time.monotonic()
    assert server.stop(timeout=120) == 0
    assert time.monotonic() - started < 8, "the storage phase outlived --shutdown-timeout"
    server.start(["--shutdown-timeout", "10m"], wait=600)  # the replay runs before serving
    assert server.stop(timeout=600) == 0
    assert count(server, "bulk") == 600_000
