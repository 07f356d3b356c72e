"""Slow and idle clients: header, body and idle timeouts, the connection cap with /health still
answering, and the open-files limit raised at start."""
import json
import shutil
import subprocess
import time

import pytest
import requests

import rawhttp
from conftest import weblog_lines

LINES = weblog_lines()


def test_slowloris_headers_are_answered_408_and_closed(segd):
    server = segd(["--header-timeout", "1s"])
    sockets = []
    for _ in range(200):
        s = rawhttp.connect(server)
        s.sendall(b"POST /v1/streams/weblog/records HTTP/1.1\r\nHost: x\r\n")  # and never the rest
        sockets.append(s)
    time.sleep(1.5)
    for s in sockets[:5]:
        response = rawhttp.read_response(s, timeout=3)
        assert rawhttp.status(response) == 408 and b"--header-timeout" in response, response
    assert all(rawhttp.closed_within(s, 3) is not None for s in sockets), "every slow head is closed"
    for s in sockets:
        s.close()
    assert requests.get(server.url + "/health").status_code == 200


def test_a_connection_that_sends_nothing_is_closed_after_the_header_timeout(segd):
    server = segd(["--header-timeout", "1s", "--idle-timeout", "5s"])
    sockets = [rawhttp.connect(server) for _ in range(300)]
    # Young connections are open before their timeout. On a loaded machine this process can be
    # descheduled for most of a second, so a check that took too long proves nothing: try again.
    conclusive = False
    for _ in range(5):
        start = time.monotonic()
        young = [rawhttp.connect(server) for _ in range(5)]
        time.sleep(0.3)
        still_open = all(rawhttp.is_open(s) for s in young)
        sockets += young
        if time.monotonic() - start < 0.8:
            assert still_open, "open before the timeout"
            conclusive = True
            break
    assert conclusive, "the machine was too slow to check the young connections"
    time.sleep(1.7)
    assert all(rawhttp.closed_within(s, 0.5) is not None for s in sockets), "every one closed after it"


def test_an_idle_keep_alive_connection_closes_after_the_idle_timeout(segd):
    server = segd(["--idle-timeout", "1s"])
    with rawhttp.connect(server) as s:
        s.sendall(b"GET /health HTTP/1.1\r\nHost: x\r\n\r\n")
        assert rawhttp.status(rawhttp.read_response(s)) == 200
        closed = rawhttp.closed_within(s, 5)
        assert closed is not None and 0.8 < closed < 2.5, closed
    # Within the idle timeout, the connection serves the next request.
    with rawhttp.connect(server) as s:
        for _ in range(3):
            s.sendall(b"GET /health HTTP/1.1\r\nHost: x\r\n\r\n")
            assert rawhttp.status(rawhttp.read_response(s)) == 200
            time.sleep(0.5)


def test_a_stalled_upload_is_answered_408_and_frees_its_tenants_slot(segd):
    server = segd(["--body-timeout", "1s"])
    # globex may have 64 requests at once; stall them all.
    stalled = []
    for _ in range(64):
        s = rawhttp.connect(server)
        s.sendall(rawhttp.post_head(stream="app", token="globex-token", length=1000) + b'{"ts":')
        stalled.append(s)
    time.sleep(0.3)
    app = json.dumps({"ts": "2026-11-01T00:00:00Z", "n": 1}).encode() + b"\n"
    assert server.post([app], stream="app", tenant="globex").status_code == 429, "the tenant is at its bound"
    for s in stalled[:3]:
        response = rawhttp.read_response(s, timeout=4)
        assert rawhttp.status(response) == 408 and b"--body-timeout" in response, response
    assert all(rawhttp.closed_within(s, 3) is not None for s in stalled)
    r = server.post([app], stream="app", tenant="globex")
    assert r.status_code == 200, r.text
    assert server.stop() == 0
    assert [r["n"] for r in server.records("globex", "app")] == [1], "nothing of the stalled bodies was stored"


def test_a_slow_upload_that_keeps_coming_is_not_cut(segd):
    server = segd(["--body-timeout", "1s"])
    body = b"".join(LINES[:20])
    with rawhttp.connect(server) as s:
        s.sendall(rawhttp.post_head(length=len(body)))
        for i in range(0, len(body), len(body) // 5):
            s.sendall(body[i:i + len(body) // 5])
            time.sleep(0.6)
        response = rawhttp.read_response(s)
    assert rawhttp.status(response) == 200, response


def test_curl_at_a_limited_rate_is_not_cut_by_the_body_timeout(segd, tmp_path):
    if not shutil.which("curl"):
        pytest.skip("curl is not installed")
    # curl's limiter sends in bursts a few seconds apart at most; the upload takes longer than
    # the body timeout in all, and is not cut, because bytes keep coming.
    server = segd(["--body-timeout", "5s"])
    body = tmp_path / "body.ndjson"
    body.write_bytes(b"".join(LINES[:150]))  # ~30 KB at 4 KB/s: about 7 s
    out = subprocess.run(["curl", "-sS", "--limit-rate", "4K", "-H", "Expect:", "-w", "\n%{http_code} %{time_total}",
                          "-H", "Authorization: Bearer acme-token", "-H", "Content-Type: application/x-ndjson",
                          "--data-binary", f"@{body}", f"{server.url}/v1/streams/weblog/records"],
                         capture_output=True, text=True, check=True)
    answer, status = out.stdout.rsplit("\n", 1)
    code, seconds = status.split()
    assert code == "200" and json.loads(answer) == {"accepted": 150} and float(seconds) > 5, out.stdout


def test_health_answers_when_the_connection_cap_is_reached(segd):
    server = segd(["--max-connections", "50", "--header-timeout", "30s"])
    idle = [rawhttp.connect(server) for _ in range(60)]
    time.sleep(0.3)
    for _ in range(5):
        r = requests.get(server.url + "/health", timeout=5)
        assert r.status_code == 200
    # Past the cap, a connection may only ask /health.
    r = requests.post(f"{server.url}/v1/streams/weblog/records", data=LINES[0], timeout=5,
                      headers={"Authorization": "Bearer acme-token", "Content-Type": "application/x-ndjson"})
    assert r.status_code == 503 and "--max-connections" in r.json()["error"], r.text
    for s in idle:
        s.close()
    time.sleep(0.3)
    assert "segd_connections_over_limit_total" in requests.get(server.url + "/metrics").text
    assert server.post(LINES[:1]).status_code == 200


def test_the_open_files_limit_is_raised_and_health_answers_past_1024_sockets(segd):
    if not shutil.which("prlimit"):
        pytest.skip("prlimit (util-linux) is not installed")
    server = segd(start=False)
    hard = int(subprocess.run(["sh", "-c", "ulimit -Hn"], capture_output=True, text=True).stdout)
    if hard < 4096:
        pytest.skip(f"the hard open-files limit is {hard}")
    server.start(wrapper=["prlimit", "--nofile=1024:4096", "--"])
    limits = open(f"/proc/{server.proc.pid}/limits").read()
    soft = [line for line in limits.splitlines() if line.startswith("Max open files")][0].split()[3]
    assert soft == "4096", limits
    idle = [rawhttp.connect(server) for _ in range(1100)]
    try:
        assert requests.get(server.url + "/health", timeout=5).status_code == 200
    finally:
        for s in idle:
            s.close()
