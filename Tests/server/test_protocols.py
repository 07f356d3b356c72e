"""The records route's dialects and the protocol endpoints, against a real segd: what each answers
in its own shape, and what it stores. The real clients of each protocol are in Tests/shippers."""
import base64
import gzip
import json
import socket
import ssl
import subprocess
import time

import cramjam
import pytest
import requests

from conftest import TOKENS, Segd

GLOBEX = {"Authorization": f"Bearer {TOKENS['globex']}"}


def app_record(n, ts="2026-11-01T00:00:00Z", **extra):
    return {"ts": ts, "n": n, "msg": f"m{n}", **extra}


def post_app(server, body, content_type="application/json", headers=None, query=""):
    h = {**GLOBEX, "Content-Type": content_type, **(headers or {})}
    return requests.post(f"{server.url}/v1/streams/app/records{query}", data=body, headers=h, timeout=30)


# The records route's dialects


def test_json_bodies_are_objects_arrays_or_ndjson(segd):
    server = segd()
    assert post_app(server, json.dumps(app_record(1))).json() == {"accepted": 1}
    assert post_app(server, json.dumps([app_record(2), app_record(3)])).json() == {"accepted": 2}
    assert post_app(server, json.dumps(app_record(4), indent=2) + "\n" + json.dumps(app_record(5), indent=2)).json() == {"accepted": 2}
    assert post_app(server, json.dumps(app_record(6)) + "\n" + json.dumps(app_record(7)) + "\n",
                    content_type="application/json; charset=utf-8").json() == {"accepted": 2}
    r = post_app(server, json.dumps([app_record(8), {"ts": "2026-11-01T00:00:00Z"}]))
    assert r.status_code == 400 and r.json()["line"] == 2 and r.json()["field"] == "n"
    r = post_app(server, '[{"ts": "2026-11-01T00:00:00Z", "n": 9}, ')
    assert r.status_code == 400 and "JSON body" in r.json()["error"]
    assert server.stop() == 0
    assert sorted(r["n"] for r in server.records("globex", "app")) == [1, 2, 3, 4, 5, 6, 7]


@pytest.mark.parametrize("scheme", ["basic", "apikey", "splunk"])
def test_every_clients_authorization_scheme(segd, scheme):
    server = segd()
    token = TOKENS["globex"]
    value = {"basic": "Basic " + base64.b64encode(f"any-user:{token}".encode()).decode(),
             "apikey": "ApiKey " + base64.b64encode(f"key-id:{token}".encode()).decode(),
             "splunk": f"Splunk {token}"}[scheme]
    r = requests.post(f"{server.url}/v1/streams/app/records", data=json.dumps(app_record(1)),
                      headers={"Authorization": value, "Content-Type": "application/x-ndjson"})
    assert r.json() == {"accepted": 1}
    wrong = value.replace(token, "nope") if scheme == "splunk" else value[:-4] + "AAAA"
    r = requests.post(f"{server.url}/v1/streams/app/records", data=json.dumps(app_record(2)),
                      headers={"Authorization": wrong, "Content-Type": "application/x-ndjson"})
    assert r.status_code == 401


@pytest.mark.parametrize("encoding,encode", [
    ("deflate", lambda b: bytes(cramjam.zlib.compress(b))),
    ("deflate", lambda b: bytes(cramjam.deflate.compress(b))),
    ("zstd", lambda b: bytes(cramjam.zstd.compress(b))),
    ("snappy", lambda b: bytes(cramjam.snappy.compress(b))),
    ("gzip", gzip.compress),
])
def test_content_encodings_are_decoded_strictly(segd, encoding, encode):
    server = segd(["--max-body", "64KiB"])
    body = "".join(json.dumps(app_record(n)) + "\n" for n in range(200)).encode()
    assert post_app(server, encode(body), headers={"Content-Encoding": encoding}).json() == {"accepted": 200}
    encoded = encode(body)
    r = post_app(server, encoded[: len(encoded) - 7], headers={"Content-Encoding": encoding})
    assert r.status_code == 400 and "nothing was stored" in r.json()["error"]
    r = post_app(server, encoded + b"garbage", headers={"Content-Encoding": encoding})
    assert r.status_code == 400
    bomb = encode(b"\n" * (256 * 1024))
    assert len(bomb) < 64 * 1024
    assert post_app(server, bomb, headers={"Content-Encoding": encoding}).status_code == 413
    assert server.stop() == 0
    assert len(server.records("globex", "app")) == 200


