"""elasticsearch-py's helpers.bulk against segd's Elasticsearch bulk API."""

from elasticsearch import Elasticsearch, helpers

from conftest import LIMITED_TOKEN, TOKEN, assert_exactly_once, ids, run_in_thread


def test_helpers_bulk_stores_every_document_once(segd):
    server = segd()
    # Basic authentication, the token as the password.
    es = Elasticsearch(server.url, basic_auth=("elastic", TOKEN), request_timeout=10)
    assert es.info()["version"]["number"].startswith("8.")
    expected = ids(500)
    ok, errors = helpers.bulk(es, ({"_index": "elasticsearch", "message": f"event {i}", "id": i} for i in expected), chunk_size=100)
    assert ok == 500 and errors == []
    assert server.stop() == 0
    rows = server.rows("elasticsearch")
    assert_exactly_once([r["id"] for r in rows], expected)
    assert all(r["@timestamp"] and r["message"].startswith("event ") for r in rows)


def test_helpers_bulk_resends_what_segd_refused_and_nothing_twice(segd):
    """503 for memory (segd's in-flight bound, which Elasticsearch's clients know as 429), then the
    tenant's rate: whole requests answered 429, and items of one stream answered 429 in a bulk
    whose other stream was stored. The helpers resend exactly what was refused (items only when
    they collect errors rather than raise on the first, as their documentation says)."""
    server = segd()
    es = Elasticsearch(server.url, api_key=("key-id", LIMITED_TOKEN), request_timeout=10)
    expected = ids(120)
    # Two streams per chunk of 30: the second stream's 15 items pass the rate of 20 records/s
    # only after a wait, so they are answered 429 while the first stream's are stored.
    actions = [{"_index": "elasticsearch" if k % 2 else "app", "timestamp": "2024-05-01T12:00:00Z", "id": i, "message": i}
               for k, i in enumerate(expected)]
    with server.inflight_held():
        client = run_in_thread(helpers.bulk, es, actions, chunk_size=30, max_retries=20, initial_backoff=0.5, max_backoff=2,
                               raise_on_error=False)
        server.await_refusal("limited")
    client.join(120)
    assert client.error is None and client.result == (120, []), client.error or client.result[1][:3]
    refused = server.rejections("limited")
    assert refused.get("inflight_bytes", 0) > 0 and refused.get("rate", 0) > 0, refused
    assert server.stop() == 0
    stored = [r["id"] for r in server.rows("elasticsearch", tenant="limited")] + [r["id"] for r in server.rows("app", tenant="limited")]
    assert_exactly_once(stored, expected)
