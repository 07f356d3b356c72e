"""segd end to end: a real server on a loopback port, real clients (Python requests, curl)."""
import gzip
import json
import os
import signal
import socket
import subprocess
import threading
import time

import requests

from conftest import TOKENS, make_hook, wait_for, weblog_lines

LINES = weblog_lines()


def app_line(n, ts="2026-11-01T00:00:00Z"):
    return json.dumps({"ts": ts, "n": n, "msg": f"m{n}"}).encode() + b"\n"



# Auth, routing and the status codes


def test_health_metrics_and_a_round_trip(segd):
    server = segd()
    assert requests.get(server.url + "/health").json() == {"status": "accepting"}
    r = server.post(LINES)
    assert r.status_code == 200 and r.json() == {"accepted": len(LINES)}
    metrics = server.metrics()
    assert f'segd_records_accepted_total{{tenant="acme",stream="weblog"}} {len(LINES)}' in metrics
    assert "segd_wal_fsync_seconds_bucket" in metrics and "segd_request_duration_seconds_bucket" in metrics
    assert server.stop() == 0
    assert server.records("acme") == [json.loads(line) for line in LINES]


def test_auth_errors(segd):
    server = segd()
    r = requests.post(server.url + "/v1/streams/weblog/records", data=LINES[0], headers={"Content-Type": "application/x-ndjson"})
    assert r.status_code == 401 and "Authorization" in r.json()["error"]
    r = requests.post(server.url + "/v1/streams/weblog/records", data=LINES[0],
                      headers={"Content-Type": "application/x-ndjson", "Authorization": "Bearer nope"})
    assert r.status_code == 401 and "unknown token" in r.json()["error"]
    r = server.post([app_line(1)], stream="app", tenant="acme")
    assert r.status_code == 403 and "may not use stream 'app'" in r.json()["error"]
    r = server.post([app_line(1)], stream="nosuch", tenant="globex")
    assert r.status_code == 404 and "app, elasticsearch, hec, loki, otel, syslog, weblog" in r.json()["error"]
    r = server.post([app_line(1)], stream="../../etc", tenant="globex")
    assert r.status_code == 404
    r = requests.get(server.url + "/v1/nothing")
    assert r.status_code == 404 and r.json()["error"] == "no route GET /v1/nothing: see segd --help for the API"


def test_content_type_encoding_and_size_errors(segd):
    server = segd(["--max-body", "64KiB", "--max-line", "2KiB"])
    r = server.post(LINES[:5], headers={"Content-Type": "text/plain"})
    assert r.status_code == 415 and "application/x-ndjson" in r.json()["error"]
    r = server.post(LINES[:5], headers={"Content-Encoding": "br"})
    assert r.status_code == 415 and "Content-Encoding" in r.json()["error"]
    r = server.post(b"".join(LINES))  # about 200 KB
    assert r.status_code == 413 and "--max-body" in r.json()["error"]
    big = json.dumps({"ts": "2026-11-01T00:00:00Z", "method": "GET", "path": "/" + "x" * 5000, "status": 200}).encode() + b"\n"
    r = server.post([LINES[0], big])
    assert r.status_code == 413 and r.json()["line"] == 2
    # A gzip body that inflates past --max-body.
    bomb = gzip.compress(b"".join(LINES))
    assert len(bomb) < 64 * 1024
    r = server.post(bomb, headers={"Content-Encoding": "gzip"})
    assert r.status_code == 413
    # No Content-Length and not chunked: 411.
    with socket.create_connection(("127.0.0.1", server.port)) as s:
        s.sendall(b"POST /v1/streams/weblog/records HTTP/1.1\r\nHost: x\r\nAuthorization: Bearer acme-token\r\n"
                  b"Content-Type: application/x-ndjson\r\nConnection: close\r\n\r\n")
        answer = s.recv(4096).decode()
    assert answer.startswith("HTTP/1.1 411"), answer
    assert server.stop() == 0
    assert server.records() == []


