"""Loopback servers for the S3 query tests: a fault-injecting reverse proxy in front of moto, and
fake EC2 instance metadata (IMDSv2) and ECS container credential endpoints. Each records what it
was asked, so tests can check what segcat sent."""
import http.client
import http.server
import json
import socket
import struct
import threading
import time
import urllib.parse

SLOW_DOWN = (b'<?xml version="1.0" encoding="UTF-8"?>\n<Error><Code>SlowDown</Code>'
             b"<Message>Please reduce your request rate.</Message></Error>")
INTERNAL = b'<?xml version="1.0" encoding="UTF-8"?>\n<Error><Code>InternalError</Code><Message>We encountered an internal error.</Message></Error>'
# What S3 answers a request sent to the wrong region's endpoint.
REDIRECT = (b'<?xml version="1.0" encoding="UTF-8"?>\n<Error><Code>PermanentRedirect</Code><Message>The bucket you are '
            b"attempting to access must be addressed using the specified endpoint.</Message></Error>")


class _Server(http.server.ThreadingHTTPServer):
    daemon_threads = True
    allow_reuse_address = True


def _start(handler):
    server = _Server(("127.0.0.1", 0), handler)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    return server


class FaultProxy:
    """A reverse proxy on 127.0.0.1 in front of `upstream` (moto). Records every request (method,
    path, query, headers) and injects faults chosen by `plan(request, attempt)`, which gets the request
    record and how many times this same request (method, path, query, Range) was seen, and returns None
    (pass it on) or one of: "503" (SlowDown), "500", "slow" (answer after `delay` s), "reset" (close
    the connection with a TCP reset, no answer), "truncate" (send the head and half the body, then
    reset), "redirect" (301 PermanentRedirect naming region eu-west-1). `max_keys` rewrites the page
    size of listings, so small archives page too. Each record's `in_flight` is how many requests the
    proxy was handling when it arrived (itself included), which shows requests sent side by side."""

    def __init__(self, upstream, plan=None, delay=3.0, max_keys=None):
        self.upstream = urllib.parse.urlparse(upstream)
        self.plan = plan or (lambda request, attempt: None)
        self.delay = delay
        self.max_keys = max_keys
        self.requests = []
        self.faults = []
        self._seen = {}
        self._active = 0
        self._lock = threading.Lock()
        proxy = self

        class Handler(http.server.BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"

            def log_message(self, *args):
                pass

            def do_GET(self):
                with proxy._lock:
                    proxy._active += 1
                try:
                    proxy._handle(self)
                except OSError:
                    # The client gave up first (its timeout, after a "slow" answer).
                    self.close_connection = True
                finally:
                    with proxy._lock:
                        proxy._active -= 1

            do_PUT = do_HEAD = do_POST = do_DELETE = do_GET

        self.server = _start(Handler)
        self.url = f"http://127.0.0.1:{self.server.server_address[1]}"

    def stop(self):
        self.server.shutdown()
        self.server.server_close()

    def clear(self):
        with self._lock:
            self.requests.clear()
            self.faults.clear()

    def body_bytes(self, lists=None):
        """Body bytes of every answer passed on from upstream (only of listings, or only of the
        rest, when `lists` is True or False)."""
        return sum(r.get("bytes", 0) for r in self.requests if lists is None or ("list-type" in r["query"]) == lists)

    def lists(self):
        return [r for r in self.requests if "list-type" in r["query"]]

    def gets(self):
        return [r for r in self.requests if r["method"] == "GET" and "list-type" not in r["query"]]

    def _handle(self, h):
        parsed = urllib.parse.urlsplit(h.path)
        query = urllib.parse.parse_qs(parsed.query, keep_blank_values=True)
        length = int(h.headers.get("Content-Length") or 0)
        body = h.rfile.read(length) if length else b""
        record = {"raw": h.path, "method": h.command, "path": urllib.parse.unquote(parsed.path), "query": {k: v[0] for k, v in query.items()},
                  "headers": {k.lower(): v for k, v in h.headers.items()}}
        key = (h.command, parsed.path, parsed.query, record["headers"].get("range"))
        with self._lock:
            self._seen[key] = self._seen.get(key, 0) + 1
            attempt = self._seen[key]
            record["in_flight"] = self._active
            self.requests.append(record)
        fault = self.plan(record, attempt)
        if fault:
            with self._lock:
                self.faults.append(fault)
        target = h.path
        if self.max_keys and "list-type" in record["query"]:
            pairs = [(k, str(self.max_keys) if k == "max-keys" else v) for k, v in urllib.parse.parse_qsl(parsed.query, keep_blank_values=True)]
            target = parsed.path + "?" + urllib.parse.urlencode(pairs, quote_via=urllib.parse.quote)
        if fault == "reset":
            return self._reset(h)
        if fault in ("503", "500", "redirect"):
            status, payload = {"503": (503, SLOW_DOWN), "500": (500, INTERNAL), "redirect": (301, REDIRECT)}[fault]
            h.send_response(status)
            h.send_header("Content-Type", "application/xml")
            h.send_header("Content-Length", str(len(payload)))
            if fault == "redirect":
                h.send_header("x-amz-bucket-region", "eu-west-1")
            h.end_headers()
            h.wfile.write(payload)
            return
        if fault == "slow":
            time.sleep(self.delay)
        conn = http.client.HTTPConnection(self.upstream.hostname, self.upstream.port, timeout=60)
        conn.putrequest(h.command, target, skip_host=True, skip_accept_encoding=True)
        for name, value in h.headers.items():
            conn.putheader(name, value)
        conn.endheaders(body)
        response = conn.getresponse()
        payload = response.read()
        conn.close()
        try:
            h.send_response(response.status)
            for name, value in response.getheaders():
                if name.lower() not in ("transfer-encoding", "connection", "content-length", "date", "server"):
                    h.send_header(name, value)
            # A HEAD answer has no body but tells the length of the one a GET would get.
            h.send_header("Content-Length", response.getheader("Content-Length", "0") if h.command == "HEAD" else str(len(payload)))
            h.end_headers()
            if fault == "truncate" and len(payload) > 1:
                h.wfile.write(payload[: len(payload) // 2])
                h.wfile.flush()
                return self._reset(h)
            if h.command != "HEAD":
                h.wfile.write(payload)
                record["bytes"] = len(payload)
        except (BrokenPipeError, ConnectionResetError):
            h.close_connection = True

    @staticmethod
    def _reset(h):
        h.close_connection = True
        try:
            h.wfile.flush()
        except OSError:
            pass
        h.connection.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
        h.connection.close()


def first_attempts_fail(faults, only=None):
    """A plan: the first len(faults) attempts of every request (that `only` accepts) fail, the n-th
    attempt with faults[(n + index of the request) % len], so every kind of fault meets every kind of
    request; the next attempt passes."""
    order = {}

    def plan(request, attempt):
        if only and not only(request):
            return None
        key = (request["path"], tuple(sorted(request["query"].items())), request["headers"].get("range"))
        index = order.setdefault(key, len(order))
        return faults[(attempt - 1 + index) % len(faults)] if attempt <= len(faults) else None

    return plan


class FakeMetadata:
    """EC2 instance metadata with IMDSv2: PUT /latest/api/token for a session token, then the role and
    its credentials, each only with that token (401 without, as the real service answers)."""

    TOKEN = "imds-session-token-0123"

    def __init__(self, credentials, role="segcat-reader"):
        self.requests = []
        fake = self

        class Handler(http.server.BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"

            def log_message(self, *args):
                pass

            def answer(self, status, body):
                data = body.encode()
                self.send_response(status)
                self.send_header("Content-Length", str(len(data)))
                self.end_headers()
                self.wfile.write(data)

            def do_PUT(self):
                fake.requests.append(("PUT", self.path, dict(self.headers.items())))
                if self.path == "/latest/api/token" and self.headers.get("X-aws-ec2-metadata-token-ttl-seconds"):
                    return self.answer(200, FakeMetadata.TOKEN)
                self.answer(400, "")

            def do_GET(self):
                fake.requests.append(("GET", self.path, dict(self.headers.items())))
                if self.headers.get("X-aws-ec2-metadata-token") != FakeMetadata.TOKEN:
                    return self.answer(401, "")
                if self.path == "/latest/meta-data/iam/security-credentials/":
                    return self.answer(200, role)
                if self.path == f"/latest/meta-data/iam/security-credentials/{role}":
                    return self.answer(200, json.dumps({"Code": "Success", "Type": "AWS-HMAC", **credentials,
                                                        "Expiration": "2099-01-01T00:00:00Z"}))
                self.answer(404, "")

        self.server = _start(Handler)
        self.url = f"http://127.0.0.1:{self.server.server_address[1]}"

    def stop(self):
        self.server.shutdown()
        self.server.server_close()


class FakeContainerEndpoint:
    """The ECS container credentials endpoint: credentials JSON at /creds for the right
    Authorization token."""

    AUTHORIZATION = "container-token-42"

    def __init__(self, credentials):
        self.requests = []
        fake = self

        class Handler(http.server.BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"

            def log_message(self, *args):
                pass

            def do_GET(self):
                fake.requests.append((self.path, dict(self.headers.items())))
                ok = self.path == "/creds" and self.headers.get("Authorization") == FakeContainerEndpoint.AUTHORIZATION
                data = json.dumps({**credentials, "Expiration": "2099-01-01T00:00:00Z"}).encode() if ok else b""
                self.send_response(200 if ok else 403)
                self.send_header("Content-Length", str(len(data)))
                self.end_headers()
                self.wfile.write(data)

        self.server = _start(Handler)
        self.url = f"http://127.0.0.1:{self.server.server_address[1]}/creds"

    def stop(self):
        self.server.shutdown()
        self.server.server_close()
