"""One node per data directory, and tenant-level files that no stream name can collide with."""
import json
import subprocess

from conftest import BUILD, weblog_lines

LINES = weblog_lines()


def test_a_second_segd_on_the_same_data_directory_exits_2(segd):
    first = segd()
    second = subprocess.run([str(BUILD / "segd"), "--host", "127.0.0.1", "--port", "0", "--data-dir", str(first.data),
                             "--schemas-dir", str(first.schemas), "--tenants", str(first.tenants)],
                            capture_output=True, text=True, timeout=30)
    assert second.returncode == 2, second.stdout[-2000:]
    assert str(first.data) in second.stdout and f"pid {first.proc.pid}" in second.stdout, second.stdout[-2000:]
    assert first.post(LINES[:5]).status_code == 200
    assert first.stop() == 0


def test_a_stream_named_like_an_old_internal_file_works(segd):
    server = segd(start=False)
    schema = json.loads((server.schemas / "app.schema.json").read_text())
    schema["$id"] = "idempotency-keys"
    (server.schemas / "idempotency-keys.schema.json").write_text(json.dumps(schema))
    server.start()
    line = json.dumps({"ts": "2026-11-01T00:00:00Z", "n": 1}).encode() + b"\n"
    for key in ["a", "b"]:
        r = server.post([line], stream="idempotency-keys", tenant="globex", headers={"Idempotency-Key": key})
        assert r.status_code == 200, r.text
    assert server.stop() == 0
    server.start()
    r = server.post([line], stream="idempotency-keys", tenant="globex", headers={"Idempotency-Key": "c"})
    assert r.status_code == 200, r.text
    assert server.stop() == 0
    assert len(server.records("globex", "idempotency-keys")) == 3


def test_schemas_whose_name_would_collide_with_internal_files_are_refused(segd):
    server = segd(start=False)
    schema = json.loads((server.schemas / "app.schema.json").read_text())
    schema["$id"] = "_idempotency"
    (server.schemas / "bad.schema.json").write_text(json.dumps(schema))
    out = subprocess.run([str(BUILD / "segd"), "--port", "0", "--data-dir", str(server.data), "--schemas-dir", str(server.schemas)],
                         capture_output=True, text=True, timeout=30)
    assert out.returncode == 2 and "_idempotency" in out.stdout, out.stdout[-2000:]
