"""Hostile and careless requests: no header, query or path crashes the node; bodies are decoded
strictly; Expect: 100-continue is answered from the headers; errors carry a request id, never a path."""
import gzip
import json
import shutil
import subprocess
import time

import pytest
import requests

import rawhttp
from conftest import TOKENS, slow_down, weblog_lines

LINES = weblog_lines()


def alive(server):
    assert server.proc.poll() is None, "segd died"
    assert requests.get(server.url + "/health", timeout=5).status_code == 200


# No request can crash the node


@pytest.mark.parametrize("value", [";", "", " ", ";;", ";charset=utf-8", "/", "application/", "\u00e9/\u00e9"])
def test_a_content_type_without_a_media_type_is_415_and_the_node_lives(segd, value):
    server = segd()
    with rawhttp.connect(server) as s:
        s.sendall(rawhttp.post_head(length=len(LINES[0]), headers=[f"Content-Type: {value}"]).replace(
            b"Content-Type: application/x-ndjson\r\n", b"", 1) + LINES[0])
        response = rawhttp.read_response(s)
    assert rawhttp.status(response) == 415, response
    alive(server)


# Each header value, and the answers it may get: never a crash, never a 5xx.
HOSTILE_HEADERS = {
    "Content-Encoding: ": {200}, "Content-Encoding: ,": {200}, "Content-Encoding: gzip,,gzip": {415},
    "Content-Encoding: \u00ff": {415},
    "Authorization: Bearer": {401}, "Authorization: Bearer ": {401}, "Authorization: bearer  \u00e9": {401}, "Authorization: ": {401},
    "Idempotency-Key: ": {400}, "Idempotency-Key: a b": {400}, "Idempotency-Key: " + "k" * 300: {400}, "Idempotency-Key: \u00ff": {400},
    "Expect: ": {417}, "Expect: 100-continue, foo": {417}, "Expect: \u00e9": {417},
}


def test_hostile_header_values_are_answered_never_crash(segd):
    server = segd()
    for header, expected in HOSTILE_HEADERS.items():
        name = header.split(":", 1)[0]
        head = rawhttp.post_head(length=len(LINES[0]))
        if name == "Authorization":
            head = head.replace(b"Authorization: Bearer acme-token\r\n", b"")
        head = head.replace(b"\r\n\r\n", b"\r\n" + header.encode("latin-1", "replace") + b"\r\n\r\n")
        with rawhttp.connect(server) as s:
            s.sendall(head + LINES[0])
            response = rawhttp.read_response(s)
        assert rawhttp.status(response) in expected, (header, response)
        assert response.split(b"\r\n\r\n", 1)[1].startswith(b"{"), (header, response)
        alive(server)


@pytest.mark.parametrize("target", [
    "/v1/streams/weblog/tail?n=%", "/v1/streams/weblog/tail?n=%zz", "/v1/streams/weblog/tail?n=99999999999999999999",
    "/v1/streams/weblog/tail?n=-1", "/v1/streams/weblog/tail?n=1e3", "/v1/streams/weblog/tail?" + "a=1&" * 200,
    "/v1/streams/weblog/tail?n=%ff", "/v1/streams/%2e%2e/tail", "/v1/streams/%ff/tail", "/v1/streams/_idempotency/tail",
    "/v1/streams/..%2f..%2fetc/tail", "/v1/streams/" + "a" * 5000 + "/tail",
])
def test_query_parameters_and_path_segments_are_answered_never_crash(segd, target):
    server = segd()
    with rawhttp.connect(server) as s:
        s.sendall(f"GET {target} HTTP/1.1\r\nHost: x\r\nAuthorization: Bearer acme-token\r\n\r\n".encode())
        response = rawhttp.read_response(s)
    code = rawhttp.status(response)
    assert code in (400, 403, 404), response
    alive(server)


def test_head_health_answers_like_get(segd):
    server = segd()
    r = requests.head(server.url + "/health")
    assert r.status_code == 200 and r.headers["Content-Type"] == "application/json"


# Bodies are decoded strictly


def test_every_gzip_member_is_decoded(segd):
    server = segd()
    body = gzip.compress(b"".join(LINES[:500])) + gzip.compress(b"".join(LINES[500:1000]))
    r = server.post(body, headers={"Content-Encoding": "gzip"})
    assert r.status_code == 200 and r.json() == {"accepted": 1000}, r.text
    assert server.stop() == 0
    assert server.records("acme") == [json.loads(line) for line in LINES[:1000]]


@pytest.mark.parametrize("damage", ["cut before the trailer", "cut in the data", "trailing garbage", "bad crc", "bad length",
                                    "second member cut"])
