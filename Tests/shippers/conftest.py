"""Real log shippers and client libraries against a real segd on loopback (tools/deps-shippers
installs them). Each test sends records that carry unique ids, stops segd with SIGTERM, and counts
the ids with segcat: every record the client considers delivered must be stored exactly once."""
import collections
import contextlib
import hashlib
import json
import os
import re
import signal
import socket
import subprocess
import threading
import time
import uuid
from pathlib import Path

import pytest
import requests

ROOT = Path(__file__).resolve().parents[2]
BUILD = Path(os.environ.get("SEGD_BUILD", ROOT / ".build" / "debug"))
SHIPPERS = ROOT / ".build" / "shippers"

TOKEN = "ship-token"
LIMITED_TOKEN = "limited-token"
# The limited tenant's rate: a client sending more than this at once meets 429 with Retry-After.
LIMITED_RATE = 20


def sha(token):
    return hashlib.sha256(token.encode()).hexdigest()


TENANTS = {"tenants": {
    "ship": {"tokens_sha256": [sha(TOKEN)], "streams": "*", "records_per_second": 1000000, "burst": 2000000},
    "limited": {"tokens_sha256": [sha(LIMITED_TOKEN)], "streams": "*", "records_per_second": LIMITED_RATE, "burst": LIMITED_RATE},
}}

# A stream for clients that post their own JSON records (winston, syslog-ng's http()).
APP_SCHEMA = {
    "$id": "app", "type": "object",
    "properties": {"timestamp": {"type": "string", "format": "date-time"}, "id": {"type": "string"},
                   "level": {"type": ["string", "null"]}, "message": {"type": ["string", "null"]}},
    "required": ["timestamp", "id"], "additionalProperties": True,
    "x-segment": {"timestamp": "timestamp", "default-offset": "Z"},
}

# Requests above this many bytes are refused with 413: every client's batches fit.
MAX_BODY = 256 * 1024


def free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def ids(n, prefix="r"):
    run = uuid.uuid4().hex[:8]
    return [f"{prefix}-{run}-{i:05d}" for i in range(n)]


def wait_for(predicate, timeout=30, what="condition", interval=0.05):
    deadline = time.time() + timeout
    while time.time() < deadline:
        if predicate():
            return
        time.sleep(interval)
    raise AssertionError(f"timed out waiting for {what}")


class Segd:
    """One segd over a data directory, with the shippers' tenants, streams and syslog listener."""

    def __init__(self, workdir, extra=(), syslog_tls=None, syslog_tenant="ship"):
        self.workdir = Path(workdir)
        self.workdir.mkdir(parents=True, exist_ok=True)
        self.data = self.workdir / "data"
        schemas = self.workdir / "schemas"
        schemas.mkdir(exist_ok=True)
        (schemas / "app.schema.json").write_text(json.dumps(APP_SCHEMA))
        tenants = self.workdir / "tenants.json"
        tenants.write_text(json.dumps(TENANTS))
        self.port = free_port()
        self.syslog_port = free_port()
        self.url = f"http://127.0.0.1:{self.port}"
        self.log = self.workdir / "segd.log"
        self.args = [str(BUILD / "segd"), "--host", "127.0.0.1", "--port", str(self.port), "--data-dir", str(self.data),
                     "--schemas-dir", str(schemas), "--tenants", str(tenants), "--flush-interval", "200ms",
                     "--max-body", str(MAX_BODY), "--max-inflight-bytes", str(MAX_BODY),
                     "--syslog-port", str(self.syslog_port), "--syslog-tenant", syslog_tenant, *extra]
        if syslog_tls:
            self.args += ["--syslog-tls-cert", str(syslog_tls[0]), "--syslog-tls-key", str(syslog_tls[1])]
        self.proc = None

    def start(self):
        self.proc = subprocess.Popen(self.args, stdout=open(self.log, "ab"), stderr=subprocess.STDOUT)
        deadline = time.time() + 30
        while time.time() < deadline:
            assert self.proc.poll() is None, f"segd exited {self.proc.returncode}:\n{self.log.read_text()[-3000:]}"
            try:
                if requests.get(self.url + "/health", timeout=1).status_code == 200 and "syslog listening" in self.log.read_text():
                    return self
            except requests.ConnectionError:
                pass
            time.sleep(0.05)
        raise AssertionError("segd did not become healthy")

    def stop(self, timeout=30):
        if self.proc and self.proc.poll() is None:
            self.proc.send_signal(signal.SIGTERM)
            self.proc.wait(timeout=timeout)
        return self.proc.returncode

    def rows(self, stream, tenant="ship"):
        path = self.data / tenant / stream
        if not path.exists():
            return []
        out = subprocess.run([str(BUILD / "segcat"), str(path)], capture_output=True, check=True, timeout=120).stdout
        return [json.loads(line) for line in out.splitlines()]

    def rows_now(self, stream, tenant="ship"):
        """Records already acknowledged, before shutdown: the stream's tail."""
        r = requests.get(f"{self.url}/v1/streams/{stream}/tail", params={"n": 10000},
                         headers={"Authorization": f"Bearer {TOKEN if tenant == 'ship' else LIMITED_TOKEN}"}, timeout=10)
        return [json.loads(line) for line in r.text.splitlines()] if r.status_code == 200 else []

    def rejections(self, tenant):
        """segd's count of refusals of the tenant's requests, by reason (rate, inflight_bytes, ...)."""
        text = requests.get(self.url + "/metrics", timeout=10).text
        found = {}
        for m in re.finditer(r'segd_requests_rejected_total\{tenant="([^"]+)",reason="([^"]+)"\} (\d+)', text):
            if m.group(1) == tenant:
                found[m.group(2)] = int(m.group(3))
        return found

    def await_refusal(self, tenant, reason="inflight_bytes", timeout=60):
        """Waits until segd has refused the tenant's requests for `reason` at least once (a
        client under load may take a while to send its first request)."""
        wait_for(lambda: self.rejections(tenant).get(reason, 0) > 0, timeout=timeout, what=f"a refusal for {reason}")

    @contextlib.contextmanager
    def inflight_held(self):
        """Holds the node's whole in-flight byte bound with an upload that sends its headers and
        no body: while it lasts every request with a body is answered 503 with Retry-After, as a
        node under memory pressure answers. Closing the upload frees the bound. (When a client's
        request holds a few bytes at that moment, the upload is refused and tried again.)"""
        probe = lambda: requests.post(self.url + "/v1/streams/app/records", data=b"{}\n", timeout=5,
                                      headers={"Authorization": f"Bearer {TOKEN}", "Content-Type": "application/x-ndjson"}).status_code == 503
        deadline = time.time() + 30
        while True:
            s = socket.create_connection(("127.0.0.1", self.port))
            s.sendall((f"POST /v1/streams/app/records HTTP/1.1\r\nHost: x\r\nAuthorization: Bearer {TOKEN}\r\n"
                       f"Content-Type: application/x-ndjson\r\nContent-Length: {MAX_BODY}\r\n\r\n").encode())
            s.settimeout(0.3)
            try:
                refused = bool(s.recv(1))
            except socket.timeout:
                refused = False
            if not refused and probe():
                break
            s.close()
            assert time.time() < deadline, "the in-flight bound could not be held"
        try:
            yield
        finally:
            s.close()
            wait_for(lambda: not probe(), what="the in-flight bound to be freed")


