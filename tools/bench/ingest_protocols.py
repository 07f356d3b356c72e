"""tools/bench/ingest --protocols: each protocol's records/s at 64 connections with 1,000-record
bodies, beside the NDJSON records route's in the same run (issue 11: none below half of it).

The same loghub records (../shared/data/loghub, the first 1,000 of each system) are sent as
NDJSON, an Elasticsearch bulk body (each system's records to its own stream), OTLP logs in
protobuf and in JSON, a Loki push in JSON and in snappy-compressed protobuf, Splunk HEC events,
and RFC 5424 syslog over TCP (64 connections streaming 1,000-message writes). The HTTP protocols
are driven by wrk (ingest-protocol.lua; a request counts when answered 2xx); syslog, which has no
answers, by counting what segd accepted (its Prometheus counter) over the run.
"""
import json
import os
import re
import socket
import statistics
import subprocess
import sys
import threading
import time
import urllib.request
from datetime import datetime
from pathlib import Path

HERE = Path(__file__).resolve().parent
LUA = HERE / "ingest-protocol.lua"


def loghub_records(shared):
    systems = {}
    for source in sorted((shared / "data" / "loghub").glob("*.ndjson")):
        lines = source.read_bytes().splitlines()[:1000]
        systems[source.stem.lower()] = [json.loads(line) for line in lines]
    return systems


def ns(ts):
    """Nanoseconds since the epoch of a loghub time (RFC 3339, UTC)."""
    return int(datetime.fromisoformat(ts.replace("Z", "+00:00")).timestamp() * 1_000_000) * 1000


def message(record):
    return str(record.get("content") or record.get("msg") or json.dumps(record))


def varint(n):
    out = bytearray()
    while True:
        b = n & 0x7F
        n >>= 7
        out.append(b | (0x80 if n else 0))
        if not n:
            return bytes(out)


def field(number, payload):
    return varint(number << 3 | 2) + varint(len(payload)) + payload


