"""Fixtures for the shipping tests: a moto S3 server on a loopback port, the real AWS CLI behind a
recording wrapper, and data directories laid out as segd leaves them."""
import calendar
import json
import os
import shutil
import signal
import socket
import subprocess
import time
import urllib.request
import uuid
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
TOOLS = ROOT / "tools"
WEBLOG_SCHEMA = ROOT / "schemas" / "weblog.schema.json"
WEBLOG = ROOT / "docs" / "examples" / "weblog.ndjson"
PREFIX = "archive"

# The segments of the standard data directory: (tenant, file name, first record, records, seconds apart).
# The second one spans midnight: it is filed under the hour of its first record.
SEGMENTS = [
    ("acme", "weblog-20261101T000000Z-n1-000001.seg", "2026-11-01T00:00:00Z", 200, 2),
    ("acme", "weblog-20261102T230000Z-n1-000002.seg", "2026-11-02T23:30:00Z", 300, 10),
    ("globex", "weblog-20261103T120000Z-n2-000001.seg", "2026-11-03T12:00:00Z", 100, 5),
]
KEYS = [
    f"{PREFIX}/acme/weblog/dt=2026-11-01/hour=00/weblog-20261101T000000Z-n1-000001.seg",
    f"{PREFIX}/acme/weblog/dt=2026-11-02/hour=23/weblog-20261102T230000Z-n1-000002.seg",
    f"{PREFIX}/globex/weblog/dt=2026-11-03/hour=12/weblog-20261103T120000Z-n2-000001.seg",
]

# In front of the real AWS CLI: records each call that reaches it, and on request stalls the first
# put-object (before or after the real upload) so a test can kill the run there, slows every
# put-object down, or uploads other bytes than asked.
AWS_WRAPPER = r"""#!/usr/bin/env bash
real=@REAL@
state=${FAKE_AWS_STATE:?}
if [[ " $* " == *" put-object "* ]]; then
  case "${FAKE_AWS_PUT:-}" in
    hang-before)
      if mkdir "$state/hung" 2>/dev/null; then sleep 600; exit 1; fi ;;
    hang-after)
      if mkdir "$state/hung" 2>/dev/null; then
        echo "$*" >>"$state/calls"
        "$real" "$@" >/dev/null
        touch "$state/uploaded"
        sleep 600
        exit 1
      fi ;;
    slow) sleep 1 ;;
    wrong-body)
      args=(); previous=
      for arg in "$@"; do
        [[ $previous == --body ]] && arg="$state/wrong-body"
        args+=("$arg"); previous=$arg
      done
      set -- "${args[@]}" ;;
  esac
fi
echo "$*" >>"$state/calls"
exec "$real" "$@"
"""


def free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def tool_missing():
    """Why the S3 tests cannot run here, or None (CI installs these with tools/deps-shipping)."""
    for name in ("aws", "moto_server"):
        if not shutil.which(name):
            return f"{name} is not installed (run tools/deps-shipping)"
    try:
        import botocore  # noqa: F401  (comes with the AWS CLI from PyPI)
    except ImportError:
        return "botocore is not installed (run tools/deps-shipping)"
    return None


class MotoServer:
    """moto_server on 127.0.0.1; `auth` makes it check credentials and signatures against its IAM
    users (none exist unless the first `free_actions` requests, which it does not check, make some)."""

    def __init__(self, workdir, auth=False, free_actions=0):
        self.port = free_port()
        self.url = f"http://127.0.0.1:{self.port}"
        env = {**os.environ}
        if auth:
            env["INITIAL_NO_AUTH_ACTION_COUNT"] = str(free_actions)
        self.log = Path(workdir) / f"moto-{self.port}.log"
        self.proc = subprocess.Popen(["moto_server", "-H", "127.0.0.1", "-p", str(self.port)], env=env,
                                     stdout=open(self.log, "wb"), stderr=subprocess.STDOUT, start_new_session=True)
        deadline = time.time() + 30
        while time.time() < deadline:
            assert self.proc.poll() is None, f"moto_server exited:\n{self.log.read_text()[-2000:]}"
            try:
                urllib.request.urlopen(self.url + "/moto-api/", timeout=1)
                return
            except OSError:
                time.sleep(0.1)
        raise AssertionError("moto_server did not start")

    def stop(self):
        if self.proc.poll() is None:
            os.killpg(self.proc.pid, signal.SIGTERM)
            self.proc.wait(timeout=10)


