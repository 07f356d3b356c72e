/// The unit of a stream's timestamp field when records carry it as a number since the epoch
/// (`x-segment.timestamp-unit`), as log shippers do: seconds (`1714564800.25`), milliseconds
/// (Elasticsearch's `epoch_millis`), microseconds or nanoseconds (OpenTelemetry, Loki).
public enum TimestampUnit: String, Sendable, CaseIterable {
    case seconds = "s"
    case milliseconds = "ms"
    case microseconds = "us"
    case nanoseconds = "ns"

    /// The power of ten that turns this unit into nanoseconds.
    public var nanosecondExponent: Int {
        switch self {
        case .seconds: 9
        case .milliseconds: 6
        case .microseconds: 3
        case .nanoseconds: 0
        }
    }
}