def test_snappy_chunk_with_a_wrong_checksum_is_refused(segd):
    server = segd()
    framed = bytearray(cramjam.snappy.compress(json.dumps(app_record(1)).encode() + b"\n"))
    framed[14] ^= 0xFF  # the first chunk's CRC-32C (after the 10-byte stream identifier and 4-byte header)
    r = post_app(server, bytes(framed), headers={"Content-Encoding": "snappy"})
    assert r.status_code == 400 and "CRC-32C" in r.json()["error"]


def test_invalid_skip_stores_the_valid_records_and_lists_the_others(segd):
    server = segd()
    lines = [json.dumps(app_record(n)) for n in range(150)]
    for k in range(0, 150, 3):
        lines[k] = json.dumps({"ts": "nope", "n": k})
    body = "\n".join(lines) + "\n"
    r = post_app(server, body, content_type="application/x-ndjson")
    assert r.status_code == 400 and r.json()["line"] == 1
    r = post_app(server, body, content_type="application/x-ndjson", query="?invalid=skip")
    answer = r.json()
    assert r.status_code == 200 and answer["accepted"] == 100 and answer["rejected_count"] == 50
    assert len(answer["rejected"]) == 50 and answer["rejected"][0] == {"line": 1, "field": "ts", "error": answer["rejected"][0]["error"]}
    assert [e["line"] for e in answer["rejected"]] == list(range(1, 151, 3))
    many = "\n".join([json.dumps({"ts": "nope", "n": 1})] * 150) + "\n"
    answer = post_app(server, many, content_type="application/x-ndjson", query="?invalid=skip").json()
    assert answer["accepted"] == 0 and answer["rejected_count"] == 150 and len(answer["rejected"]) == 100
    assert post_app(server, json.dumps(app_record(1)), query="?invalid=skip").json() == {"accepted": 1, "rejected": [], "rejected_count": 0}
    assert post_app(server, json.dumps(app_record(1)), query="?invalid=maybe").status_code == 400
    assert server.stop() == 0
    assert sorted(r["n"] for r in server.records("globex", "app")) == sorted([n for n in range(150) if n % 3] + [1])


# Timestamps (issue 9: leap seconds and long fractions; issue 11: units, offsets, ISO 8601 variants)


def test_leap_seconds_and_long_fractions_are_stored(segd):
    server = segd()
    body = [app_record(1, ts="2016-12-31T23:59:60Z"), app_record(2, ts="2017-01-01T08:59:60.5+09:00"),
            app_record(3, ts="2024-05-01T12:00:00.123456789999Z"), app_record(4, ts="2024-05-01 14:00:00,25+0200"),
            app_record(5, ts="2024-05-01t12:00:00.5z"), app_record(6, ts="2024-05-01T12:00:00+0000")]
    ndjson = "".join(json.dumps(record) + "\n" for record in body)
    r = post_app(server, ndjson, content_type="application/x-ndjson")
    assert r.json() == {"accepted": 6}, r.text
    r = post_app(server, json.dumps(app_record(7, ts="2016-12-31T12:00:60Z")) + "\n", content_type="application/x-ndjson")
    assert r.status_code == 400 and r.json()["field"] == "ts"
    assert server.stop() == 0
    stored = {r["n"]: r["ts"] for r in server.records("globex", "app")}
    assert stored == {1: "2016-12-31T23:59:59.999999999Z", 2: "2016-12-31T23:59:59.999999999Z",
                      3: "2024-05-01T12:00:00.123456789Z", 4: "2024-05-01T12:00:00.250Z",
                      5: "2024-05-01T12:00:00.500Z", 6: "2024-05-01T12:00:00Z"}