def bodies(work, systems):
    """Per protocol: a BODIES listing for wrk (or the syslog blobs), and its records per body."""
    import cramjam
    from google.protobuf import json_format
    from opentelemetry.proto.collector.logs.v1.logs_service_pb2 import ExportLogsServiceRequest

    out = {name: [] for name in ("ndjson", "elasticsearch", "otlp-protobuf", "otlp-json", "loki-json", "loki-protobuf", "hec")}
    syslog = []
    for system, records in systems.items():
        lines = [json.dumps(r, separators=(",", ":")).encode() for r in records]
        def write(name, data, path, ctype, scheme="Bearer"):
            f = work / f"{name}-{system}.body"
            f.write_bytes(data)
            out[name].append(f"{path}\t{f}\t{ctype}\t{scheme}")
        write("ndjson", b"".join(l + b"\n" for l in lines), f"/v1/streams/{system}/records", "application/x-ndjson")
        write("elasticsearch", b"".join(b'{"index":{"_index":"%s"}}\n' % system.encode() + l + b"\n" for l in lines), "/_bulk", "application/x-ndjson")
        request = ExportLogsServiceRequest()
        resource = request.resource_logs.add()
        attribute = resource.resource.attributes.add()
        attribute.key, attribute.value.string_value = "service.name", system
        scope = resource.scope_logs.add()
        for r in records:
            log = scope.log_records.add()
            log.time_unix_nano = ns(r["ts"])
            log.body.string_value = message(r)
            for key, value in r.items():
                if key not in ("ts", "content"):
                    a = log.attributes.add()
                    a.key = key
                    if isinstance(value, int):
                        a.value.int_value = value
                    else:
                        a.value.string_value = str(value)
        write("otlp-protobuf", request.SerializeToString(), "/v1/logs", "application/x-protobuf")
        write("otlp-json", json_format.MessageToJson(request, indent=None).encode(), "/v1/logs", "application/json")
        values = [[str(ns(r["ts"])), message(r)] for r in records]
        write("loki-json", json.dumps({"streams": [{"stream": {"job": system}, "values": values}]}).encode(), "/loki/api/v1/push", "application/json")
        entries = b"".join(field(2, field(1, varint(1 << 3) + varint(int(v[0]) // 10**9) + varint(2 << 3) + varint(int(v[0]) % 10**9))
                                  + field(2, v[1].encode())) for v in values)
        push = field(1, field(1, b'{job="%s"}' % system.encode()) + entries)
        write("loki-protobuf", bytes(cramjam.snappy.compress_raw(push)), "/loki/api/v1/push", "application/x-protobuf")
        events = b"".join(json.dumps({"time": ns(r["ts"]) / 1e9, "host": "bench", "sourcetype": system, "event": message(r)}).encode() for r in records)
        write("hec", events, "/services/collector/event", "application/json", scheme="Splunk")
        syslog.append(b"".join(b"<134>1 %s bench %s - - - %s\n" % (r["ts"].encode(), system.encode(), message(r).encode()) for r in records))
    listings = {}
    for name, rows in out.items():
        path = work / f"{name}.txt"
        path.write_text("\n".join(rows) + "\n")
        listings[name] = path
    return listings, syslog


def wrk(port, bodies_file, duration, token):
    env = {**os.environ, "BODIES": str(bodies_file), "TOKEN": token}
    run = subprocess.run(["wrk", "-t2", "-c64", f"-d{duration}s", "--timeout", "10s", "-s", str(LUA), f"http://127.0.0.1:{port}"],
                         capture_output=True, text=True, env=env, check=True).stdout
    m = re.search(r"RESULT (.*)", run)
    return {k: int(v) for k, v in (kv.split("=") for kv in m.group(1).split())}


def accepted(port, stream):
    text = urllib.request.urlopen(f"http://127.0.0.1:{port}/metrics", timeout=10).read().decode()
    return sum(int(float(m.group(1))) for m in re.finditer(r'segd_records_accepted_total\{tenant="default",stream="%s"\} ([0-9.e+]+)' % stream, text))


def syslog_load(port, syslog_port, blobs, duration):
    """64 connections writing 1,000-message blobs as fast as segd reads them."""
    start_count = accepted(port, "syslog")
    deadline = time.time() + duration
    def sender(k):
        with socket.create_connection(("127.0.0.1", syslog_port)) as s:
            blob = blobs[k % len(blobs)]
            while time.time() < deadline:
                s.sendall(blob)
    threads = [threading.Thread(target=sender, args=(k,)) for k in range(64)]
    started = time.time()
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    seconds = time.time() - started
    time.sleep(0.5)
    return (accepted(port, "syslog") - start_count) / seconds


def run(work, shared, start_segd, stop, free_port, duration, runs, token):
    """Medians of `runs` rounds; each round runs every protocol once, NDJSON first, each on a fresh
    segd, so that a noisy minute on a shared machine weighs on every protocol of its round."""
    listings, syslog = bodies(work, loghub_records(shared))
    names = ["ndjson", "elasticsearch", "otlp-protobuf", "otlp-json", "loki-json", "loki-protobuf", "hec", "syslog"]
    # SEGD_BENCH_PROTOCOLS=otlp-protobuf,syslog: only those (NDJSON, the baseline, always runs).
    chosen = [n for n in os.environ.get("SEGD_BENCH_PROTOCOLS", "").split(",") if n]
    if chosen:
        names = ["ndjson"] + [n for n in names[1:] if n in chosen]
    samples = {name: [] for name in names}
    for k in range(runs):
        for name in names:
            syslog_port = free_port()
            proc, port = start_segd(work, f"protocol-{name}-{k}", extra=("--syslog-port", str(syslog_port)))
            if name == "syslog":
                samples[name].append({"records_s": syslog_load(port, syslog_port, syslog, duration), "p50_ms": 0.0, "p99_ms": 0.0, "non2xx": 0})
            else:
                r = wrk(port, listings[name], duration, token)
                ok = r["requests"] - r["errors_status"]
                samples[name].append({"records_s": ok * 1000 / (r["duration_us"] / 1e6), "p50_ms": r["p50_us"] / 1000,
                                      "p99_ms": r["p99_us"] / 1000, "non2xx": r["errors_status"] + r["errors_other"]})
            stop(proc)
            print(f"  protocol {name} run {k}: {samples[name][-1]}", file=sys.stderr, flush=True)
    rows = [{"protocol": name, **{key: statistics.median(s[key] for s in samples[name]) for key in samples[name][0]}} for name in names]
    base = rows[0]["records_s"]
    print(f"\nprotocols at 64 connections, 1,000-record bodies, {duration} s per run, median of {runs}:\n")
    print("| protocol | records/s | vs NDJSON | p50 ms | p99 ms | non-2xx |")
    print("|---|---:|---:|---:|---:|---:|")
    for r in rows:
        latency = ("-", "-") if r["protocol"] == "syslog" else (f"{r['p50_ms']:.1f}", f"{r['p99_ms']:.1f}")
        print(f"| {r['protocol']} | {r['records_s']:,.0f} | {r['records_s'] / base:.2f}x | {latency[0]} | {latency[1]} | {r['non2xx']:.0f} |")
    worst = min(rows[1:], key=lambda r: r["records_s"])
    print(f"\nslowest protocol: {worst['protocol']} at {worst['records_s'] / base:.2f}x the NDJSON route (target >= 0.5x)")
    return rows
