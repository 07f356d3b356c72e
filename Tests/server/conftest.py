"""A real segd on a loopback port, for the server's integration tests."""
import hashlib
import json
import os
import shutil
import signal
import socket
import subprocess
import time
from pathlib import Path

import stat

import pytest
import requests

ROOT = Path(__file__).resolve().parents[2]
BUILD = Path(os.environ.get("SEGD_BUILD", ROOT / ".build" / "debug"))
WEBLOG = ROOT / "docs" / "examples" / "weblog.ndjson"

TOKENS = {"acme": "acme-token", "globex": "globex-token", "tiny": "tiny-token"}


def sha(token):
    return hashlib.sha256(token.encode()).hexdigest()


TENANTS = {
    "tenants": {
        # acme may use weblog only, at a generous rate.
        "acme": {"tokens_sha256": [sha(TOKENS["acme"])], "streams": ["weblog"], "records_per_second": 1000000, "burst": 2000000},
        # globex may use every stream, at 500 records/s with a burst of 1000.
        "globex": {"tokens_sha256": [sha(TOKENS["globex"])], "streams": "*", "records_per_second": 500, "burst": 1000},
        # tiny has a 1-byte disk quota.
        "tiny": {"tokens_sha256": [sha(TOKENS["tiny"])], "streams": "*", "records_per_second": 100000, "disk_quota_bytes": 1},
    }
}

APP_SCHEMA = {
    "$id": "app", "type": "object",
    "properties": {"ts": {"type": "string", "format": "date-time"}, "n": {"type": "integer"}, "msg": {"type": "string"}},
    "required": ["ts", "n"], "x-segment": {"timestamp": "ts", "codec": "zlib"},
}


def slow_down(server, tenant="globex", per_minute=1, burst=10):
    """Rewrites a (not yet started) server's tenants file: `tenant` gets `per_minute` records a
    minute and a small burst, so that its bucket stays empty once spent."""
    tenants = json.loads(server.tenants.read_text())
    tenants["tenants"][tenant].update(records_per_second=per_minute / 60, burst=burst)
    server.tenants.write_text(json.dumps(tenants))


def free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def wait_for(predicate, timeout=15, what="condition"):
    deadline = time.time() + timeout
    while time.time() < deadline:
        if predicate():
            return
        time.sleep(0.05)
    raise AssertionError(f"timed out waiting for {what}")


def make_hook(directory, name, script, shell="/bin/sh"):
    directory.mkdir(exist_ok=True)
    path = directory / name
    path.write_text(f"#!{shell}\n" + script)
    path.chmod(path.stat().st_mode | stat.S_IEXEC)


def weblog_lines():
    return WEBLOG.read_bytes().splitlines(keepends=True)


class Segd:
    """One segd process over a data directory; restartable, killable."""

    def __init__(self, workdir, extra=(), env=None, data_dir=None):
        self.workdir = Path(workdir)
        self.data = Path(data_dir) if data_dir else self.workdir / "data"
        self.schemas = self.workdir / "schemas"
        self.schemas.mkdir(parents=True, exist_ok=True)
        shutil.copy(ROOT / "schemas" / "weblog.schema.json", self.schemas)
        (self.schemas / "app.schema.json").write_text(json.dumps(APP_SCHEMA))
        self.tenants = self.workdir / "tenants.json"
        self.tenants.write_text(json.dumps(TENANTS))
        self.extra = list(extra)
        self.env = env or {}
        self.port = free_port()
        self.url = f"http://127.0.0.1:{self.port}"
        self.proc = None
        self.log = self.workdir / "segd.log"

    def start(self, extra=(), wait=30, wrapper=()):
        args = [*wrapper, str(BUILD / "segd"), "--host", "127.0.0.1", "--port", str(self.port), "--data-dir", str(self.data),
                "--schemas-dir", str(self.schemas), "--tenants", str(self.tenants), "--flush-interval", "200ms",
                *self.extra, *extra]
        env = {**os.environ, **self.env}
        self.proc = subprocess.Popen(args, stdout=open(self.log, "ab"), stderr=subprocess.STDOUT, env=env)
        deadline = time.time() + wait
        while time.time() < deadline:
            assert self.proc.poll() is None, f"segd exited {self.proc.returncode}:\n{self.log.read_text()[-3000:]}"
            try:
                if requests.get(self.url + "/health", timeout=1).status_code == 200:
                    return self
            except requests.ConnectionError:
                time.sleep(0.05)
        raise AssertionError("segd did not become healthy")

    def stop(self, sig=signal.SIGTERM, timeout=30):
        if self.proc and self.proc.poll() is None:
            self.proc.send_signal(sig)
            self.proc.wait(timeout=timeout)
        return self.proc.returncode

    def kill(self):
        return self.stop(signal.SIGKILL)

    def post(self, lines, stream="weblog", tenant="acme", headers=None, **kw):
        body = b"".join(lines) if isinstance(lines, list) else lines
        h = {"Authorization": f"Bearer {TOKENS[tenant]}", "Content-Type": "application/x-ndjson", **(headers or {})}
        return requests.post(f"{self.url}/v1/streams/{stream}/records", data=body, headers=h, timeout=30, **kw)

    def tail(self, n, stream="weblog", tenant="acme"):
        return requests.get(f"{self.url}/v1/streams/{stream}/tail", params={"n": n},
                            headers={"Authorization": f"Bearer {TOKENS[tenant]}"}, timeout=10)

    def metrics(self):
        return requests.get(self.url + "/metrics", timeout=10).text

    def records(self, *parts):
        """Every record segcat finds under the data directory (or a part of it), as parsed JSON."""
        path = self.data.joinpath(*parts)
        if not path.exists():
            return []
        out = subprocess.run([str(BUILD / "segcat"), str(path)], capture_output=True, check=True, timeout=120).stdout
        return [json.loads(line) for line in out.splitlines()]

    def files(self, pattern):
        return sorted(self.data.glob(pattern))


@pytest.fixture
def segd(tmp_path):
    servers = []

    def make(extra=(), env=None, data_dir=None, start=True):
        server = Segd(tmp_path / f"segd{len(servers)}", extra, env, data_dir)
        servers.append(server)
        return server.start() if start else server

    yield make
    for server in servers:
        if server.proc and server.proc.poll() is None:
            server.kill()
