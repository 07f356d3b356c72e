"""The OpenTelemetry SDK's OTLP/HTTP log exporters (protobuf, and JSON) against segd's /v1/logs."""
import os
import subprocess
import sys
from pathlib import Path

import pytest

from conftest import LIMITED_TOKEN, ROOT, TOKEN, assert_exactly_once, ids, run_in_thread

HERE = Path(__file__).parent
PYTHONS = {"protobuf": sys.executable, "json": str(ROOT / ".build" / "shippers" / "otlp-json" / "bin" / "python")}


def send(kind, server, token, records, compression="none"):
    # The exporters' own setting (OpenTelemetry's environment variable) chooses the body's coding.
    env = {**os.environ, "OTEL_EXPORTER_OTLP_LOGS_COMPRESSION": compression}
    return subprocess.run([PYTHONS[kind], str(HERE / "otlp_client.py"), kind, server.url + "/v1/logs", token, *records],
                          capture_output=True, text=True, timeout=180, env=env)


@pytest.mark.parametrize("kind", ["protobuf", "json"])
def test_exporter_stores_every_record_once(segd, kind):
    """Gzip-compressed bodies (the exporters' compression setting), every record stored once."""
    server = segd()
    expected = ids(200)
    done = send(kind, server, TOKEN, expected, compression="gzip")
    assert done.returncode == 0, done.stderr[-2000:]
    assert server.stop() == 0
    rows = server.rows("otel")
    assert_exactly_once([r["body"] for r in rows], expected)
    row = rows[0]
    assert row["severity_text"] == "WARN" and row["severity_number"] == 13 and row["service_name"] == "shipper-test"
    assert row["resource"]["test.kind"] == kind and row["attributes"]["record.id"] == row["body"]
    assert row["scope"]["name"] == "shipper-test" and row["time"] and row["observed_time"]


@pytest.mark.parametrize("kind", ["protobuf", "json"])
def test_exporter_retries_429_and_503_without_duplicates(segd, kind):
    """The exporter resends what segd answered 503 (its in-flight bound) and 429 (the tenant's
    rate), after Retry-After; segd stored none of it, so each record is stored once."""
    server = segd()
    expected = ids(60)
    with server.inflight_held():
        client = run_in_thread(send, kind, server, LIMITED_TOKEN, expected)
        server.await_refusal("limited")
    client.join(180)
    assert client.error is None and client.result.returncode == 0, client.result and client.result.stderr[-2000:]
    refused = server.rejections("limited")
    assert refused.get("inflight_bytes", 0) > 0 and refused.get("rate", 0) > 0, refused
    assert server.stop() == 0
    assert_exactly_once([r["body"] for r in server.rows("otel", tenant="limited")], expected)
