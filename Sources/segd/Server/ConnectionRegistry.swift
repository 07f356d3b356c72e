import HummingbirdCore
import Metrics
import NIOConcurrencyHelpers
import NIOCore

/// Every open client connection of the node: counts them against `--max-connections` (deciding
/// whether a new one is served in full or may only ask `/health`), and reaches them all at
/// shutdown to cut off uploads that are still arriving. Thread-safe.
final class ConnectionRegistry: Sendable {
    /// How a new connection is served.
    enum Admission: Sendable {
        case full
        /// Over the cap: `/health` only, one request, short header timeout.
        case healthOnly
    }

    private struct State {
        var channels: [ObjectIdentifier: any Channel] = [:]
        var full = 0
        var healthOnly = 0
    }

    let policy: ConnectionPolicy
    private let state = NIOLockedValueBox(State())
    private let gauge = Gauge(label: "segd_connections_open")
    private let refusedCounter = Counter(label: "segd_connections_over_limit_total")

    init(policy: ConnectionPolicy) {
        self.policy = policy
    }

    /// Counts `channel` in until it closes; tells how it may be served.
    func opened(_ channel: any Channel) -> Admission {
        let id = ObjectIdentifier(channel)
        let (admission, total): (Admission, Int) = state.withLockedValue { state in
            state.channels[id] = channel
            if state.full < policy.maxConnections {
                state.full += 1
                return (.full, state.full + state.healthOnly)
            }
            state.healthOnly += 1
            return (.healthOnly, state.full + state.healthOnly)
        }
        gauge.record(total)
        if case .healthOnly = admission { refusedCounter.increment() }
        channel.closeFuture.whenComplete { [self] _ in closed(id, admission) }
        return admission
    }

    private func closed(_ id: ObjectIdentifier, _ admission: Admission) {
        let total = state.withLockedValue { state in
            state.channels[id] = nil
            switch admission {
            case .full: state.full -= 1
            case .healthOnly: state.healthOnly -= 1
            }
            return state.full + state.healthOnly
        }
        gauge.record(total)
    }

    /// Whether the listener should accept another connection now.
    var isAccepting: Bool {
        state.withLockedValue { $0.full < policy.maxConnections || $0.healthOnly < policy.healthOnlyConnections }
    }

    var openCount: Int {
        state.withLockedValue { $0.full + $0.healthOnly }
    }

    /// Ends every upload still arriving (503, then close) and closes idle connections; requests
    /// whose body is complete finish normally. Used once the drain delay and its grace are over.
    func cutOffUploads() {
        let channels = state.withLockedValue { Array($0.channels.values) }
        for channel in channels {
            channel.pipeline.fireUserInboundEventTriggered(ConnectionGuard.CutOffUploads())
        }
    }
}

/// Hummingbird's hook on the listener: it stops reading new connections while this says no.
struct ConnectionAvailability: AvailableConnectionsDelegate {
    let registry: ConnectionRegistry

    mutating func connectionOpened() {}
    mutating func connectionClosed() {}
    func isAcceptingNewConnections() -> Bool { registry.isAccepting }
}
