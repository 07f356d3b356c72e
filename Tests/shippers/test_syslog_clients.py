"""Python's logging.handlers.SysLogHandler over TCP and util-linux's `logger --tcp` against segd's
syslog listener."""
import logging
import logging.handlers
import socket
import subprocess

import pytest

from conftest import assert_exactly_once, id_in, ids, run_in_thread, wait_for


def syslog_handler(server, name):
    handler = logging.handlers.SysLogHandler(address=("127.0.0.1", server.syslog_port), socktype=socket.SOCK_STREAM,
                                             facility=logging.handlers.SysLogHandler.LOG_LOCAL3)
    handler.setFormatter(logging.Formatter("%(name)s: %(message)s"))
    log = logging.getLogger(name)
    log.propagate = False
    log.setLevel(logging.INFO)
    log.addHandler(handler)
    return log, handler


def test_python_syslog_handler(segd):
    """NUL-framed messages of a PRI and text only (no time, no host): stored with when segd read them."""
    server = segd()
    log, handler = syslog_handler(server, "pyapp")
    expected = ids(300)
    for i in expected:
        log.warning(i)
    handler.close()
    wait_for(lambda: len(server.rows_now("syslog")) >= len(expected), what="every message")
    assert server.stop() == 0
    rows = server.rows("syslog")
    assert_exactly_once([r["message"] for r in rows], expected)
    assert all(r["app_name"] == "pyapp" and r["facility"] == 19 and r["severity"] == 4 and r["format"] == "rfc3164" for r in rows)


def test_python_syslog_handler_waits_through_refusals(segd):
    """Over its rate and at the in-flight bound, the listener stops reading (TCP backpressure);
    the handler's writes wait, and every message is stored once."""
    server = segd(syslog_tenant="limited")
    log, handler = syslog_handler(server, "pyapp")
    expected = ids(60)
    with server.inflight_held():
        writer = run_in_thread(lambda: [log.warning(i) for i in expected])
        server.await_refusal("limited")
    writer.join(60)
    handler.close()
    wait_for(lambda: len(server.rows_now("syslog", "limited")) >= len(expected), timeout=60, what="every message")
    refused = server.rejections("limited")
    assert refused.get("inflight_bytes", 0) > 0 and refused.get("rate", 0) > 0, refused
    assert server.stop() == 0
    assert_exactly_once([r["message"] for r in server.rows("syslog", tenant="limited")], expected)


@pytest.mark.parametrize("framing", [[], ["--octet-count"]])
def test_logger_over_tcp(segd, tmp_path, framing):
    server = segd()
    expected = ids(300)
    source = tmp_path / "lines"
    source.write_text("".join(f"{i}\n" for i in expected))
    subprocess.run(["logger", "--tcp", "-n", "127.0.0.1", "-P", str(server.syslog_port), "-t", "loggertest", "-p", "user.notice",
                    *framing, "-f", str(source)], check=True, timeout=60)
    wait_for(lambda: len(server.rows_now("syslog")) >= len(expected), what="every message")
    assert server.stop() == 0
    rows = server.rows("syslog")
    assert_exactly_once([r["message"] for r in rows], expected)
    assert all(r["app_name"] == "loggertest" and r["format"] == "rfc5424" and r["severity"] == 5 for r in rows)


def test_logger_waits_through_refusals(segd, tmp_path):
    server = segd(syslog_tenant="limited")
    expected = ids(60)
    source = tmp_path / "lines"
    source.write_text("".join(f"{i}\n" for i in expected))
    with server.inflight_held():
        sender = subprocess.Popen(["logger", "--tcp", "-n", "127.0.0.1", "-P", str(server.syslog_port), "-t", "loggertest",
                                   "--octet-count", "-f", str(source)])
        server.await_refusal("limited")
    assert sender.wait(timeout=60) == 0
    wait_for(lambda: len(server.rows_now("syslog", "limited")) >= len(expected), timeout=60, what="every message")
    refused = server.rejections("limited")
    assert refused.get("inflight_bytes", 0) > 0 and refused.get("rate", 0) > 0, refused
    assert server.stop() == 0
    assert_exactly_once([id_in(r["message"]) for r in server.rows("syslog", tenant="limited")], expected)