def test_duplicate_fields_that_differ_only_in_escaping_are_refused(segd):
    server = segd()
    r = post_app(server, '{"ts":"2026-11-01T00:00:00Z","n":1,"x":1,"\\u0078":2}\n', content_type="application/x-ndjson")
    assert r.status_code == 400 and r.json()["field"] == "x" and "twice" in r.json()["error"]
    assert post_app(server, '{"ts":"2026-11-01T00:00:00Z","n":2,"\\u0079":1}\n', content_type="application/x-ndjson").json() == {"accepted": 1}
    assert server.stop() == 0
    assert server.records("globex", "app") == [{"ts": "2026-11-01T00:00:00Z", "n": 2, "y": 1}]


def test_timestamp_units_and_default_offset(tmp_path):
    server = Segd(tmp_path)
    (server.schemas / "metrics.schema.json").write_text(json.dumps({
        "$id": "metrics", "type": "object",
        "properties": {"t": {"type": "number"}, "at": {"type": ["string", "null"], "format": "date-time"}},
        "required": ["t"], "x-segment": {"timestamp": "t", "timestamp-unit": "ms", "default-offset": "+02:00"}}))
    server.start()
    try:
        body = '{"t":1714564800250}\n{"t":1714564800250.5,"at":"2024-05-01 14:00:00"}\n{"t":"2024-05-01T12:00:00Z"}\n'
        r = requests.post(f"{server.url}/v1/streams/metrics/records", data=body, headers={**GLOBEX, "Content-Type": "application/x-ndjson"})
        assert r.json() == {"accepted": 3}
        r = requests.post(f"{server.url}/v1/streams/app/records", data='{"ts":"2026-11-01 00:00:00","n":1}\n',
                          headers={**GLOBEX, "Content-Type": "application/x-ndjson"})
        assert r.status_code == 400 and "no offset" in r.json()["error"]
        assert server.stop() == 0
        rows = server.records("globex", "metrics")
        assert [r["t"] for r in rows] == ["2024-05-01T12:00:00.250Z", "2024-05-01T12:00:00.250500Z", "2024-05-01T12:00:00Z"]
        assert rows[1]["at"] == "2024-05-01T12:00:00Z"
    finally:
        server.kill()


# Elasticsearch


def test_elasticsearch_answers_per_item_and_in_its_own_shape(segd):
    server = segd()
    assert requests.get(server.url + "/").headers["X-Elastic-Product"] == "Elasticsearch"
    assert requests.head(server.url + "/").status_code == 200
    bulk = "\n".join([
        '{"index":{"_index":"app","_id":"a"}}', json.dumps(app_record(1)),
        '{"create":{}}', json.dumps(app_record(2)),
        '{"index":{"_index":"app"}}', '{"ts":"bad","n":3}',
        '{"delete":{"_index":"app","_id":"a"}}',
        '{"index":{"_index":"nosuch"}}', '{"a":1}',
        '{"index":{"_index":"weblog"}}', '{"a":1}',
    ]) + "\n"
    r = requests.post(server.url + "/app/_bulk", data=bulk, headers={**GLOBEX, "Content-Type": "application/x-ndjson"})
    assert r.status_code == 200 and r.headers["X-Elastic-Product"] == "Elasticsearch"
    answer = r.json()
    assert answer["errors"] is True
    statuses = [(list(item)[0], list(item.values())[0]["status"]) for item in answer["items"]]
    assert statuses == [("index", 201), ("create", 201), ("index", 400), ("delete", 400), ("index", 404), ("index", 400)]
    assert answer["items"][0]["index"]["_id"] == "a" and answer["items"][2]["index"]["error"]["type"] == "document_parsing_exception"
    r = requests.post(server.url + "/_bulk", data='{"upsert":{}}\n{}\n', headers={**GLOBEX, "Content-Type": "application/x-ndjson"})
    assert r.status_code == 400 and r.json()["error"]["type"] == "illegal_argument_exception" and r.json()["status"] == 400
    r = requests.post(server.url + "/_bulk", data=bulk, headers={"Content-Type": "application/x-ndjson"})
    assert r.status_code == 401 and r.json()["error"]["type"] == "security_exception"
    assert server.stop() == 0
    assert sorted(r["n"] for r in server.records("globex", "app")) == [1, 2]


