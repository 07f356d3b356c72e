"""splunk-handler against segd's HTTP Event Collector."""
import logging
import time

from splunk_handler import SplunkHandler

from conftest import LIMITED_TOKEN, TOKEN, assert_exactly_once, id_in, ids, wait_for


def logger(server, token, name):
    handler = SplunkHandler(host="127.0.0.1", port=server.port, token=token, index="hec", protocol="http", verify=False,
                            flush_interval=0.1, retry_count=20, retry_backoff=0.2, source="shipper-test", sourcetype="text",
                            hostname="test-host", queue_size=0)
    log = logging.getLogger(name)
    log.propagate = False
    log.setLevel(logging.INFO)
    log.addHandler(handler)
    return log, handler


def flushed(server, handler, stream, tenant, n):
    handler.force_flush()
    deadline = time.time() + 60
    while time.time() < deadline and len(server.rows_now(stream, tenant)) < n:
        time.sleep(0.1)


def test_handler_stores_every_event_once(segd):
    server = segd()
    log, handler = logger(server, TOKEN, "hec-plain")
    expected = ids(200)
    for i in expected:
        log.info(i)
    flushed(server, handler, "hec", "ship", len(expected))
    handler.close()
    assert server.stop() == 0
    rows = server.rows("hec")
    assert_exactly_once([id_in(r["event"]) for r in rows], expected)
    assert rows[0]["host"] == "test-host" and rows[0]["source"] == "shipper-test" and rows[0]["sourcetype"] == "text"


def test_handler_retries_server_busy_without_duplicates(segd):
    """segd's 503 (in-flight bound) and 429 (rate) are HEC's 503 "Server is busy" with
    Retry-After, which the handler resends; nothing refused was stored, so each event is once.
    The handler sends what it has queued in one request: the batches here stay within the
    tenant's burst of 20 records (a larger one would be refused for good, 413)."""
    server = segd()
    log, handler = logger(server, LIMITED_TOKEN, "hec-refused")
    expected = ids(35)
    with server.inflight_held():
        for i in expected[:5]:
            log.info(i)
        server.await_refusal("limited")
    wait_for(lambda: len(server.rows_now("hec", "limited")) == 5, what="the first 5 events")
    for batch in (expected[5:20], expected[20:35]):
        for i in batch:
            log.info(i)
        time.sleep(0.3)
    flushed(server, handler, "hec", "limited", len(expected))
    handler.close()
    refused = server.rejections("limited")
    assert refused.get("inflight_bytes", 0) > 0 and refused.get("rate", 0) > 0, refused
    assert server.stop() == 0
    assert_exactly_once([id_in(r["event"]) for r in server.rows("hec", tenant="limited")], expected)
