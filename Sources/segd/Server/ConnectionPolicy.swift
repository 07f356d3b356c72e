import NIOCore

/// How long a connection may take at each step, and how many connections the node keeps; from
/// `--header-timeout`, `--body-timeout`, `--idle-timeout` and `--max-connections`.
struct ConnectionPolicy: Sendable {
    /// From a connection's first byte (or its accept) until its request head is complete.
    var headerTimeout: TimeAmount = .seconds(10)
    /// Longest a request body may go without a byte arriving before it is answered 408.
    var bodyTimeout: TimeAmount = .seconds(30)
    /// Longest a keep-alive connection may wait for its next request.
    var idleTimeout: TimeAmount = .seconds(60)
    /// Connections served in full; past this, a connection may only ask `/health` (then closes).
    var maxConnections = 10_000
    /// Connections over `maxConnections` that are still accepted so that `/health` answers; past
    /// both, the listener stops accepting until one closes.
    var healthOnlyConnections = 64
    /// Header timeout of a health-only connection: it holds a scarce slot.
    var healthOnlyHeaderTimeout: TimeAmount = .seconds(2)
    /// After an early answer (the body not yet read), how long the rest of the body is read and
    /// dropped before the connection closes, so the client sees the answer instead of a reset
    /// (nginx's `lingering_time`); and the longest pause within it (`lingering_timeout`).
    var lingerTime: TimeAmount = .seconds(30)
    var lingerPause: TimeAmount = .seconds(5)
}
