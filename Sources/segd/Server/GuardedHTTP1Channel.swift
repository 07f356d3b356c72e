import Hummingbird
import HummingbirdCore
import Logging
import NIOCore
import NIOHTTP1
import NIOHTTPTypes
import NIOHTTPTypesHTTP1

/// Hummingbird's HTTP/1.1 child channel with segd's guards around it: `ByteArrivalHandler` in
/// front of the HTTP decoder, `ConnectionGuard` right after it, and every connection counted by
/// the `ConnectionRegistry`. Hummingbird's own `HTTP1Channel` only lets handlers in after the
/// decoder, where neither a partial head nor raw byte arrival can be seen.
struct GuardedHTTP1Channel: ServerChildChannel, HTTPChannelHandler {
    typealias Value = NIOAsyncChannel<HTTPRequestPart, HTTPResponsePart>

    let responder: HTTPChannelHandler.Responder
    let registry: ConnectionRegistry

    func setup(channel: any Channel, logger: Logger) -> EventLoopFuture<Value> {
        channel.eventLoop.makeCompletedFuture {
            let admission = registry.opened(channel)
            let activity = ConnectionActivity()
            let pipeline = channel.pipeline.syncOperations
            try pipeline.addHandler(ByteArrivalHandler(activity: activity))
            try pipeline.configureHTTPServerPipeline(
                withPipeliningAssistance: false,
                withErrorHandling: false,
                withOutboundHeaderValidation: false,
                withEncoderConfiguration: .init(),
                withDecoderLimitConfiguration: .init()
            )
            try pipeline.addHandler(HTTP1ToHTTPServerCodec(secure: false))
            try pipeline.addHandler(ConnectionGuard(policy: registry.policy, activity: activity, admission: admission, logger: logger))
            // Hummingbird's state handler closes idle connections at graceful shutdown (quiesce).
            try pipeline.addHandler(HTTPConnectionStateHandler(idleTimeout: nil, logger: logger))
            return try NIOAsyncChannel(wrappingChannelSynchronously: channel, configuration: .init(isOutboundHalfClosureEnabled: true))
        }
    }

    func handle(value asyncChannel: Value, logger: Logger) async {
        await handleHTTP(asyncChannel: asyncChannel, logger: logger)
    }
}

extension HTTPServerBuilder {
    /// HTTP/1.1 with segd's connection guards (`GuardedHTTP1Channel`).
    static func guardedHTTP1(registry: ConnectionRegistry) -> HTTPServerBuilder {
        .init { responder in GuardedHTTP1Channel(responder: responder, registry: registry) }
    }
}
