"""segd's configuration: flags, SEGD_* variables, the tenants file, defaults."""
import json
import os
import shutil
import socket
import subprocess
import time

import pytest
import requests

from conftest import BUILD, ROOT, free_port, weblog_lines

SEGD = str(BUILD / "segd")


def run_until_healthy(args, env, cwd, port):
    proc = subprocess.Popen([SEGD, *args], stdout=subprocess.PIPE, stderr=subprocess.STDOUT, env={**os.environ, **env}, cwd=cwd)
    deadline = time.time() + 30
    while time.time() < deadline:
        assert proc.poll() is None, proc.stdout.read().decode()
        try:
            requests.get(f"http://127.0.0.1:{port}/health", timeout=1)
            return proc
        except requests.ConnectionError:
            time.sleep(0.05)
    raise AssertionError("not healthy")


@pytest.mark.parametrize("with_schemas_dir", [True, False])
def test_no_configuration_runs_on_defaults_and_prints_a_token(tmp_path, with_schemas_dir):
    """From the repository (./schemas) and from an empty directory (the embedded example stream)."""
    with socket.socket() as s:
        if s.connect_ex(("127.0.0.1", 3000)) == 0:
            pytest.skip("port 3000, the default, is taken on this machine")
    if with_schemas_dir:
        shutil.copytree(ROOT / "schemas", tmp_path / "schemas")
    env = {k: v for k, v in os.environ.items() if not k.startswith("SEGD_")}
    proc = subprocess.Popen([SEGD], stdout=subprocess.PIPE, stderr=subprocess.STDOUT, env={**env, "SEGD_HOST": "127.0.0.1"}, cwd=tmp_path)
    try:
        token = None
        deadline = time.time() + 30
        while token is None and time.time() < deadline:
            line = json.loads(proc.stdout.readline())  # logs are JSON lines on stdout
            token = line.get("token")
        assert token, "a random token is printed once at startup"
        seen = []
        while not seen or "segd listening" not in seen[-1]:
            seen.append(proc.stdout.readline().decode())
            assert time.time() < deadline and proc.poll() is None, seen
        r = requests.post("http://127.0.0.1:3000/v1/streams/weblog/records", data=b"".join(weblog_lines()[:5]),
                          headers={"Authorization": f"Bearer {token}", "Content-Type": "application/x-ndjson"})
        assert r.json() == {"accepted": 5}
    finally:
        proc.terminate()
        assert proc.wait(timeout=30) == 0
    assert list((tmp_path / "data" / "default" / "weblog" / "rotated").glob("weblog-*.seg"))


def test_flags_win_over_environment_variables(tmp_path):
    port, other = free_port(), free_port()
    env = {"SEGD_PORT": str(other), "SEGD_HOST": "127.0.0.1", "SEGD_DATA_DIR": str(tmp_path / "env-data"),
           "SEGD_SCHEMAS_DIR": str(ROOT / "schemas"), "SEGD_TOKEN": "tok", "SEGD_MAX_BODY": "1KiB"}
    proc = run_until_healthy(["--port", str(port), "--max-body", "100KiB"], env, tmp_path, port)
    try:
        r = requests.post(f"http://127.0.0.1:{port}/v1/streams/weblog/records", data=b"".join(weblog_lines()[:20]),
                          headers={"Authorization": "Bearer tok", "Content-Type": "application/x-ndjson"})
        assert r.status_code == 200, "--max-body 100KiB wins over SEGD_MAX_BODY=1KiB"
        r = requests.post(f"http://127.0.0.1:{port}/v1/streams/weblog/records", data=b"".join(weblog_lines()),
                          headers={"Authorization": "Bearer tok", "Content-Type": "application/x-ndjson"})
        assert r.status_code == 413
    finally:
        proc.terminate()
        assert proc.wait(timeout=30) == 0
    assert (tmp_path / "env-data" / "default").is_dir(), "SEGD_DATA_DIR applies when no flag is given"


def test_the_example_tenants_file_loads(tmp_path):
    port = free_port()
    proc = run_until_healthy(["--port", str(port), "--host", "127.0.0.1", "--tenants", str(ROOT / "docs" / "examples" / "tenants.json"),
                              "--schemas-dir", str(ROOT / "schemas"), "--data-dir", str(tmp_path / "d"),
                              "--log-file", str(tmp_path / "segd.log")], {}, tmp_path, port)
    try:
        url = f"http://127.0.0.1:{port}/v1/streams/weblog/records"
        headers = {"Content-Type": "application/x-ndjson"}
        assert requests.post(url, data=weblog_lines()[0], headers={**headers, "Authorization": "Bearer test"}).status_code == 200
        assert requests.post(url, data=weblog_lines()[0], headers={**headers, "Authorization": "Bearer test2"}).status_code == 200
    finally:
        proc.terminate()
        proc.wait(timeout=30)
    logged = [json.loads(line)["message"] for line in (tmp_path / "segd.log").read_text().splitlines()]
    assert "segd listening" in logged and "segd stopped cleanly" in logged
    if shutil.which("check-jsonschema"):
        subprocess.run(["check-jsonschema", "--schemafile", str(ROOT / "schemas" / "tenants.schema.json"),
                        str(ROOT / "docs" / "examples" / "tenants.json")], check=True, capture_output=True)