def build_segcat():
    """Builds segcat (debug, as tools/test does; a no-op when it is up to date) and returns its path."""
    build = subprocess.run(["swift", "build", "--product", "segcat", "--package-path", str(ROOT)], capture_output=True, text=True)
    if build.returncode != 0:
        pytest.fail(f"swift build failed:\n{(build.stdout + build.stderr)[-3000:]}")
    shown = subprocess.run(["swift", "build", "--show-bin-path", "--package-path", str(ROOT)], capture_output=True, text=True, check=True)
    return Path(shown.stdout.strip()) / "segcat"


@pytest.fixture(scope="session")
def segcat():
    """The segcat binary: SEGCAT as given, else the debug build, brought up to date first. Never
    a release build left from an earlier benchmark: it may predate the code under test."""
    if os.environ.get("SEGCAT"):
        return os.environ["SEGCAT"]
    return str(build_segcat())


@pytest.fixture(scope="session")
def moto(tmp_path_factory):
    reason = tool_missing()
    if reason:
        pytest.skip(reason)
    server = MotoServer(tmp_path_factory.mktemp("moto"))
    yield server
    server.stop()


@pytest.fixture(scope="session")
def moto_with_auth(tmp_path_factory):
    reason = tool_missing()
    if reason:
        pytest.skip(reason)
    server = MotoServer(tmp_path_factory.mktemp("moto-auth"), auth=True)
    yield server
    server.stop()


class S3:
    """The test's own view of moto (botocore), to create buckets and check what the tools did."""

    def __init__(self, endpoint):
        import botocore.session

        self.client = botocore.session.get_session().create_client(
            "s3", endpoint_url=endpoint, region_name="us-east-1", aws_access_key_id="testing",
            aws_secret_access_key="testing")

    def create_bucket(self, name):
        self.client.create_bucket(Bucket=name)

    def keys(self, bucket, prefix=""):
        pages = self.client.get_paginator("list_objects_v2").paginate(Bucket=bucket, Prefix=prefix)
        return sorted(o["Key"] for page in pages for o in page.get("Contents", []))

    def read(self, bucket, key):
        return self.client.get_object(Bucket=bucket, Key=key)["Body"].read()

    def modified(self, bucket, key):
        return self.client.head_object(Bucket=bucket, Key=key)["LastModified"]


