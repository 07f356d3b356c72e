import NIOCore

/// What the bytes of one connection did lately, shared by `ByteArrivalHandler` (which sees raw
/// bytes, before the HTTP decoder) and `ConnectionGuard` (which sees requests). Both run on the
/// channel's event loop, so it needs no lock; it never leaves that loop.
final class ConnectionActivity {
    /// When the last bytes arrived.
    var lastRead = NIODeadline.now()
    /// When the first byte of the request head now being received arrived; nil between requests.
    var headStarted: NIODeadline?
    /// True from a request's end to its successor's head: bytes read then belong to a head.
    var expectingHead = true
    /// A `Transfer-Encoding` header line was seen in the head being received (the HTTP decoder
    /// refuses a request whose transfer coding is not chunked before it hands it on, so this is
    /// how that refusal gets its 501).
    var sawTransferEncoding = false
    /// Where the scanner is in matching "\ntransfer-encoding:" across reads.
    fileprivate var matched = 0
}

/// The first handler of a connection: notes when bytes arrive, and spots a `Transfer-Encoding`
/// header line in a request head, for `ConnectionGuard`'s timeouts and answers.
final class ByteArrivalHandler: ChannelInboundHandler, RemovableChannelHandler {
    typealias InboundIn = ByteBuffer
    typealias InboundOut = ByteBuffer

    private let activity: ConnectionActivity
    private static let pattern = Array("\ntransfer-encoding:".utf8)

    init(activity: ConnectionActivity) {
        self.activity = activity
    }

    func channelRead(context: ChannelHandlerContext, data: NIOAny) {
        let buffer = unwrapInboundIn(data)
        let now = NIODeadline.now()
        activity.lastRead = now
        if activity.expectingHead {
            if activity.headStarted == nil && buffer.readableBytes > 0 { activity.headStarted = now }
            scan(buffer)
        }
        context.fireChannelRead(data)
    }

    /// Advances the case-insensitive match of "\ntransfer-encoding:" over the buffer's bytes.
    private func scan(_ buffer: ByteBuffer) {
        var matched = activity.matched
        buffer.withUnsafeReadableBytes { bytes in
            for byte in bytes {
                let lower = byte >= 0x41 && byte <= 0x5A ? byte + 0x20 : byte
                if lower == Self.pattern[matched] {
                    matched += 1
                    if matched == Self.pattern.count {
                        activity.sawTransferEncoding = true
                        matched = 0
                    }
                } else {
                    matched = lower == 0x0A ? 1 : 0
                }
            }
        }
        activity.matched = matched
    }

    /// A new head begins: forget what the last one held.
    static func resetForNextHead(_ activity: ConnectionActivity) {
        activity.expectingHead = true
        activity.headStarted = nil
        activity.sawTransferEncoding = false
        activity.matched = 0
    }
}
