import HTTPTypes
import Hummingbird
import NIOCore
import NIOHTTPTypes

/// The request context of segd's routes: Hummingbird's core storage, the connection (for the
/// peer's address and `100 Continue`), and the id that error answers and log lines share.
struct SegdRequestContext: RequestContext {
    var coreContext: CoreRequestContextStorage
    let channel: any Channel
    let requestID: String

    init(source: ApplicationRequestContextSource) {
        coreContext = .init(source: source)
        channel = source.channel
        requestID = RequestIdentifier.next()
        logger[metadataKey: "request_id"] = "\(requestID)"
    }

    /// Whether the peer is on this host (127.0.0.0/8 or ::1).
    var peerIsLoopback: Bool {
        switch channel.remoteAddress {
        case let .v4(address)?:
            return (address.address.sin_addr.s_addr & 0xFF) == 127
        case let .v6(address)?:
            let ip = address.address.sin6_addr.__in6_u.__u6_addr8
            let loopback = ip.0 == 0 && ip.1 == 0 && ip.2 == 0 && ip.3 == 0 && ip.4 == 0 && ip.5 == 0 && ip.6 == 0 && ip.7 == 0
                && ip.8 == 0 && ip.9 == 0 && ip.10 == 0 && ip.11 == 0 && ip.12 == 0 && ip.13 == 0 && ip.14 == 0 && ip.15 == 1
            // ::ffff:127.x.x.x, an IPv4 loopback peer on a dual-stack socket.
            let mapped = ip.0 == 0 && ip.1 == 0 && ip.2 == 0 && ip.3 == 0 && ip.4 == 0 && ip.5 == 0 && ip.6 == 0 && ip.7 == 0
                && ip.8 == 0 && ip.9 == 0 && ip.10 == 0xFF && ip.11 == 0xFF && ip.12 == 127
            return loopback || mapped
        default:
            return false
        }
    }

    /// Asks the client for the body (`100 Continue`) when its request said `Expect: 100-continue`;
    /// called once the headers alone have not refused the request.
    func sendContinue() {
        channel.writeAndFlush(HTTPResponsePart.head(HTTPResponse(status: .continue)), promise: nil)
    }
}