def test_elasticsearch_bulk_methods_media_types_and_api_keys(segd):
    """PUT as well as POST, the three media types, blank lines, `update` refused per item, and
    `ApiKey` credentials; `GET /` is a version document."""
    server = segd()
    root = requests.get(server.url + "/").json()
    assert root["version"]["number"].startswith("8.") and root["tagline"] == "You Know, for Search"
    api_key = "ApiKey " + base64.b64encode(f"key-id:{TOKENS['globex']}".encode()).decode()
    kinds = ["application/json", "application/x-ndjson", "application/vnd.elasticsearch+x-ndjson; compatible-with=8"]
    for n, kind in enumerate(kinds):
        bulk = "\n".join(['', '{"index":{"_index":"app"}}', json.dumps(app_record(10 + n)), '',
                          '{"update":{"_index":"app","_id":"x"}}', '{"doc":{"n":1}}', '']) + "\n"
        r = requests.put(server.url + "/_bulk", data=bulk, headers={"Authorization": api_key, "Content-Type": kind})
        assert r.status_code == 200, r.text
        assert [(list(i)[0], list(i.values())[0]["status"]) for i in r.json()["items"]] == [("index", 201), ("update", 400)]
    r = requests.put(server.url + "/_bulk", data='{"index":{"_index":"app"}}\n' + json.dumps(app_record(20)) + "\n",
                     headers={"Authorization": api_key, "Content-Type": "text/plain"})
    assert r.status_code == 415
    assert server.stop() == 0
    assert sorted(r["n"] for r in server.records("globex", "app")) == [10, 11, 12]


# OpenTelemetry


def otlp_request(bodies, time_ns=1714564800000000000):
    from opentelemetry.proto.collector.logs.v1.logs_service_pb2 import ExportLogsServiceRequest
    request = ExportLogsServiceRequest()
    scope = request.resource_logs.add().scope_logs.add()
    for body in bodies:
        record = scope.log_records.add()
        record.time_unix_nano = time_ns
        record.body.string_value = body
    return request.SerializeToString()


def test_otlp_partial_success_and_status_answers(segd, tmp_path):
    from opentelemetry.proto.collector.logs.v1.logs_service_pb2 import ExportLogsServiceResponse
    server = segd()
    headers = {**GLOBEX, "Content-Type": "application/x-protobuf"}
    r = requests.post(server.url + "/v1/logs", data=otlp_request(["a", "b"]), headers=headers)
    assert r.status_code == 200 and r.headers["Content-Type"] == "application/x-protobuf"
    assert not ExportLogsServiceResponse.FromString(r.content).HasField("partial_success")
    # Records that do not fit the stream named by X-Segd-Stream: every one refused, and said so.
    r = requests.post(server.url + "/v1/logs", data=otlp_request(["c"]), headers={**headers, "X-Segd-Stream": "app"})
    partial = ExportLogsServiceResponse.FromString(r.content).partial_success
    assert r.status_code == 200 and partial.rejected_log_records == 1
    assert "attributes" in partial.error_message or "field" in partial.error_message
    r = requests.post(server.url + "/v1/logs", data=b"\xff\xff\xff", headers=headers)
    assert r.status_code == 400
    r = requests.post(server.url + "/v1/logs", data=b"{}", headers={**GLOBEX, "Content-Type": "application/json"})
    assert r.status_code == 200 and r.json() == {}
    r = requests.post(server.url + "/v1/logs", data=b"{", headers={**GLOBEX, "Content-Type": "application/json"})
    assert r.status_code == 400 and r.json()["code"] == 3
    r = requests.post(server.url + "/v1/logs", data=otlp_request(["d"]), headers={"Content-Type": "application/x-protobuf"})
    assert r.status_code == 401
    assert server.stop() == 0
    assert sorted(r["body"] for r in server.records("globex", "otel")) == ["a", "b"]


# Loki


