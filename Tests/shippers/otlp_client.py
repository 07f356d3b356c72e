"""Sends log records through the OpenTelemetry SDK and one of its OTLP/HTTP exporters (run as a
program, so that the JSON exporter can run from its own virtual environment).

Usage: otlp_client.py protobuf|json ENDPOINT TOKEN ID...   (prints nothing; exits 0 once flushed)
"""
import logging
import sys

from opentelemetry.sdk._logs import LoggerProvider, LoggingHandler
from opentelemetry.sdk._logs.export import BatchLogRecordProcessor
from opentelemetry.sdk.resources import Resource


def exporter(kind, endpoint, token):
    headers = {"Authorization": f"Bearer {token}"}
    if kind == "json":
        from opentelemetry.exporter.otlp.json.http._log_exporter import OTLPLogExporter
    else:
        from opentelemetry.exporter.otlp.proto.http._log_exporter import OTLPLogExporter
    return OTLPLogExporter(endpoint=endpoint, headers=headers, timeout=30)


def main():
    kind, endpoint, token, *ids = sys.argv[1:]
    provider = LoggerProvider(resource=Resource.create({"service.name": "shipper-test", "test.kind": kind}))
    provider.add_log_record_processor(BatchLogRecordProcessor(exporter(kind, endpoint, token), max_export_batch_size=10,
                                                              schedule_delay_millis=100, export_timeout_millis=60000))
    log = logging.getLogger("shipper-test")
    log.setLevel(logging.INFO)
    log.addHandler(LoggingHandler(logger_provider=provider))
    for i in ids:
        log.warning(i, extra={"record.id": i})
    ok = provider.force_flush(timeout_millis=120000)
    provider.shutdown()
    sys.exit(0 if ok else 1)


if __name__ == "__main__":
    main()