class FollowingDaemon:
    """A shipper daemon (syslog-ng, rsyslog) in the foreground, following an input file that the
    test appends ids to. `config(input_path, directory)` writes its configuration text;
    `command(config_path, directory)` is how to start it."""

    def __init__(self, directory, config, command, startup=0.5):
        self.dir = directory
        self.dir.mkdir(parents=True)
        self.input = self.dir / "input.log"
        self.input.write_text("")
        conf = self.dir / "daemon.conf"
        conf.write_text(config(self.input, self.dir))
        self.log = self.dir / "daemon.out"
        self.proc = subprocess.Popen(command(conf, self.dir), stdout=open(self.log, "wb"), stderr=subprocess.STDOUT)
        time.sleep(startup)
        assert self.proc.poll() is None, self.log.read_text()

    def write(self, lines):
        with open(self.input, "a") as f:
            f.write("".join(f"{line}\n" for line in lines))

    def stop(self):
        if self.proc.poll() is None:
            self.proc.send_signal(signal.SIGTERM)
            self.proc.wait(timeout=30)


def assert_exactly_once(stored_ids, expected):
    counts = collections.Counter(stored_ids)
    missing = [i for i in expected if counts[i] == 0]
    doubled = {i: n for i, n in counts.items() if n > 1}
    unexpected = [i for i in counts if i not in set(expected)]
    assert not missing and not doubled and not unexpected, \
        f"{len(missing)} missing (e.g. {missing[:3]}), {len(doubled)} stored twice (e.g. {list(doubled.items())[:3]}), {len(unexpected)} unexpected"


def id_in(text):
    m = re.search(r"r-[0-9a-f]{8}-\d{5}", text or "")
    return m.group(0) if m else None


@pytest.fixture
def segd(tmp_path):
    servers = []

    def make(**kw):
        server = Segd(tmp_path / f"segd{len(servers)}", **kw)
        servers.append(server)
        return server.start()

    yield make
    for server in servers:
        if server.proc and server.proc.poll() is None:
            server.proc.kill()
            server.proc.wait()


def run_in_thread(fn, *args, **kw):
    """Runs a blocking client in a thread; the returned thread's .result or .error is set."""
    t = threading.Thread(target=lambda: _capture(t, fn, *args, **kw), daemon=True)
    t.result = t.error = None
    t.start()
    return t


def _capture(t, fn, *args, **kw):
    try:
        t.result = fn(*args, **kw)
    except BaseException as e:  # reported by the test
        t.error = e