class Shipping:
    """One test's world: a bucket, a data directory, the wrapped AWS CLI, and ways to run the tools."""

    def __init__(self, tmp_path, moto, segcat, bucket):
        self.tmp = tmp_path
        self.moto, self.segcat, self.bucket = moto, segcat, bucket
        self.s3 = S3(moto.url)
        self.data = tmp_path / "data"
        self.state = tmp_path / "aws-state"
        self.state.mkdir()
        (self.state / "wrong-body").write_bytes(b"not the segment\n")
        bin_dir = tmp_path / "bin"
        bin_dir.mkdir()
        wrapper = bin_dir / "aws"
        wrapper.write_text(AWS_WRAPPER.replace("@REAL@", shutil.which("aws")))
        wrapper.chmod(0o755)
        self.env = {k: v for k, v in os.environ.items() if not k.startswith(("AWS_", "SEG_", "SEGD_"))}
        self.env.update({
            "PATH": f"{bin_dir}:{os.environ['PATH']}",
            "AWS_ACCESS_KEY_ID": "testing", "AWS_SECRET_ACCESS_KEY": "testing", "AWS_DEFAULT_REGION": "us-east-1",
            "AWS_ENDPOINT_URL": moto.url,
            # Nothing from this machine's own AWS setup, and no waiting for an instance metadata service.
            "AWS_CONFIG_FILE": str(tmp_path / "no-aws-config"), "AWS_SHARED_CREDENTIALS_FILE": str(tmp_path / "no-aws-credentials"),
            "AWS_EC2_METADATA_DISABLED": "true",
            "FAKE_AWS_STATE": str(self.state), "SEGCAT": segcat, "SEG_BUCKET": bucket, "SEG_PREFIX": PREFIX,
        })

    # MARK: data

    def pack(self, path, first, count, step, schema=WEBLOG_SCHEMA, tenant="acme"):
        """Packs `count` weblog records, `step` seconds apart from `first`, into a segment at `path`."""
        lines = WEBLOG.read_text().splitlines()
        start = calendar.timegm(time.strptime(first, "%Y-%m-%dT%H:%M:%SZ"))
        records = []
        for i in range(count):
            record = json.loads(lines[i % len(lines)])
            record["ts"] = time.strftime("%Y-%m-%dT%H:%M:%S", time.gmtime(start + i * step)) + f".{i % 1000:03d}Z"
            records.append(json.dumps(record))
        source = self.tmp / (path.name + ".ndjson")
        source.write_text("\n".join(records) + "\n")
        path.parent.mkdir(parents=True, exist_ok=True)
        subprocess.run([self.segcat, "pack", "--schema", str(schema), "--tenant", tenant, "--node", "n1", "-o", str(path),
                        str(source)], check=True, capture_output=True)
        return path

    def stream_dir(self, tenant, stream="weblog"):
        return self.data / tenant / stream

    def populate(self):
        """The standard data directory: SEGMENTS sealed in rotated/, and what segd keeps beside them
        (active segment, log, checkpoint, hook journal), none of which may be shipped."""
        paths = []
        for tenant, name, first, count, step in SEGMENTS:
            paths.append(self.pack(self.stream_dir(tenant) / "rotated" / name, first, count, step, tenant=tenant))
        for tenant in ("acme", "globex"):
            stream = self.stream_dir(tenant)
            (stream / "active").mkdir()
            (stream / "active" / "weblog-20261125T070000Z-n1-000009.seg").write_bytes(b"SEG1 still being written")
            (stream / "wal").mkdir()
            (stream / "wal" / "00000001.wal").write_bytes(b"log")
            (stream / "checkpoint").write_bytes(b"checkpoint")
        (self.data / ".hooks").mkdir()
        return paths

    def rotated(self, tenant="acme"):
        return sorted(p.name for p in (self.stream_dir(tenant) / "rotated").glob("*.seg"))

    def shipped(self, tenant="acme"):
        return sorted(p.name for p in (self.stream_dir(tenant) / "shipped").glob("*.seg"))

    def all_rotated(self):
        return sorted(p.name for p in self.data.glob("*/*/rotated/*.seg"))

    def all_shipped(self):
        return sorted(p.name for p in self.data.glob("*/*/shipped/*.seg"))

    # MARK: running the tools

    def ship_command(self, *args):
        return [str(TOOLS / "ship-segments"), "--data-dir", str(self.data), *args]

    def ship(self, *args, env=None):
        return subprocess.run(self.ship_command(*args), env={**self.env, **(env or {})}, capture_output=True, text=True,
                              timeout=120)

    def start_ship(self, *args, env=None):
        """ship-segments in its own process group, so the test can kill it and its AWS CLI at once."""
        return subprocess.Popen(self.ship_command(*args), env={**self.env, **(env or {})}, stdout=subprocess.PIPE,
                                stderr=subprocess.PIPE, text=True, start_new_session=True)

    def pull(self, *args):
        return subprocess.run([str(TOOLS / "pull-segments"), *args], env=self.env, capture_output=True, text=True,
                              timeout=120)

    def wait_for(self, name, timeout=60):
        deadline = time.time() + timeout
        while not (self.state / name).exists():
            assert time.time() < deadline, f"the AWS CLI wrapper never reached '{name}'"
            time.sleep(0.05)

    def puts(self):
        """The put-object calls that reached the real AWS CLI."""
        calls = self.state / "calls"
        return [line for line in calls.read_text().splitlines() if " put-object " in f" {line} "] if calls.exists() else []

    def records(self, *paths, since=None, until=None):
        """segcat's NDJSON over paths, sorted (segments are read in path order, which differs between
        a data directory and a pulled archive)."""
        args = [self.segcat, *map(str, paths)]
        if since:
            args += ["--since", since]
        if until:
            args += ["--until", until]
        result = subprocess.run(args, capture_output=True, text=True, check=True)
        return sorted(result.stdout.splitlines())


def new_world(directory, moto, segcat):
    bucket = f"segments-{uuid.uuid4().hex[:12]}"
    world = Shipping(directory, moto, segcat, bucket)
    world.s3.create_bucket(bucket)
    return world


@pytest.fixture
def shipping(tmp_path, moto, segcat):
    """A fresh bucket and an empty data directory."""
    return new_world(tmp_path, moto, segcat)


@pytest.fixture(scope="module")
def archive(tmp_path_factory, moto, segcat):
    """The standard data directory, copied aside as it was (`before`), then shipped; shared by a
    module's tests, which only read it."""
    world = new_world(tmp_path_factory.mktemp("archive"), moto, segcat)
    world.populate()
    world.before = world.tmp / "before"
    shutil.copytree(world.data, world.before)
    result = world.ship()
    assert result.returncode == 0, result.stderr
    return world


def kill_group(process):
    os.killpg(process.pid, signal.SIGKILL)
    process.wait(timeout=10)
