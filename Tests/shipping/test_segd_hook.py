"""ship-segments as a real segd's archival hook: a sealed segment reaches S3 without cron."""
import json
import os
import signal
import socket
import subprocess
import time
import urllib.request

from conftest import PREFIX, ROOT, TOOLS

SEGD = ROOT / ".build" / "debug" / "segd"


def test_segd_ships_each_sealed_segment_through_the_hook(shipping):
    shipping.s3.create_bucket(shipping.bucket)
    hooks = shipping.tmp / "hooks"
    hooks.mkdir()
    (hooks / "50-ship").symlink_to(TOOLS / "ship-segments")
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    env = {**shipping.env, "SEGD_TOKEN": "t"}
    segd = subprocess.Popen([str(SEGD), "--host", "127.0.0.1", "--port", str(port), "--data-dir", str(shipping.data),
                             "--schemas-dir", str(ROOT / "schemas"), "--hooks-dir", str(hooks), "--rotate-interval", "2s",
                             "--flush-interval", "200ms"], env=env, stdout=open(shipping.tmp / "segd.log", "wb"), stderr=subprocess.STDOUT)
    try:
        deadline = time.time() + 30
        while True:
            try:
                urllib.request.urlopen(f"http://127.0.0.1:{port}/health", timeout=1)
                break
            except OSError:
                assert time.time() < deadline and segd.poll() is None
                time.sleep(0.05)
        body = (ROOT / "docs" / "examples" / "weblog.ndjson").read_bytes()
        request = urllib.request.Request(f"http://127.0.0.1:{port}/v1/streams/weblog/records", data=body,
                                         headers={"Authorization": "Bearer t", "Content-Type": "application/x-ndjson"})
        assert json.loads(urllib.request.urlopen(request).read()) == {"accepted": 1000}
        # The segment seals at the next 2 s boundary; the hook ships it and moves it to shipped/.
        deadline = time.time() + 60
        while not list(shipping.data.glob("default/weblog/shipped/*.seg")):
            assert time.time() < deadline, (shipping.tmp / "segd.log").read_text()[-3000:]
            time.sleep(0.2)
    finally:
        segd.send_signal(signal.SIGTERM)
        assert segd.wait(timeout=60) == 0
    shipped = list(shipping.data.glob("default/weblog/shipped/*.seg"))
    keys = shipping.s3.keys(shipping.bucket)
    assert [k.rsplit("/", 1)[1] for k in keys] == [shipped[0].name]
    assert keys[0].startswith(f"{PREFIX}/default/weblog/dt=2026-11-01/hour=00/")
    assert shipping.s3.read(shipping.bucket, keys[0]) == shipped[0].read_bytes()
