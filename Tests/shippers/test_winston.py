"""winston's Http transport (Debian's node-winston) against segd's records route: JSON bodies
(one object, or an array in batch mode), Basic authentication."""
import os
import subprocess
from pathlib import Path

from conftest import LIMITED_TOKEN, TOKEN, assert_exactly_once, ids, run_in_thread

HERE = Path(__file__).parent
ENV = {**os.environ, "NODE_PATH": "/usr/share/nodejs:/usr/lib/nodejs"}


def send(server, token, mode, records):
    done = subprocess.run(["node", str(HERE / "winston_client.js"), str(server.port), token, mode, *records],
                          capture_output=True, text=True, timeout=120, env=ENV)
    assert done.returncode == 0, done.stderr
    lines = [line for line in done.stdout.splitlines() if line]
    return lines[:-1], int(lines[-1].split()[1])


def test_http_transport_in_batches(segd):
    server = segd()
    expected = ids(200)
    _, failed = send(server, TOKEN, "batch", expected)
    assert failed == 0
    assert server.stop() == 0
    rows = server.rows("app")
    assert_exactly_once([r["id"] for r in rows], expected)
    assert all(r["level"] == "info" and r["message"] == f"record {r['id']}" and r["timestamp"] for r in rows)


def test_http_transport_refused_records_are_not_stored(segd):
    """winston does not resend: what segd answered 503 or 429 is reported failed by winston and is
    not in segd; every record winston reports logged is stored once."""
    server = segd()
    expected = ids(60)
    with server.inflight_held():
        client = run_in_thread(send, server, LIMITED_TOKEN, "single", expected)
        server.await_refusal("limited")
    client.join(120)
    assert client.error is None
    logged, failed = client.result
    refused = server.rejections("limited")
    assert refused.get("inflight_bytes", 0) > 0 and refused.get("rate", 0) > 0, refused
    assert failed == sum(refused.values()) and len(logged) == len(expected) - failed
    assert server.stop() == 0
    assert_exactly_once([r["id"] for r in server.rows("app", tenant="limited")], logged)
