/// The example stream `weblog` (a copy of `schemas/weblog.schema.json`, checked equal by the
/// tests), served when no schemas directory exists, so that segd runs with no configuration at all.
enum EmbeddedSchemas {
    static let weblog = #"""
{
  "$schema": "https://json-schema.org/draft/2020-12/schema",
  "$id": "weblog",
  "title": "Web server access log",
  "description": "One HTTP request served. The example stream: copy it to start your own.",
  "type": "object",
  "properties": {
    "ts": {"type": "string", "format": "date-time", "description": "When the request was received"},
    "host": {"type": "string"},
    "method": {"type": "string", "enum": ["GET", "HEAD", "POST", "PUT", "PATCH", "DELETE", "OPTIONS"]},
    "path": {"type": "string"},
    "status": {"type": "integer"},
    "bytes": {"type": "integer"},
    "duration_ms": {"type": "number"},
    "user_agent": {"type": ["string", "null"]},
    "cached": {"type": "boolean"},
    "headers": {"type": "object", "description": "Selected request headers, kept as JSON text"}
  },
  "required": ["ts", "method", "path", "status"],
  "additionalProperties": true,
  "x-segment": {"timestamp": "ts", "codec": "lz4"}
}
"""#
}
