"""syslog-ng's http(), elasticsearch-http(), network() and syslog() destinations against segd (its
records route, its Elasticsearch bulk API, and its syslog listener over TCP and TLS)."""
import subprocess

import pytest

from conftest import LIMITED_TOKEN, TOKEN, FollowingDaemon, assert_exactly_once, id_in, ids, wait_for

CONFIG = """@version: 3.38
@include "scl.conf"
options {{ time-reopen(1); stats-freq(0); keep-hostname(yes); chain-hostnames(no); }};
source s_in {{ file("{input}" follow-freq(0.1) flags(no-parse)); }};
destination d_out {{ {destination} }};
log {{ source(s_in); destination(d_out); flags(flow-control); }};
"""


def syslog_ng(tmp_path, destination):
    """syslog-ng in the foreground, reading ids from a file and sending them to `destination`."""
    return FollowingDaemon(tmp_path / "syslog-ng", lambda input, _: CONFIG.format(input=input, destination=destination),
                           lambda conf, d: ["syslog-ng", "-F", "-e", "--no-caps", "-f", str(conf), "-R", str(d / "persist"),
                                            "-p", str(d / "pid"), "-c", str(d / "ctl")])


def run(server, tmp_path, destination, expected, stream, tenant="ship", refusals=False):
    """Writes `expected` into syslog-ng's input, waits for segd to have acknowledged all of them,
    stops both, and returns the stored rows. With `refusals`, the first ids are written while
    segd's in-flight bound is held (503), the rest after, faster than the tenant's rate (429), and
    segd must have refused requests for both."""
    shipper = syslog_ng(tmp_path, destination)
    try:
        if refusals:
            with server.inflight_held():
                shipper.write(expected[:5])
                server.await_refusal(tenant)
            shipper.write(expected[5:])
        else:
            shipper.write(expected)
        wait_for(lambda: len(server.rows_now(stream, tenant)) >= len(expected), timeout=90, what=f"{len(expected)} records in {stream}")
        if refusals:
            refused = server.rejections(tenant)
            assert refused.get("inflight_bytes", 0) > 0 and refused.get("rate", 0) > 0, refused
    finally:
        shipper.stop()
    assert server.stop() == 0
    return server.rows(stream, tenant)


def http_destination(server, token, batch=10):
    return (f'http(url("{server.url}/v1/streams/app/records") method("POST") user("syslog-ng") password("{token}") '
            f'headers("Content-Type: application/x-ndjson") body(\'$(format-json timestamp=${{ISODATE}} id=${{MSG}} message=${{MSG}})\') '
            f'batch-lines({batch}) batch-timeout(100) delimiter("\\n") workers(1));')


def elasticsearch_destination(server, token, batch=10):
    return (f'elasticsearch-http(url("{server.url}/_bulk") index("elasticsearch") type("") user("syslog-ng") password("{token}") '
            f'batch-lines({batch}) batch-timeout(100) workers(1));')


def test_http_destination(segd, tmp_path):
    server = segd()
    expected = ids(300)
    rows = run(server, tmp_path, http_destination(server, TOKEN, batch=50), expected, "app")
    assert_exactly_once([r["id"] for r in rows], expected)


def test_http_destination_resends_429_and_503_without_duplicates(segd, tmp_path):
    server = segd()
    expected = ids(60)
    rows = run(server, tmp_path, http_destination(server, LIMITED_TOKEN), expected, "app", tenant="limited", refusals=True)
    assert_exactly_once([r["id"] for r in rows], expected)


def test_elasticsearch_http_destination(segd, tmp_path):
    server = segd()
    expected = ids(300)
    rows = run(server, tmp_path, elasticsearch_destination(server, TOKEN, batch=50), expected, "elasticsearch")
    assert_exactly_once([id_in(r["MESSAGE"]) for r in rows], expected)
    assert all(r["@timestamp"] for r in rows)


def test_elasticsearch_http_destination_resends_429_without_duplicates(segd, tmp_path):
    server = segd()
    expected = ids(60)
    rows = run(server, tmp_path, elasticsearch_destination(server, LIMITED_TOKEN), expected, "elasticsearch", tenant="limited",
               refusals=True)
    assert_exactly_once([id_in(r["MESSAGE"]) for r in rows], expected)


@pytest.mark.parametrize("driver", ["network", "syslog"])
def test_network_and_syslog_destinations_over_tcp(segd, tmp_path, driver):
    """network(): RFC 3164, LF-framed; syslog(): RFC 5424, octet-counted."""
    server = segd()
    expected = ids(300)
    rows = run(server, tmp_path, f'{driver}("127.0.0.1" port({server.syslog_port}) transport("tcp"));', expected, "syslog")
    assert_exactly_once([r["message"] for r in rows], expected)
    assert {r["format"] for r in rows} == {"rfc3164" if driver == "network" else "rfc5424"}
    assert all(r["hostname"] and r["peer"].startswith("127.0.0.1:") for r in rows)


def test_syslog_over_tcp_waits_through_refusals(segd, tmp_path):
    """A tenant over its rate, and a node at its in-flight bound, slow the listener's reads (TCP
    backpressure): nothing is dropped, nothing is stored twice."""
    server = segd(syslog_tenant="limited")
    expected = ids(60)
    rows = run(server, tmp_path, f'syslog("127.0.0.1" port({server.syslog_port}) transport("tcp"));', expected, "syslog",
               tenant="limited", refusals=True)
    assert_exactly_once([r["message"] for r in rows], expected)


def test_syslog_over_tls(segd, tmp_path):
    certificate, key = tmp_path / "cert.pem", tmp_path / "key.pem"
    subprocess.run(["openssl", "req", "-x509", "-newkey", "rsa:2048", "-nodes", "-days", "1", "-subj", "/CN=localhost",
                    "-addext", "subjectAltName=DNS:localhost,IP:127.0.0.1", "-keyout", str(key), "-out", str(certificate)],
                   check=True, capture_output=True)
    server = segd(syslog_tls=(certificate, key))
    expected = ids(200)
    destination = (f'syslog("localhost" port({server.syslog_port}) transport("tls") '
                   f'tls(ca-file("{certificate}") peer-verify(required-trusted)));')
    rows = run(server, tmp_path, destination, expected, "syslog")
    assert_exactly_once([r["message"] for r in rows], expected)
