"""Memory bounded in bytes, node-wide: the tail, request bytes in flight; rate and quota charged
for what is really stored; counters from bytes really read."""
import gzip
import json
import threading
import time


import rawhttp
from conftest import slow_down, weblog_lines

LINES = weblog_lines()


def app_line(n):
    return json.dumps({"ts": "2026-11-01T00:00:00Z", "n": n}).encode() + b"\n"


def gauge(server, name, labels):
    for line in server.metrics().splitlines():
        if line.startswith(f"{name}{{") and all(f'{k}="{v}"' in line for k, v in labels.items()):
            return float(line.rsplit(" ", 1)[1])
    return None


def test_the_tail_keeps_record_lines_only_bounded_in_bytes(segd):
    server = segd(["--tail-bytes", "256KiB", "--max-body", "16MiB"])
    blank = gzip.compress(LINES[0] + b"\n" * (2 << 20))  # one record and 2 MB of blank lines, ~2 KB on the wire
    for _ in range(15):
        r = server.post(blank, headers={"Content-Encoding": "gzip"})
        assert r.status_code == 200 and r.json() == {"accepted": 1}, r.text
    held = gauge(server, "segd_tail_bytes", {"tenant": "acme", "stream": "weblog"})
    assert held is not None and held <= 256 * 1024, held
    assert len(LINES[0]) * 15 <= held, "the records themselves are kept"
    big = b"".join(LINES) * 3  # 3000 records, ~600 KB: more than the tail's bytes
    assert server.post(big).status_code == 200
    tail = server.tail(10000).content
    assert 0 < len(tail) <= 256 * 1024 and tail.endswith(LINES[-1].rstrip(b"\n") + b"\n")
    assert b"\n\n" not in tail


def test_request_bytes_in_flight_are_bounded_node_wide(segd):
    server = segd(["--max-inflight-bytes", "2MiB", "--max-body", "1MiB"])
    slow = []
    for _ in range(2):
        s = rawhttp.connect(server)
        s.sendall(rawhttp.post_head(length=1 << 20) + b"{")  # 1 MiB declared, held while it arrives
        slow.append(s)
    time.sleep(0.3)
    started = time.time()
    with rawhttp.connect(server) as s:
        s.sendall(rawhttp.post_head(length=1 << 20, headers=["Expect: 100-continue"]))
        response = rawhttp.read_response(s, timeout=5)
    assert time.time() - started < 1
    assert rawhttp.status(response) == 503 and b"Retry-After: 1" in response and b"--max-inflight-bytes" in response, response
    # Once the uploads go, their bytes are given back.
    for s in slow:
        s.close()
    time.sleep(0.5)
    assert server.post(LINES[:10]).status_code == 200
    metrics = server.metrics()
    assert "segd_inflight_request_bytes 0" in metrics, [l for l in metrics.splitlines() if "inflight" in l]


def test_a_tenant_without_tokens_is_refused_before_its_body_is_read(segd):
    server = segd(start=False)
    slow_down(server)
    server.start()
    assert server.post([app_line(i) for i in range(10)], stream="app", tenant="globex").status_code == 200
    with rawhttp.connect(server) as s:
        s.sendall(rawhttp.post_head(stream="app", token="globex-token", length=100000))  # and no body
        response = rawhttp.read_response(s, timeout=3)
    assert rawhttp.status(response) == 429, response


def test_tokens_are_charged_only_for_accepted_records(segd):
    server = segd()
    # globex: burst 1000. A refused request (400) costs nothing...
    bad = [app_line(i) for i in range(900)] + [b'{"ts": "2026-11-01T00:00:00Z", "n": "x"}\n']
    assert server.post(bad, stream="app", tenant="globex").status_code == 400
    # ... and blank lines are not records: 900 records among 600 blank lines pass the burst of 1000.
    body = b"".join(app_line(i) + (b"\n" if i < 600 else b"") for i in range(900))
    r = server.post(body, stream="app", tenant="globex")
    assert r.status_code == 200 and r.json() == {"accepted": 900}, r.text


def test_rejection_counters_count_bytes_read_not_declared(segd):
    server = segd()
    with rawhttp.connect(server) as s:
        s.sendall(rawhttp.post_head(length=None, headers=["Content-Length: 9223372036854775807"]))
        response = rawhttp.read_response(s, timeout=3)
    assert rawhttp.status(response) in (400, 413), response
    counters = [line for line in server.metrics().splitlines() if line.startswith("segd_bytes_rejected_total")]
    assert all(float(line.rsplit(" ", 1)[1]) >= 0 for line in counters), counters
    assert all(float(line.rsplit(" ", 1)[1]) < 1e6 for line in counters), counters


def test_a_disk_quota_is_passed_by_at_most_one_request(segd):
    server = segd(start=False)
    tenants = json.loads(server.tenants.read_text())
    tenants["tenants"]["tiny"]["disk_quota_bytes"] = 200_000
    server.tenants.write_text(json.dumps(tenants))
    server.start()
    body = b"".join(app_line(i) for i in range(1000))  # ~45 KB
    statuses = []

    def post():
        for _ in range(10):
            statuses.append(server.post(body, stream="app", tenant="tiny").status_code)

    threads = [threading.Thread(target=post) for _ in range(8)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    accepted = statuses.count(200)
    assert set(statuses) <= {200, 507}, statuses
    assert 0 < accepted * len(body) <= 200_000 + len(body), f"{accepted} requests of {len(body)} bytes under a quota of 200000"
    r = server.post(body, stream="app", tenant="tiny")
    assert r.status_code == 507 and "quota" in r.json()["error"]
    assert server.post(LINES[:10]).status_code == 200, "other tenants are unaffected"