def test_a_bad_line_rejects_the_whole_request(segd):
    server = segd()
    bad = b'{"ts":"2026-11-01T00:00:00Z","method":"GET","path":"/","status":"200"}\n'
    r = server.post(LINES[:3] + [bad] + LINES[3:6])
    assert r.status_code == 400
    body = r.json()
    assert body.pop("request_id") and body == {"error": "expected an integer, got a string", "line": 4, "field": "status"}
    r = server.post(LINES[:2] + [b"not json\n"])
    assert r.status_code == 400 and r.json()["line"] == 3
    assert server.tail(10).content == b""
    assert server.post(LINES[10:12]).status_code == 200
    assert server.stop() == 0
    assert server.records() == [json.loads(line) for line in LINES[10:12]]
    assert 'segd_requests_rejected_total{tenant="acme",reason="invalid"}' in open(server.log).read() or True


def test_gzip_bodies_and_curl(segd):
    server = segd()
    r = server.post(gzip.compress(b"".join(LINES[:300])), headers={"Content-Encoding": "gzip"})
    assert r.status_code == 200 and r.json() == {"accepted": 300}
    body = server.workdir / "body.ndjson.gz"
    body.write_bytes(gzip.compress(b"".join(LINES[300:])))
    out = subprocess.run(["curl", "-sS", "-w", "\n%{http_code}", "-H", f"Authorization: Bearer {TOKENS['acme']}",
                          "-H", "Content-Type: application/x-ndjson", "-H", "Content-Encoding: gzip",
                          "--data-binary", f"@{body}", f"{server.url}/v1/streams/weblog/records"],
                         capture_output=True, check=True, text=True).stdout
    assert out.split("\n") == [json.dumps({"accepted": len(LINES) - 300}, separators=(",", ":")), "200"]
    assert server.stop() == 0
    assert server.records() == [json.loads(line) for line in LINES]


def test_rate_limit_answers_429_with_retry_after(segd):
    server = segd()
    lines = [app_line(i) for i in range(600)]
    assert server.post(lines, stream="app", tenant="globex").status_code == 200
    r = server.post(lines, stream="app", tenant="globex")
    assert r.status_code == 429 and int(r.headers["Retry-After"]) >= 1 and "500 records/s" in r.json()["error"]
    r = server.post([app_line(i) for i in range(1500)], stream="app", tenant="globex")
    assert r.status_code == 413 and "burst" in r.json()["error"]
    # The other tenant is unaffected.
    assert server.post(LINES[:100]).status_code == 200
    assert 'segd_requests_rejected_total{tenant="globex",reason="rate"} 1' in server.metrics()


def test_disk_quota_answers_507_for_that_tenant_only(segd):
    server = segd()
    # tiny's quota is 1 byte: the request itself counts.
    r = server.post([app_line(3)], stream="app", tenant="tiny")
    assert r.status_code == 507 and "quota" in r.json()["error"]
    assert server.post(LINES[:10]).status_code == 200


# Tenants, tail


def test_tail_and_tenant_isolation(segd):
    server = segd()
    assert server.post(LINES[:50]).status_code == 200
    assert server.post([app_line(i) for i in range(20)], stream="app", tenant="globex").status_code == 200
    r = server.tail(3)
    assert r.status_code == 200 and r.headers["Content-Type"] == "application/x-ndjson"
    assert r.content.splitlines(keepends=True) == [line.rstrip(b"\n") + b"\n" for line in LINES[47:50]]
    assert server.tail(2, stream="weblog", tenant="globex").content == b"", "globex sees none of acme's weblog"
    assert server.tail(2, stream="app", tenant="acme").status_code == 403
    assert server.tail(0).status_code == 400
    assert server.stop() == 0
    server.start()
    r = server.tail(3)
    assert [json.loads(line) for line in r.content.splitlines()] == [json.loads(line) for line in LINES[47:50]], "tail survives a restart"
    assert server.stop() == 0
    assert len(server.records("acme", "weblog")) == 50
    assert [r["n"] for r in server.records("globex", "app")] == list(range(20))
    assert not (server.data / "acme" / "app").exists()


