"""Open-loop HTTP load for tools/bench/ingest: requests leave on a fixed schedule whatever the
answers, and each latency is measured from the request's scheduled send time, so queueing in the
server (or in the driver waiting for a free connection) counts (no coordinated omission, which a
closed-loop driver like wrk has: it sends the next request only after an answer).

    from openloop import run
    result = run("127.0.0.1", port, bodies, token, rate=400, duration=10)

`bodies` is a list of (path, bytes) sent in turn. The result counts answers by status (goodput is
the 200s only) and gives latency percentiles over every request that was scheduled, with a
request that got no answer counted at the run's end. It also gives the driver's own lateness
(`late_*`: how long after its scheduled time a request's first byte was written, waiting for the
event loop or a free connection), so that a slow driver on a loaded machine is not taken for a
slow server; `server_latency` reads the server's own histogram for the other side.
"""
import asyncio
import time


def percentile(sorted_values, p):
    if not sorted_values:
        return 0.0
    index = min(len(sorted_values) - 1, max(0, int(round(p / 100 * len(sorted_values) + 0.5)) - 1))
    return sorted_values[index]


class Connection:
    """One keep-alive HTTP/1.1 connection that sends a request and reads its answer."""

    def __init__(self, host, port):
        self.host, self.port = host, port
        self.reader = self.writer = None

    async def request(self, head, body):
        if self.writer is None:
            self.reader, self.writer = await asyncio.open_connection(self.host, self.port)
        self.writer.write(head)
        self.writer.write(body)
        await self.writer.drain()
        status_line = await self.reader.readline()
        if not status_line:
            raise ConnectionError("closed")
        status = int(status_line.split()[1])
        length = 0
        close = False
        while True:
            line = await self.reader.readline()
            if line in (b"\r\n", b"\n", b""):
                break
            name, _, value = line.partition(b":")
            name = name.strip().lower()
            if name == b"content-length":
                length = int(value.strip())
            elif name == b"connection" and value.strip().lower() == b"close":
                close = True
        if length:
            await self.reader.readexactly(length)
        if close:
            self.close()
        return status

    def close(self):
        if self.writer is not None:
            self.writer.close()
        self.reader = self.writer = None


async def _run(host, port, bodies, token, rate, duration, max_connections):
    heads = [(f"POST {path} HTTP/1.1\r\nHost: {host}:{port}\r\nAuthorization: Bearer {token}\r\n"
              f"Content-Type: application/x-ndjson\r\nContent-Length: {len(body)}\r\n\r\n").encode() for path, body in bodies]
    idle = [Connection(host, port) for _ in range(min(max_connections, 64))]
    opened = len(idle)
    free = asyncio.Condition()
    statuses, errors, latencies, lateness = {}, 0, [], []
    loop = asyncio.get_running_loop()
    start = loop.time() + 0.05
    count = int(rate * duration)
    pending = set()

    async def one(i, scheduled):
        nonlocal opened, errors
        async with free:
            while not idle and opened >= max_connections:
                await free.wait()
            if idle:
                connection = idle.pop()
            else:
                connection = Connection(host, port)
                opened += 1
        k = i % len(bodies)
        lateness.append(loop.time() - scheduled)
        try:
            status = await connection.request(heads[k], bodies[k][1])
            statuses[str(status)] = statuses.get(str(status), 0) + 1
        except (OSError, ConnectionError, ValueError, asyncio.IncompleteReadError):
            errors += 1
            connection.close()
        latencies.append(loop.time() - scheduled)
        async with free:
            idle.append(connection)
            free.notify()

    for i in range(count):
        scheduled = start + i / rate
        delay = scheduled - loop.time()
        if delay > 0:
            await asyncio.sleep(delay)
        task = asyncio.ensure_future(one(i, scheduled))
        pending.add(task)
        task.add_done_callback(pending.discard)
    if pending:
        await asyncio.wait(pending, timeout=60)
    end = loop.time()
    unanswered = count - len(latencies)
    latencies += [end - (start + i / rate) for i in range(unanswered)]
    for connection in idle:
        connection.close()
    latencies.sort()
    lateness.sort()
    return {
        "scheduled": count, "rate": rate, "seconds": end - start, "statuses": statuses, "errors": errors + unanswered,
        "p50_ms": percentile(latencies, 50) * 1000, "p99_ms": percentile(latencies, 99) * 1000,
        "p999_ms": percentile(latencies, 99.9) * 1000, "max_ms": latencies[-1] * 1000 if latencies else 0.0,
        "late_p50_ms": percentile(lateness, 50) * 1000, "late_p99_ms": percentile(lateness, 99) * 1000,
    }


def server_latency(metrics_text, route="records", status="200"):
    """p50 and p99 (ms) of the server's own request durations, from a Prometheus histogram
    `segd_request_duration_seconds` in `metrics_text`: the upper bound of the bucket the
    percentile falls in (so at the bucket resolution: 10, 20, 50, 100 ms ...)."""
    buckets = []
    for line in metrics_text.splitlines():
        if not line.startswith("segd_request_duration_seconds_bucket{"):
            continue
        labels, value = line.rsplit(" ", 1)
        if f'route="{route}"' not in labels or f'status="{status}"' not in labels:
            continue
        le = labels.split('le="')[1].split('"')[0]
        buckets.append((float("inf") if le == "+Inf" else float(le), float(value)))
    buckets.sort()
    if not buckets or buckets[-1][1] == 0:
        return {"server_p50_ms": 0.0, "server_p99_ms": 0.0}
    total = buckets[-1][1]
    def bound(p):
        return next(le for le, count in buckets if count >= p / 100 * total) * 1000
    return {"server_p50_ms": bound(50), "server_p99_ms": bound(99)}


def run(host, port, bodies, token, rate, duration, max_connections=512):
    """Sends `rate` requests/s for `duration` s; see the module's doc."""
    return asyncio.run(_run(host, port, bodies, token, rate, duration, max_connections))


def fsync_p99_ms(directory, size=173_000, count=200):
    """The disk's own fsync latency: p99 of write(`size` bytes) + fsync, `count` times, in
    `directory` (the data directory's file system)."""
    import os
    import tempfile
    samples = []
    fd, path = tempfile.mkstemp(dir=directory, prefix=".fsync-probe-")
    try:
        block = os.urandom(size)
        for _ in range(count):
            os.write(fd, block)
            started = time.perf_counter()
            os.fsync(fd)
            samples.append(time.perf_counter() - started)
    finally:
        os.close(fd)
        os.unlink(path)
    samples.sort()
    return percentile(samples, 99) * 1000
