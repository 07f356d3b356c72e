"""python-logging-loki's handler against segd's Loki push API."""
import logging

import logging_loki

from conftest import LIMITED_TOKEN, TOKEN, assert_exactly_once, ids, run_in_thread


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
    client and is not in segd; every other entry is stored once. Entries go out from four threads
    until the tenant's rate has refused some (a loaded machine sends slower than the rate)."""
    server = segd()
    loggers = [logger(server, LIMITED_TOKEN, f"loki-refused-{k}") for k in range(4)]
    sent = []
    with server.inflight_held():
        held = ids(5)
        for i in held:
            loggers[0][0].info(i)
        sent += held
    for _ in range(10):
        burst = ids(40)
        threads = [run_in_thread(lambda part, log=log: [log.info(i) for i in part], burst[k::4]) for k, (log, _) in enumerate(loggers)]
        for t in threads:
            t.join(60)
        sent += burst
        if server.rejections("limited").get("rate", 0) > 0:
            break
    refused = server.rejections("limited")
    failed = [i for _, handler in loggers for i in handler.failed]
    assert refused.get("inflight_bytes", 0) == 5 and refused.get("rate", 0) > 0, refused
    assert len(failed) == 5 + refused["rate"]
    assert server.stop() == 0
    delivered = [i for i in sent if i not in set(failed)]
    assert_exactly_once([r["line"] for r in server.rows("loki", tenant="limited")], delivered)