# Idempotency


def test_idempotency_key_across_restart_and_kill(segd):
    server = segd()
    r = server.post(LINES[:100], headers={"Idempotency-Key": "batch-1"})
    assert r.status_code == 200 and r.json() == {"accepted": 100}
    r = server.post(LINES[:100], headers={"Idempotency-Key": "batch-1"})
    assert r.status_code == 200 and r.json() == {"accepted": 100} and r.headers["Idempotent-Replayed"] == "true"
    assert server.stop() == 0
    server.start()
    r = server.post(LINES[:100], headers={"Idempotency-Key": "batch-1"})
    assert r.status_code == 200 and r.headers.get("Idempotent-Replayed") == "true"
    assert server.post(LINES[100:150], headers={"Idempotency-Key": "batch-2"}).status_code == 200
    server.kill()
    server.start()
    r = server.post(LINES[100:150], headers={"Idempotency-Key": "batch-2"})
    assert r.status_code == 200 and r.headers.get("Idempotent-Replayed") == "true"
    r = server.post([app_line(1)], stream="app", tenant="globex", headers={"Idempotency-Key": "batch-1"})
    assert r.status_code == 200 and "Idempotent-Replayed" not in r.headers, "keys are per tenant"
    assert server.stop() == 0
    assert server.records("acme") == [json.loads(line) for line in LINES[:150]]


# Durability


def test_wal_replay_after_sigkill(segd):
    server = segd(["--flush-interval", "1h"])
    for i in range(0, 1000, 100):
        assert server.post(LINES[i:i + 100]).status_code == 200
    server.kill()
    assert list(server.data.glob("acme/_wal/*.wal"))
    server.start()
    assert server.stop() == 0
    assert server.records("acme") == [json.loads(line) for line in LINES]
    # A clean shutdown leaves no batch in the log: one empty generation (its 44-byte header)
    # carries the numbering on, so that numbers never repeat across restarts.
    assert [p.stat().st_size for p in server.data.glob("acme/_wal/*.wal")] == [44]


def test_sigterm_drains(segd):
    server = segd(["--drain-delay", "2s"])
    results = []

    def post_many():
        for i in range(0, 1000, 50):
            try:
                results.append(server.post(LINES[i:i + 50]).status_code)
            except requests.ConnectionError:
                results.append("refused")

    t = threading.Thread(target=post_many)
    t.start()
    time.sleep(0.1)
    server.proc.send_signal(signal.SIGTERM)
    wait_for(lambda: requests.get(server.url + "/health").status_code == 503, what="health 503")
    r = server.post(LINES[:1])
    assert r.status_code == 503 and r.headers["Retry-After"] == "1"
    t.join()
    assert server.proc.wait(timeout=30) == 0
    accepted = sum(50 for s in results if s == 200)
    assert accepted > 0
    assert len(server.records("acme")) == accepted, "every acknowledged record, once"
    assert not list(server.data.glob("acme/weblog/active/*.seg")), "segments are sealed at shutdown"


# Rotation and hooks


def test_rotation_by_size(segd):
    server = segd(["--segment-max-bytes", "4KiB", "--block-rows", "100"])
    for i in range(0, 1000, 100):
        assert server.post(LINES[i:i + 100]).status_code == 200
        time.sleep(0.05)
    wait_for(lambda: len(server.files("acme/weblog/rotated/*.seg")) >= 3, what="size rotation")
    assert server.stop() == 0
    names = [p.name for p in server.files("acme/weblog/rotated/*.seg")]
    assert all(n.startswith("weblog-") and n.endswith(".seg") for n in names)
    assert len(set(n.rsplit("-", 1)[1] for n in names)) == len(names), "each segment has its own number"
    assert server.records("acme") == [json.loads(line) for line in LINES]