def test_loki_protobuf_with_snappy_and_its_answers(segd):
    server = segd()
    # A PushRequest written by hand from Loki's push.proto field numbers: streams=1 {labels=1, entries=2 {timestamp=1 {seconds=1, nanos=2}, line=2}}.
    def varint(n):
        out = bytearray()
        while True:
            b = n & 0x7F
            n >>= 7
            out.append(b | (0x80 if n else 0))
            if not n:
                return bytes(out)
    def field(number, payload):
        return varint(number << 3 | 2) + varint(len(payload)) + payload
    timestamp = varint(1 << 3) + varint(1714564800) + varint(2 << 3) + varint(7)
    entry = field(1, timestamp) + field(2, b"hello loki")
    stream = field(1, b'{job="app", env="prod"}') + field(2, entry)
    body = bytes(cramjam.snappy.compress_raw(field(1, stream)))
    r = requests.post(server.url + "/loki/api/v1/push", data=body, headers={**GLOBEX, "Content-Type": "application/x-protobuf"})
    assert r.status_code == 204, r.text
    r = requests.post(server.url + "/loki/api/v1/push", data=field(1, stream), headers={**GLOBEX, "Content-Type": "application/x-protobuf"})
    assert r.status_code == 400 and "snappy" in r.text
    push = {"streams": [{"stream": {"job": "app"}, "values": [["1714564800000000001", "json line"], ["bad", "x"]]}]}
    r = requests.post(server.url + "/loki/api/v1/push", data=gzip.compress(json.dumps(push).encode()),
                      headers={**GLOBEX, "Content-Type": "application/json", "Content-Encoding": "gzip"})
    assert r.status_code == 400 and r.headers["Content-Type"].startswith("text/plain")
    push["streams"][0]["values"].pop()
    r = requests.post(server.url + "/loki/api/v1/push", json=push, headers={**GLOBEX, "X-Segd-Stream": "nosuch"})
    assert r.status_code == 404
    r = requests.post(server.url + "/loki/api/v1/push", json=push, headers=GLOBEX)
    assert r.status_code == 204
    assert server.stop() == 0
    rows = server.records("globex", "loki")
    assert [(r["time"], r["labels"], r["line"]) for r in rows] == [
        ("2024-05-01T12:00:00.000000007Z", {"job": "app", "env": "prod"}, "hello loki"),
        ("2024-05-01T12:00:00.000000001Z", {"job": "app"}, "json line")]


# Splunk HEC


def test_hec_codes(segd):
    server = segd()
    url = server.url + "/services/collector"
    assert requests.get(url + "/health").json() == {"text": "HEC is healthy", "code": 17}
    assert requests.post(url, data='{"event":"x"}').json() == {"text": "Token is required", "code": 2}
    r = requests.post(url, data='{"event":"x"}', headers={"Authorization": "Splunk nope"})
    assert r.status_code == 403 and r.json()["code"] == 4
    auth = {"Authorization": f"Splunk {TOKENS['globex']}"}
    assert requests.post(url + "/event", data='{"event":"a"}\n{"event":{"k":1},"host":"h"}', headers=auth).json() == {"text": "Success", "code": 0}
    r = requests.post(url, data='{"event":"b"}{"event":"c","index":"nosuch"}', headers=auth)
    assert r.status_code == 400 and r.json()["code"] == 7 and r.json()["invalid-event-number"] == 1
    r = requests.post(url, data='{"event":"b"}{"time":"noon","event":"c"}', headers=auth)
    assert r.status_code == 400 and r.json()["code"] == 6 and r.json()["invalid-event-number"] == 1
    r = requests.post(url + "/raw?sourcetype=access&host=web1", data="line one\nline two\n", headers=auth)
    assert r.json()["code"] == 0
    assert server.stop() == 0
    rows = server.records("globex", "hec")
    # The request with an unknown index stored nothing, not even its first event.
    assert [r["event"] for r in rows] == ["a", '{"k":1}', "line one", "line two"]
    assert rows[2]["sourcetype"] == "access" and rows[2]["host"] == "web1" and rows[1]["host"] == "h"


# Syslog


