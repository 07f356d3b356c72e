"""Shutdown fits in the platform's stop timeout: a slow upload is cut off (503) after the drain
delay and a short grace, and every acknowledged record is sealed with its hooks started well
within 20 s of SIGTERM, with default settings."""
import signal
import stat
import threading
import time

import rawhttp
from conftest import weblog_lines

LINES = weblog_lines()


def test_a_slow_upload_cannot_hold_shutdown(segd, tmp_path):
    hooks, out = tmp_path / "hooks", tmp_path / "out"
    hooks.mkdir()
    out.mkdir()
    hook = hooks / "ship"
    hook.write_text(f'#!/bin/sh\ndate +%s.%N >> "{out}/started"\n')
    hook.chmod(hook.stat().st_mode | stat.S_IEXEC)
    server = segd(["--hooks-dir", str(hooks), "--flush-interval", "1s"])
    acknowledged = 0
    for i in range(0, 1000, 100):
        assert server.post(LINES[i:i + 100]).status_code == 200
        acknowledged += 100
    # An upload that trickles: a byte a second, never finishing in time.
    slow = rawhttp.connect(server, timeout=60)
    slow.sendall(rawhttp.post_head(length=100000))
    stop = threading.Event()

    def trickle():
        while not stop.is_set():
            try:
                slow.sendall(b" ")
            except OSError:
                return
            time.sleep(1)

    t = threading.Thread(target=trickle, daemon=True)
    t.start()
    time.sleep(0.5)
    sigterm = time.time()
    server.proc.send_signal(signal.SIGTERM)
    response = rawhttp.read_response(slow, timeout=30)
    stop.set()
    assert rawhttp.status(response) == 503 and b"Retry-After: 1" in response, response
    assert server.proc.wait(timeout=30) == 0
    took = time.time() - sigterm
    assert took < 15, f"shutdown took {took:.1f} s"
    started = [float(x) for x in (out / "started").read_text().split()]
    assert started and max(started) - sigterm < 20, "the hooks of the last segment started within 20 s"
    assert len(server.records("acme", "weblog", "rotated")) == acknowledged, "every acknowledged record is sealed"
    assert not list(server.data.glob("acme/weblog/active/*.seg"))
    # A clean stop leaves the log empty: at most a generation's header, so numbers never repeat.
    assert all(wal.stat().st_size <= 64 for wal in server.data.glob("acme/weblog/wal/*.wal"))
