"""rsyslog's omelasticsearch (Elasticsearch bulk) and omfwd (syslog over TCP) against segd. rsyslog
runs from its Debian package unpacked by tools/deps-shippers (it conflicts with syslog-ng)."""
import re

import pytest

from conftest import LIMITED_TOKEN, SHIPPERS, TOKEN, FollowingDaemon, assert_exactly_once, id_in, ids, wait_for

RSYSLOG = SHIPPERS / "rsyslog"
# The unpacked package's modules, under the machine's multiarch directory (usr/lib/<triplet>/rsyslog).
MODULES = next((RSYSLOG / "usr" / "lib").glob("*/rsyslog"), RSYSLOG / "usr" / "lib" / "rsyslog")

CONFIG = """global(workDirectory="{work}" maxMessageSize="64k")
module(load="imfile" mode="polling" PollingInterval="1")
module(load="omelasticsearch")
input(type="imfile" File="{input}" Tag="shipper:" Severity="info" Facility="local0" readTimeout="1" ruleset="ship")
template(name="es" type="list" option.json="on") {{
  constant(value="{{\\"message\\":\\"") property(name="msg")
  constant(value="\\",\\"host\\":\\"") property(name="hostname")
  constant(value="\\",\\"@timestamp\\":\\"") property(name="timereported" dateFormat="rfc3339")
  constant(value="\\"}}")
}}
ruleset(name="ship") {{
  {action}
}}
"""


def rsyslog(tmp_path, action):
    """rsyslogd in the foreground, reading ids from a file and acting on them with `action`."""
    def config(input, directory):
        (directory / "work").mkdir()
        return CONFIG.format(work=directory / "work", input=input, action=action)
    return FollowingDaemon(tmp_path / "rsyslog", config,
                           lambda conf, d: [str(RSYSLOG / "usr" / "sbin" / "rsyslogd"), "-n", "-f", str(conf), "-i", str(d / "pid"), "-M", str(MODULES)],
                           startup=1)


def elasticsearch_action(server, token, errorfile):
    """omelasticsearch as its documentation sets it up to resend what Elasticsearch refuses: items
    answered 429 come back to the ruleset (retryfailures), items answered 400 are given up, and a
    request refused whole is written to the error file."""
    return (f'if $.omes!status == 400 then stop\n'
            f'  action(type="omelasticsearch" server="127.0.0.1" serverport="{server.port}" searchIndex="elasticsearch" '
            f'template="es" bulkmode="on" maxbytes="16k" uid="rsyslog" pwd="{token}" retryfailures="on" retryruleset="ship" '
            f'errorfile="{errorfile}" action.resumeRetryCount="-1" action.resumeInterval="1" queue.type="linkedlist" '
            f'queue.dequeueBatchSize="10")')


def forward_action(server, framing):
    template = "RSYSLOG_SyslogProtocol23Format" if framing == "octet-counted" else "RSYSLOG_ForwardFormat"
    return (f'action(type="omfwd" target="127.0.0.1" port="{server.syslog_port}" protocol="tcp" template="{template}" '
            f'TCP_Framing="{framing}" action.resumeRetryCount="-1" action.resumeInterval="1")')


def run(server, tmp_path, action, expected, stream, tenant="ship", refusals=False, complete=lambda stored: stored):
    shipper = rsyslog(tmp_path, action)
    try:
        if refusals:
            with server.inflight_held():
                shipper.write(expected[:5])
                server.await_refusal(tenant)
            shipper.write(expected[5:])
        else:
            shipper.write(expected)
        wait_for(lambda: complete(len(server.rows_now(stream, tenant))) >= len(expected), timeout=90,
                 what=f"{len(expected)} records in {stream}")
        if refusals:
            refused = server.rejections(tenant)
            assert refused.get("inflight_bytes", 0) > 0 and refused.get("rate", 0) > 0, refused
    finally:
        shipper.stop()
    assert server.stop() == 0
    return server.rows(stream, tenant)


def test_omelasticsearch(segd, tmp_path):
    server = segd()
    expected = ids(300)
    rows = run(server, tmp_path, elasticsearch_action(server, TOKEN, tmp_path / "es-errors"), expected, "elasticsearch")
    assert_exactly_once([id_in(r["message"]) for r in rows], expected)
    assert all(r["@timestamp"] and r["host"] for r in rows)


def test_omelasticsearch_resends_refused_items_without_duplicates(segd, tmp_path):
    """Over the rate, segd answers every item 429 (and the request 429): rsyslog resends them.
    While the node is at its in-flight bound, a request is refused before its body is read, so
    without items: rsyslog gives those records up into its error file, as it does with
    Elasticsearch. Every record is stored once, or in the error file, never both."""
    server = segd()
    expected = ids(60)
    errors = tmp_path / "es-errors"
    rows = run(server, tmp_path, elasticsearch_action(server, LIMITED_TOKEN, errors), expected, "elasticsearch", tenant="limited",
               refusals=True, complete=lambda stored: stored + len(set(re.findall(r"r-[0-9a-f]{8}-\d{5}", errors.read_text() if errors.exists() else ""))))
    given_up = sorted(set(re.findall(r"r-[0-9a-f]{8}-\d{5}", errors.read_text()))) if errors.exists() else []
    stored = [id_in(r["message"]) for r in rows]
    assert not set(given_up) & set(stored)
    assert_exactly_once(stored, [i for i in expected if i not in set(given_up)])


@pytest.mark.parametrize("framing", ["octet-counted", "traditional"])
def test_omfwd(segd, tmp_path, framing):
    server = segd()
    expected = ids(300)
    rows = run(server, tmp_path, forward_action(server, framing), expected, "syslog")
    assert_exactly_once([id_in(r["message"]) for r in rows], expected)
    assert {r["format"] for r in rows} == {"rfc5424" if framing == "octet-counted" else "rfc3164"}
    assert all(r["app_name"] == "shipper" and r["facility"] == 16 and r["severity"] == 6 for r in rows)


def test_omfwd_waits_through_refusals(segd, tmp_path):
    server = segd(syslog_tenant="limited")
    expected = ids(60)
    rows = run(server, tmp_path, forward_action(server, "octet-counted"), expected, "syslog", tenant="limited", refusals=True)
    assert_exactly_once([id_in(r["message"]) for r in rows], expected)
