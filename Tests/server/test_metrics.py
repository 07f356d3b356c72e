"""/metrics shows tenants and their volumes: loopback clients only, or a bearer token."""
import os
import shutil
import subprocess

import pytest
import requests


@pytest.fixture
def remote_host():
    """A test host of our own: a network namespace joined to this one by a veth pair, so that a
    client there reaches segd from a non-loopback address (10.254.<n>.2 -> 10.254.<n>.1)."""
    if not shutil.which("ip") or os.geteuid() != 0:
        pytest.skip("network namespaces need iproute2 and root")
    n = os.getpid() % 250
    ns, host_if, ns_if = f"segd-test-{n}", f"sgh{n}", f"sgn{n}"

    def ip(*args):
        return subprocess.run(["ip", *args], capture_output=True, text=True)

    if ip("netns", "add", ns).returncode != 0:
        pytest.skip("cannot create a network namespace here")
    try:
        steps = [("link", "add", host_if, "type", "veth", "peer", "name", ns_if), ("link", "set", ns_if, "netns", ns),
                 ("addr", "add", f"10.254.{n}.1/30", "dev", host_if), ("link", "set", host_if, "up"),
                 ("netns", "exec", ns, "ip", "addr", "add", f"10.254.{n}.2/30", "dev", ns_if),
                 ("netns", "exec", ns, "ip", "link", "set", ns_if, "up")]
        for step in steps:
            result = ip(*step)
            if result.returncode != 0:
                pytest.skip(f"ip {' '.join(step)}: {result.stderr.strip()}")
        yield ns, f"10.254.{n}.1"
    finally:
        ip("link", "del", host_if)
        ip("netns", "del", ns)


def fetch_from(ns, url, token=None):
    script = ("import sys, urllib.request, urllib.error\n"
              "req = urllib.request.Request(sys.argv[1])\n"
              "if len(sys.argv) > 2: req.add_header('Authorization', 'Bearer ' + sys.argv[2])\n"
              "try: print(urllib.request.urlopen(req, timeout=5).status)\n"
              "except urllib.error.HTTPError as e: print(e.code)\n")
    out = subprocess.run(["ip", "netns", "exec", ns, "python3", "-c", script, url, *([token] if token else [])],
                         capture_output=True, text=True, timeout=30)
    return int(out.stdout.strip() or 0), out.stderr


def test_without_a_token_metrics_answer_loopback_clients_only(segd, remote_host):
    ns, address = remote_host
    server = segd(["--host", "0.0.0.0"])
    assert requests.get(server.url + "/metrics").status_code == 200, "loopback"
    code, err = fetch_from(ns, f"http://{address}:{server.port}/metrics")
    assert code == 403, err
    assert fetch_from(ns, f"http://{address}:{server.port}/health")[0] == 200, "the rest of the API is served"


def test_with_a_token_metrics_need_it_from_everyone(segd, remote_host):
    ns, address = remote_host
    server = segd(["--host", "0.0.0.0", "--metrics-token", "scrape-me"])
    assert requests.get(server.url + "/metrics").status_code == 401
    assert requests.get(server.url + "/metrics", headers={"Authorization": "Bearer wrong"}).status_code == 401
    r = requests.get(server.url + "/metrics", headers={"Authorization": "Bearer scrape-me"})
    assert r.status_code == 200 and "segd_" in r.text
    assert fetch_from(ns, f"http://{address}:{server.port}/metrics", "scrape-me")[0] == 200
    assert fetch_from(ns, f"http://{address}:{server.port}/metrics")[0] == 401