def test_damaged_gzip_is_400_and_stores_nothing(segd, damage):
    server = segd()
    whole = gzip.compress(b"".join(LINES[:500]))
    body = {
        "cut before the trailer": whole[:-8],
        "cut in the data": whole[:len(whole) // 2],
        "trailing garbage": whole + b"garbage!",
        "bad crc": whole[:-8] + bytes([whole[-8] ^ 1]) + whole[-7:],
        "bad length": whole[:-4] + bytes([whole[-4] ^ 1]) + whole[-3:],
        "second member cut": whole + gzip.compress(b"".join(LINES[500:600]))[:-3],
    }[damage]
    r = server.post(body, headers={"Content-Encoding": "gzip"})
    assert r.status_code == 400 and "gzip" in r.json()["error"], r.text
    assert server.tail(10).content == b""
    assert server.stop() == 0
    assert server.records() == []


def test_a_malformed_chunk_size_is_400(segd):
    server = segd()
    with rawhttp.connect(server) as s:
        s.sendall(rawhttp.post_head(headers=["Transfer-Encoding: chunked"]) + b"zz\r\n" + LINES[0] + b"\r\n0\r\n\r\n")
        response = rawhttp.read_response(s)
    assert rawhttp.status(response) == 400, response
    assert b"request_id" in response
    alive(server)
    assert server.stop() == 0
    assert server.records() == []


@pytest.mark.parametrize("coding", ["gzip", "gzip, chunked", "identity", "chunked, gzip"])
def test_a_transfer_encoding_other_than_chunked_is_501(segd, coding):
    server = segd()
    with rawhttp.connect(server) as s:
        s.sendall(rawhttp.post_head(headers=[f"Transfer-Encoding: {coding}"]) + b"5\r\nhello\r\n0\r\n\r\n")
        response = rawhttp.read_response(s)
    assert rawhttp.status(response) == 501, response
    alive(server)


# Expect: 100-continue


@pytest.mark.parametrize("case,expected", [
    ("no token", 401), ("other tenant's stream", 403), ("no such stream", 404), ("no length", 411),
    ("too large", 413), ("not ndjson", 415), ("rate", 429),
])
def test_expect_100_continue_is_refused_from_the_headers_alone(segd, case, expected):
    server = segd(["--max-body", "64KiB"], start=False)
    if case == "rate":
        slow_down(server)  # globex: 1 record a minute, burst 10, spent below
    server.start()
    if case == "rate":
        assert server.post([json.dumps({"ts": "2026-11-01T00:00:00Z", "n": i}).encode() + b"\n" for i in range(10)],
                           stream="app", tenant="globex").status_code == 200
    stream, token, length, headers = "weblog", "acme-token", 1000, ["Expect: 100-continue"]
    if case == "no token":
        token = "nope"
    elif case == "other tenant's stream":
        stream = "app"
    elif case == "no such stream":
        stream, token = "nosuch", "globex-token"
    elif case == "no length":
        length = None
    elif case == "too large":
        length = 1 << 20
    elif case == "not ndjson":
        headers.append("Content-Type: text/plain")
    elif case == "rate":
        stream, token = "app", "globex-token"
    head = rawhttp.post_head(stream=stream, token=token, headers=headers, length=length)
    if case == "not ndjson":
        head = head.replace(b"Content-Type: application/x-ndjson\r\n", b"", 1)
    with rawhttp.connect(server) as s:
        started = time.time()
        s.sendall(head)  # and no body: the answer must come without it
        response = rawhttp.read_response(s, timeout=5)
        assert time.time() - started < 1, "answered at once"
        assert rawhttp.status(response) == expected, response
        if length is not None:
            assert b"connection: close" in response.lower()
            assert rawhttp.closed_within(s, 3) is not None, "the connection closes: the body was never sent"


def test_expect_100_continue_then_the_body(segd):
    server = segd()
    body = b"".join(LINES[:10])
    with rawhttp.connect(server) as s:
        s.sendall(rawhttp.post_head(length=len(body), headers=["Expect: 100-continue"]))
        interim = s.recv(4096)
        assert interim.startswith(b"HTTP/1.1 100 Continue\r\n"), interim
        s.sendall(body)
        response = rawhttp.read_response(s)
    assert rawhttp.status(response) == 200 and response.endswith(b'{"accepted":10}')


def test_curl_large_uploads_do_not_wait_for_100_continue(segd, tmp_path):
    if not shutil.which("curl"):
        pytest.skip("curl is not installed")
    server = segd()
    body = tmp_path / "body.ndjson"
    body.write_bytes(b"".join(LINES) * 3)  # ~600 KB; curl sends Expect: 100-continue past 1 MiB (older: 1 KiB)
    body.write_bytes(body.read_bytes() * 2)
    out = subprocess.run(["curl", "-sS", "-v", "-o", "/dev/null", "-w", "%{http_code} %{time_total}",
                          "-H", f"Authorization: Bearer {TOKENS['acme']}", "-H", "Content-Type: application/x-ndjson",
                          "--data-binary", f"@{body}", f"{server.url}/v1/streams/weblog/records"],
                         capture_output=True, text=True, check=True)
    assert "Expect: 100-continue" in out.stderr, "curl asked for 100-continue"
    code, seconds = out.stdout.split()
    assert code == "200" and float(seconds) < 0.9, out.stdout  # curl waits 1 s when no 100 comes


# What clients see


def test_error_bodies_carry_a_request_id_and_never_a_path(segd):
    server = segd(start=False)
    # A file where the stream's directory should be: opening the stream fails inside the server.
    (server.data / "acme").mkdir(parents=True)
    (server.data / "acme" / "weblog").write_text("not a directory")
    server.start()
    r = server.post(LINES[:1])
    assert r.status_code == 503, r.text
    body = r.json()
    assert set(body) >= {"error", "request_id"} and r.headers["X-Request-Id"] == body["request_id"]
    assert str(server.data) not in r.text and "/" not in body["error"] and "Error Domain" not in r.text, r.text
    log = server.log.read_text()
    assert body["request_id"] in log and str(server.data) in log, "the details are in the log, under the request id"
    r = requests.get(server.url + "/v1/nothing")
    assert r.status_code == 404 and r.json()["error"] == "no route GET /v1/nothing: see segd --help for the API" and r.json()["request_id"]