def test_syslog_framings_oversize_and_bad_utf8(segd, tmp_path):
    port = Segd(tmp_path / "probe").port  # a free port
    server = segd(["--syslog-port", str(port), "--syslog-tenant", "globex", "--max-line", "1KiB"])
    with socket.create_connection(("127.0.0.1", port)) as s:
        s.sendall(b"<13>1 2024-05-01T12:00:00Z h app - - - five424\n"
                  b"<14>nul framed\x00"
                  b"26 <13>Oct 11 22:14:15 h t: x"
                  b"<13>" + b"y" * 300 + b"\n"
                  b"not syslog at all \xff\xfe\n")
    wait = time.time() + 15
    while time.time() < wait and not (server.data / "globex" / "syslog").exists():
        time.sleep(0.1)
    time.sleep(1)
    assert server.stop() == 0
    rows = server.records("globex", "syslog")
    messages = [r["message"] for r in rows]
    assert messages[:3] == ["five424", "nul framed", "x"]
    # A message longer than an eighth of --max-line comes in pieces (nothing dropped).
    assert "".join(messages[3:-1]) == "y" * 300 and len(messages) > 5
    assert rows[3]["format"] == "rfc3164" and {r["format"] for r in rows[4:-1]} == {"unparsed"}
    assert messages[-1] == "not syslog at all \ufffd\ufffd" and rows[-1]["format"] == "unparsed"


def test_syslog_over_tls_refuses_plain_tcp_and_serves_tls(segd, tmp_path):
    cert, key = tmp_path / "c.pem", tmp_path / "k.pem"
    subprocess.run(["openssl", "req", "-x509", "-newkey", "rsa:2048", "-nodes", "-days", "1", "-subj", "/CN=localhost",
                    "-keyout", str(key), "-out", str(cert)], check=True, capture_output=True)
    port = Segd(tmp_path / "probe").port
    server = segd(["--syslog-port", str(port), "--syslog-tenant", "globex", "--syslog-tls-cert", str(cert), "--syslog-tls-key", str(key)])
    with socket.create_connection(("127.0.0.1", port)) as plain:
        plain.sendall(b"<13>plain text over a TLS port\n")
        plain.settimeout(10)
        # segd answers plain text with at most a TLS alert record (content type 21), then closes.
        received = b""
        try:
            while chunk := plain.recv(100):
                received += chunk
        except ConnectionResetError:
            pass
        assert received == b"" or received[0] == 21, received
    context = ssl.create_default_context(cafile=str(cert))
    context.check_hostname = False
    with socket.create_connection(("127.0.0.1", port)) as raw, context.wrap_socket(raw) as s:
        s.sendall(b"<13>1 - h app - - - over tls\n")
    time.sleep(1)
    assert server.stop() == 0
    assert [r["message"] for r in server.records("globex", "syslog")] == ["over tls"]


def test_a_schema_in_schemas_dir_overrides_a_built_in_one(tmp_path):
    server = Segd(tmp_path)
    (server.schemas / "hec.schema.json").write_text(json.dumps({
        "$id": "hec", "type": "object", "properties": {"time": {"type": "string", "format": "date-time"}, "event": {"type": "string"}},
        "required": ["time"], "additionalProperties": True, "x-segment": {"timestamp": "time"}}))
    server.start()
    try:
        r = requests.post(server.url + "/services/collector", data='{"event":"e","host":"h"}', headers={"Authorization": f"Splunk {TOKENS['globex']}"})
        assert r.json()["code"] == 0
        assert server.stop() == 0
        assert server.records("globex", "hec") == [{**server.records("globex", "hec")[0], "event": "e", "host": "h"}]
        assert "fields" in server.records("globex", "hec")[0] and "additional" not in json.dumps(server.records("globex", "hec"))
    finally:
        server.kill()


def test_syslog_shutdown_stores_what_open_connections_sent(segd, tmp_path):
    """SIGTERM with syslog connections open, one in the middle of a message: segd stores what it
    read, the unfinished message too, closes them, and exits in time."""
    port = Segd(tmp_path / "probe").port
    server = segd(["--syslog-port", str(port), "--syslog-tenant", "globex"])
    closed = socket.create_connection(("127.0.0.1", port))
    closed.sendall(b"<13>from a closed connection\n")
    closed.close()
    held = [socket.create_connection(("127.0.0.1", port)) for _ in range(3)]
    for k, s in enumerate(held):
        s.sendall(b"<13>complete %d\n<13>unfinished %d" % (k, k))
    time.sleep(1)
    started = time.time()
    assert server.stop(timeout=20) == 0 and time.time() - started < 10
    messages = sorted(r["message"] for r in server.records("globex", "syslog"))
    assert messages == sorted(["from a closed connection"] + [f"complete {k}" for k in range(3)] + [f"unfinished {k}" for k in range(3)])
    for s in held:
        s.close()
