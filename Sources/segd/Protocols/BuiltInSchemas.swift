/// The stream schemas built into segd, one per protocol whose records have a fixed shape:
/// copies of `schemas/<name>.schema.json` (checked equal by the tests), so that every protocol
/// works with no configuration. A schema of the same name in `--schemas-dir` overrides one.
enum BuiltInSchemas {
    /// Each built-in schema's JSON text, by stream name.
    static let texts: [(name: String, text: String)] = [
        ("otel", otel),
        ("loki", loki),
        ("hec", hec),
        ("syslog", syslog),
        ("elasticsearch", elasticsearch),
    ]

    static let otel = #"""
{
  "$schema": "https://json-schema.org/draft/2020-12/schema",
  "$id": "otel",
  "title": "OpenTelemetry log records",
  "description": "Built into segd: what POST /v1/logs (OTLP/HTTP, protobuf or JSON) stores when no X-Segd-Stream header names another stream. One row per log record.",
  "type": "object",
  "properties": {
    "time": {"type": "string", "format": "date-time", "description": "time_unix_nano; else observed_time_unix_nano; else when segd received the record"},
    "observed_time": {"type": ["string", "null"], "format": "date-time", "description": "observed_time_unix_nano (null when 0)"},
    "severity_number": {"type": ["integer", "null"], "description": "1 (TRACE) to 24 (FATAL4); null when unspecified"},
    "severity_text": {"type": ["string", "null"]},
    "body": {"type": ["string", "null"], "description": "A string body as it is; any other body (number, map, array, bytes in base64) as its JSON text"},
    "trace_id": {"type": ["string", "null"], "description": "32 lower-case hex digits; null when absent or all zero"},
    "span_id": {"type": ["string", "null"], "description": "16 lower-case hex digits; null when absent or all zero"},
    "flags": {"type": ["integer", "null"], "description": "The record's flags (the low 8 bits are the W3C trace flags); null when 0"},
    "event_name": {"type": ["string", "null"]},
    "service_name": {"type": ["string", "null"], "description": "The resource's service.name attribute"},
    "resource": {"type": "object", "description": "The resource's attributes"},
    "scope": {"type": ["object", "null"], "description": "The instrumentation scope: {\"name\", \"version\", \"attributes\"}"},
    "attributes": {"type": "object", "description": "The record's attributes"}
  },
  "required": ["time", "resource", "attributes"],
  "additionalProperties": false,
  "x-segment": {"timestamp": "time", "timestamp-unit": "ns", "codec": "lz4"}
}
"""#

    static let loki = #"""
{
  "$schema": "https://json-schema.org/draft/2020-12/schema",
  "$id": "loki",
  "title": "Loki push entries",
  "description": "Built into segd: what POST /loki/api/v1/push (JSON, or protobuf with snappy) stores when no X-Segd-Stream header names another stream. One row per entry.",
  "type": "object",
  "properties": {
    "time": {"type": "string", "format": "date-time", "description": "The entry's timestamp"},
    "labels": {"type": "object", "description": "The labels of the entry's stream, such as {\"job\": \"app\"}"},
    "line": {"type": "string", "description": "The log line"},
    "metadata": {"type": "object", "description": "The entry's structured metadata ({} when none)"}
  },
  "required": ["time", "labels", "line"],
  "additionalProperties": false,
  "x-segment": {"timestamp": "time", "timestamp-unit": "ns", "codec": "lz4"}
}
"""#

    static let hec = #"""
{
  "$schema": "https://json-schema.org/draft/2020-12/schema",
  "$id": "hec",
  "title": "Splunk HTTP Event Collector events",
  "description": "Built into segd: what POST /services/collector (event and raw) stores for events that name no index. One row per event.",
  "type": "object",
  "properties": {
    "time": {"type": "string", "format": "date-time", "description": "The event's time; else the request's ?time=; else when segd received it"},
    "host": {"type": ["string", "null"]},
    "source": {"type": ["string", "null"]},
    "sourcetype": {"type": ["string", "null"]},
    "event": {"type": "string", "description": "A string event as it is; any other event (an object, a number) as its JSON text; a raw body's line"},
    "fields": {"type": ["object", "null"], "description": "The event's indexed fields"}
  },
  "required": ["time", "event"],
  "additionalProperties": false,
  "x-segment": {"timestamp": "time", "timestamp-unit": "s", "codec": "lz4"}
}
"""#

    static let syslog = #"""
{
  "$schema": "https://json-schema.org/draft/2020-12/schema",
  "$id": "syslog",
  "title": "Syslog messages",
  "description": "Built into segd: what the syslog listener (--syslog-port, RFC 5424 and RFC 3164 over TCP or TLS) stores, in the tenant named by --syslog-tenant. One row per message. RFC 3164 times are read at x-segment.default-offset.",
  "type": "object",
  "properties": {
    "time": {"type": "string", "format": "date-time", "description": "The message's timestamp; when it has none, when segd received it"},
    "received": {"type": "string", "format": "date-time", "description": "When segd read the message"},
    "facility": {"type": ["integer", "null"], "description": "PRI / 8 (0 kern, 1 user, ..., 16-23 local0-7)"},
    "severity": {"type": ["integer", "null"], "description": "PRI % 8 (0 emerg to 7 debug)"},
    "hostname": {"type": ["string", "null"]},
    "app_name": {"type": ["string", "null"], "description": "APP-NAME (RFC 5424) or TAG (RFC 3164)"},
    "proc_id": {"type": ["string", "null"]},
    "msg_id": {"type": ["string", "null"]},
    "structured_data": {"type": ["object", "null"], "description": "{\"SD-ID\": {\"param\": \"value\"}}; a parameter given twice is an array"},
    "message": {"type": ["string", "null"], "description": "MSG; for a message in neither format, the whole message"},
    "format": {"type": "string", "enum": ["rfc5424", "rfc3164", "unparsed"]},
    "peer": {"type": ["string", "null"], "description": "The sender's address"}
  },
  "required": ["time", "received", "format"],
  "additionalProperties": false,
  "x-segment": {"timestamp": "time", "default-offset": "Z", "codec": "lz4"}
}
"""#

    static let elasticsearch = #"""
{
  "$schema": "https://json-schema.org/draft/2020-12/schema",
  "$id": "elasticsearch",
  "title": "Elasticsearch documents",
  "description": "Built into segd: a stream for /_bulk clients that have no stream of their own (send to the index 'elasticsearch'). @timestamp takes what Elasticsearch's default date format takes: a date-time (without an offset it is UTC) or epoch milliseconds; a document without it gets the time segd received it. Every other field is kept.",
  "type": "object",
  "properties": {
    "@timestamp": {"type": "string", "format": "date-time"},
    "message": {"type": ["string", "null"]}
  },
  "required": ["@timestamp"],
  "additionalProperties": true,
  "x-segment": {"timestamp": "@timestamp", "timestamp-unit": "ms", "default-offset": "Z", "codec": "lz4"}
}
"""#
}