@pytest.mark.parametrize("content, message", [
    ({"tenants": {"Bad Name": {"tokens_sha256": ["0" * 64], "streams": "*", "records_per_second": 1}}}, "tenant name 'Bad Name' is invalid"),
    ({"tenants": {"a": {"tokens_sha256": ["secret"], "streams": "*", "records_per_second": 1}}}, "is not a SHA-256 hex digest"),
    ({"tenants": {"a": {"tokens_sha256": ["0" * 64], "records_per_second": 1}}}, 'missing "streams"'),
    ({"tenants": {"a": {"tokens_sha256": ["0" * 64], "streams": "all", "records_per_second": 1}}}, 'streams must be "*"'),
])
def test_a_bad_tenants_file_stops_startup_with_a_clear_error(tmp_path, content, message):
    path = tmp_path / "tenants.json"
    path.write_text(json.dumps(content))
    result = subprocess.run([SEGD, "--tenants", str(path), "--schemas-dir", str(ROOT / "schemas"), "--data-dir", str(tmp_path / "d"),
                             "--port", str(free_port())], capture_output=True, text=True, timeout=30)
    assert result.returncode == 2
    messages = [json.loads(line)["message"] for line in result.stdout.splitlines()]
    assert any(message in m for m in messages), messages


def test_bad_flags_are_usage_errors():
    for args, message in [(["--flush-interval", "soon"], "not a duration"), (["--max-body", "big"], "not a size"),
                          (["--port", "99999"], "not a port")]:
        result = subprocess.run([SEGD, *args], capture_output=True, text=True, timeout=30)
        assert result.returncode == 64 and message in result.stderr, result.stderr


def test_help_documents_every_flag_and_its_variable():
    text = subprocess.run([SEGD, "--help"], capture_output=True, text=True, check=True).stdout
    for flag in ["port", "host", "data-dir", "schemas-dir", "tenants", "hooks-dir", "node-id", "max-body", "flush-interval",
                 "segment-max-bytes", "rotate-interval", "shutdown-timeout"]:
        assert f"--{flag}" in text and "SEGD_" + flag.upper().replace("-", "_") in text.replace("\n", " ").replace("  ", " ")


def test_the_embedded_example_schema_is_the_shipped_one():
    source = (ROOT / "Sources" / "segd" / "Configuration" / "EmbeddedSchemas.swift").read_text()
    embedded = source.split('#"""\n', 1)[1].split('\n"""#', 1)[0]
    assert json.loads(embedded) == json.loads((ROOT / "schemas" / "weblog.schema.json").read_text())


@pytest.mark.parametrize("flag,value,range_text", [
    ("--max-body", "0", "use 1KiB to 1GiB"),
    ("--segment-max-bytes", "0", "use 1KiB to 64GiB"),
    ("--max-buffered-bytes", "0", "use 1MiB to 4294967295B"),
    ("--max-buffered-bytes", "5GiB", "use 1MiB to 4294967295B"),
    ("--hook-timeout", "0s", "use 100ms to 1d"),
    ("--flush-interval", "0s", "use 10ms to 1h"),
    ("--tail-bytes", "0", "use 64KiB to 1GiB"),
    ("--max-inflight-bytes", "1MiB", "use 16MiB (--max-body) to 64GiB"),
    ("--header-timeout", "0s", "use 100ms to 1h"),
    ("--idempotency-ttl", "0s", "use 1s to 30d"),
    ("--max-connections", "0", "use 1 to 1000000"),
    ("--block-rows", "0", "use 1 to 1048576"),
])
def test_sizes_and_durations_out_of_range_are_refused_at_start(tmp_path, flag, value, range_text):
    out = subprocess.run([SEGD, "--port", "0", "--data-dir", str(tmp_path / "data"), flag, value],
                         capture_output=True, text=True, timeout=30)
    assert out.returncode != 0 and flag in out.stderr and range_text in out.stderr, out.stderr
    assert not (tmp_path / "data").exists(), "refused before anything starts"


@pytest.mark.parametrize("field,value", [("burst", 9.3e18), ("burst", 0.5), ("records_per_second", 1e-300),
                                         ("records_per_second", 0), ("max_concurrent_requests", 0)])
def test_tenant_limits_that_would_trap_later_are_refused(tmp_path, field, value):
    tenants = {"tenants": {"t": {"tokens_sha256": ["a" * 64], "streams": "*", "records_per_second": 10, field: value}}}
    (tmp_path / "tenants.json").write_text(json.dumps(tenants))
    out = subprocess.run([SEGD, "--port", "0", "--data-dir", str(tmp_path / "data"), "--tenants", str(tmp_path / "tenants.json")],
                         capture_output=True, text=True, timeout=30)
    assert out.returncode == 2 and field in out.stdout and "out of range" in out.stdout, out.stdout[-2000:]
