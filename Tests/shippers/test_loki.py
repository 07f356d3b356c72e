"""python-logging-loki's handler against segd's Loki push API."""
import logging
import time

import logging_loki

from conftest import LIMITED_TOKEN, TOKEN, assert_exactly_once, ids


class RecordingLokiHandler(logging_loki.LokiHandler):
    """The handler, noting the records whose push failed (it reports them and moves on)."""

    def __init__(self, *args, **kw):
        super().__init__(*args, **kw)
        self.failed = []

    def handleError(self, record):
        self.failed.append(record.getMessage())


def logger(server, token, name):
    handler = RecordingLokiHandler(url=server.url + "/loki/api/v1/push", tags={"job": "shipper-test"}, auth=("loki", token), version="1")
    log = logging.getLogger(name)
    log.propagate = False
    log.setLevel(logging.INFO)
    log.addHandler(handler)
    return log, handler


def test_handler_stores_every_entry_once(segd):
    server = segd()
    log, handler = logger(server, TOKEN, "loki-plain")
    expected = ids(100)
    for i in expected:
        log.info(i)
    assert handler.failed == []
    assert server.stop() == 0
    rows = server.rows("loki")
    assert_exactly_once([r["line"] for r in rows], expected)
    assert rows[0]["labels"] == {"job": "shipper-test", "severity": "info", "logger": "loki-plain"}


def test_handler_refused_entries_are_not_stored(segd):
    """This handler does not resend: each entry answered 503 or 429 is reported failed by the
    client and is not in segd; every other entry is stored once."""
    server = segd()
    log, handler = logger(server, LIMITED_TOKEN, "loki-refused")
    expected = ids(60)
    with server.inflight_held():
        for i in expected[:5]:
            log.info(i)
    for i in expected[5:]:
        log.info(i)
        time.sleep(0.01)
    refused = server.rejections("limited")
    assert refused.get("inflight_bytes", 0) == 5 and refused.get("rate", 0) > 0, refused
    assert len(handler.failed) == 5 + refused["rate"]
    assert server.stop() == 0
    delivered = [i for i in expected if i not in set(handler.failed)]
    assert_exactly_once([r["line"] for r in server.rows("loki", tenant="limited")], delivered)
