"""Raw HTTP/1.1 over sockets, for what real clients never send (and to watch timing)."""
import select
import socket
import time


def connect(server, timeout=10):
    s = socket.create_connection(("127.0.0.1", server.port), timeout=timeout)
    s.settimeout(timeout)
    return s


def read_response(s, timeout=10):
    """One response (head and a Content-Length body) or whatever came before the peer closed."""
    s.settimeout(timeout)
    data = b""
    while b"\r\n\r\n" not in data:
        chunk = s.recv(65536)
        if not chunk:
            return data
        data += chunk
    head, _, body = data.partition(b"\r\n\r\n")
    length = 0
    for line in head.split(b"\r\n")[1:]:
        name, _, value = line.partition(b":")
        if name.strip().lower() == b"content-length":
            length = int(value.strip())
    while len(body) < length:
        chunk = s.recv(65536)
        if not chunk:
            break
        body += chunk
    return head + b"\r\n\r\n" + body


def status(response):
    line = response.split(b"\r\n", 1)[0]
    return int(line.split()[1]) if line.startswith(b"HTTP/1.1 ") else None


def closed_within(s, seconds):
    """Seconds until the peer closed the connection (reading and dropping what it sends), or None."""
    started = time.time()
    s.settimeout(0.2)
    while time.time() - started < seconds:
        try:
            if not s.recv(65536):
                return time.time() - started
        except socket.timeout:
            continue
        except ConnectionResetError:
            return time.time() - started
    return None


def is_open(s):
    """Whether the peer has not closed the connection, without waiting."""
    readable, _, _ = select.select([s], [], [], 0)
    if not readable:
        return True
    try:
        return s.recv(1, socket.MSG_PEEK) != b""
    except (ConnectionResetError, BlockingIOError):
        return False


def post_head(stream="weblog", token="acme-token", headers=(), length=None):
    lines = [f"POST /v1/streams/{stream}/records HTTP/1.1", "Host: x", f"Authorization: Bearer {token}",
             "Content-Type: application/x-ndjson"]
    if length is not None:
        lines.append(f"Content-Length: {length}")
    lines.extend(headers)
    return ("\r\n".join(lines) + "\r\n\r\n").encode()