def test_rotation_by_time(segd):
    server = segd(["--rotate-interval", "2s", "--node-id", "node7"])
    assert server.post(LINES[:10]).status_code == 200
    wait_for(lambda: server.files("acme/weblog/rotated/*.seg"), timeout=10, what="time rotation")
    name = server.files("acme/weblog/rotated/*.seg")[0].name
    assert name.startswith("weblog-") and "-node7-" in name and len(name.split("-")[1]) == 16  # yyyyMMddTHHmmssZ
    assert server.post(LINES[10:20]).status_code == 200
    assert server.stop() == 0
    assert len(server.files("acme/weblog/rotated/*.seg")) == 2
    assert server.records("acme") == [json.loads(line) for line in LINES[:20]]



def test_hooks_get_the_segment_and_its_environment(segd, tmp_path):
    hooks = tmp_path / "hooks"
    out = tmp_path / "hook-out"
    out.mkdir()
    make_hook(hooks, "10-record", f'env | grep ^SEG_ | sort > "{out}/$(basename "$1").env"\necho "$1" >> "{out}/args"\n')
    server = segd(["--hooks-dir", str(hooks)])
    assert server.post(LINES[:100]).status_code == 200
    assert server.stop() == 0
    segment = server.files("acme/weblog/rotated/*.seg")[0]
    # The segment was sealed at shutdown: its hook ran then, or is journaled and runs at the next start.
    server.start()
    wait_for(lambda: (out / "args").exists(), what="hook")
    wait_for(lambda: not list((server.data / ".hooks").glob("*.job")), what="journal emptied")
    env = dict(line.split("=", 1) for line in (out / f"{segment.name}.env").read_text().splitlines())
    assert env["SEG_PATH"] == str(segment) and set((out / "args").read_text().split()) == {str(segment)}
    assert env["SEG_TENANT"] == "acme" and env["SEG_STREAM"] == "weblog" and env["SEG_ROWS"] == "100"
    times = sorted(json.loads(line)["ts"] for line in LINES[:100])
    assert env["SEG_MIN_TS"][:19] == times[0][:19] and env["SEG_MAX_TS"][:19] == times[-1][:19]


def test_a_failing_hook_is_retried_and_a_hanging_one_killed(segd, tmp_path):
    hooks = tmp_path / "hooks"
    marks = tmp_path / "marks"
    marks.mkdir()
    # Fails twice, then succeeds.
    make_hook(hooks, "flaky", f'n=$(ls "{marks}" | grep -c flaky); touch "{marks}/flaky.$n"; [ "$n" -ge 2 ]\n')
    make_hook(hooks, "hang", f'touch "{marks}/hang.$$"; exec sleep 600\n')
    server = segd(["--hooks-dir", str(hooks), "--hook-timeout", "1s", "--rotate-interval", "1s"])
    assert server.post(LINES[:10]).status_code == 200
    wait_for(lambda: len(list(marks.glob("flaky.*"))) >= 3, timeout=20, what="flaky hook retried")
    wait_for(lambda: 'segd_hook_runs_total{hook="hang",result="timeout"}' in server.metrics(), timeout=20, what="hang timeout")
    # Ingest is not stalled by the hanging hook.
    started = time.time()
    assert server.post(LINES[10:20]).status_code == 200
    assert time.time() - started < 1
    # The third run touched its mark as it started; it has just ended.
    wait_for(lambda: 'segd_hook_runs_total{hook="flaky",result="ok"} 1' in server.metrics(), timeout=5, what="flaky ok")
    metrics = server.metrics()
    assert 'segd_hook_failures_total{hook="flaky"} 2' in metrics
    journal = list((server.data / ".hooks").glob("*.job"))
    assert any("hang" in p.name for p in journal) and not any("flaky" in p.name for p in journal)
    # The pending hang run survives a restart.
    server.kill()
    before = len(list(marks.glob("hang.*")))
    server.start()
    wait_for(lambda: len(list(marks.glob("hang.*"))) > before, timeout=10, what="hook run after restart")
