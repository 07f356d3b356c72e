import HTTPTypes
import Logging
import NIOCore
import NIOHTTP1
import NIOHTTPTypes
import NIOHTTPTypesHTTP1
import RequestParsing

/// Guards one HTTP/1.1 connection against slow and malformed clients, below the router:
///
/// - a request head must be complete within the header timeout of its first byte (or of the
///   accept); a keep-alive connection waiting for its next request closes after the idle timeout;
/// - a body that makes no progress for the body timeout is answered 408 and closed;
/// - a `Transfer-Encoding` other than `chunked` is answered 501, an `Expect` other than
///   `100-continue` 417, and a request the HTTP decoder cannot parse 400 (all JSON, then close);
/// - an answer sent before the body was read (a refusal) says `Connection: close`; the rest of the
///   body is read and dropped for a while (lingering close), so the client sees the answer;
/// - a health-only connection (over `--max-connections`) may ask `GET`/`HEAD /health` once;
/// - at shutdown, uploads still arriving are answered 503 and closed.
///
/// Hummingbird 2's `HTTPConnectionStateHandler` has only one idle timeout for all of these, and
/// its router sees a request only once its head is complete, so these live in a handler of our own.
/// Runs on the channel's event loop only.
final class ConnectionGuard: ChannelDuplexHandler, RemovableChannelHandler {
    typealias InboundIn = HTTPRequestPart
    typealias InboundOut = HTTPRequestPart
    typealias OutboundIn = HTTPResponsePart
    typealias OutboundOut = HTTPResponsePart

    /// The user event that ends uploads still arriving (shutdown).
    struct CutOffUploads: Sendable {}

    /// Fired into the request's body stream when the guard ends it, so that a reader sees an
    /// error rather than a body that seems complete.
    enum BodyInterrupted: Error {
        case timedOut
        case shuttingDown
    }

    private let policy: ConnectionPolicy
    private let activity: ConnectionActivity
    private let admission: ConnectionRegistry.Admission
    private let logger: Logger

    /// A request head was read and its end not yet.
    private var requestOpen = false
    /// Requests whose answer has not ended yet (more than one when a client pipelines).
    private var responsesPending = 0
    /// The final answer's head for the current request was written.
    private var responseStarted = false
    /// This handler answered the current request itself: the application's own writes are dropped.
    private var answeredHere = false
    /// The current request's parts are not passed on (it was refused here).
    private var swallowing = false
    private var closeAfterResponse = false
    private var lingerStarted: NIODeadline?
    private var firstRequest = true
    private var idleSince = NIODeadline.now()
    private var timer: Scheduled<Void>?

    init(policy: ConnectionPolicy, activity: ConnectionActivity, admission: ConnectionRegistry.Admission, logger: Logger) {
        self.policy = policy
        self.activity = activity
        self.admission = admission
        self.logger = logger
    }

    private var headerTimeout: TimeAmount {
        if case .healthOnly = admission { return policy.healthOnlyHeaderTimeout }
        return policy.headerTimeout
    }

    // MARK: Events

    func handlerAdded(context: ChannelHandlerContext) {
        idleSince = .now()
        arm(context)
    }

    func handlerRemoved(context: ChannelHandlerContext) {
        timer?.cancel()
        timer = nil
    }

    func channelInactive(context: ChannelHandlerContext) {
        timer?.cancel()
        timer = nil
        context.fireChannelInactive()
    }

    func channelRead(context: ChannelHandlerContext, data: NIOAny) {
        switch unwrapInboundIn(data) {
        case let .head(head):
            activity.expectingHead = false
            requestOpen = true
            if responsesPending == 0 { responseStarted = false }
            responsesPending += 1
            answeredHere = false
            firstRequest = false
            if let refusal = refusal(of: head) {
                swallowing = true
                answer(context, refusal.status, refusal.message, interrupting: nil)
                return
            }
            if case .healthOnly = admission { closeAfterResponse = true }
            context.fireChannelRead(data)
        case .body:
            guard !swallowing else { return }
            context.fireChannelRead(data)
        case .end:
            requestOpen = false
            ByteArrivalHandler.resetForNextHead(activity)
            idleSince = .now()
            if swallowing {
                swallowing = false
                return
            }
            context.fireChannelRead(data)
            // A refused request's body has been read to its end: nothing more to wait for.
            if lingerStarted != nil { context.close(promise: nil) }
        }
        arm(context)
    }

    /// What the headers alone refuse before the application sees the request.
    private func refusal(of head: HTTPRequest) -> (status: HTTPResponse.Status, message: String)? {
        if case .healthOnly = admission {
            let health = head.path.map { $0 == "/health" || $0.hasPrefix("/health?") } ?? false
            if !health || !(head.method == .get || head.method == .head) {
                return (.serviceUnavailable, "this node has \(policy.maxConnections) connections open (--max-connections); retry later or on another node")
            }
        }
        if let value = head.headerFields[.transferEncoding], case let .unsupported(coding) = RequestHeaders.transferCoding(value) {
            return (.notImplemented, "Transfer-Encoding '\(Self.printable(coding))' is not supported: send Content-Length or Transfer-Encoding: chunked")
        }
        if let value = head.headerFields[.expect], RequestHeaders.expectation(value) != .continueBeforeBody {
            return (.expectationFailed, "Expect '\(Self.printable(value))' is not supported: only 100-continue is")
        }
        return nil
    }

    func write(context: ChannelHandlerContext, data: NIOAny, promise: EventLoopPromise<Void>?) {
        let part = unwrapOutboundIn(data)
        if answeredHere {
            promise?.fail(ChannelError.ioOnClosedChannel)
            return
        }
        switch part {
        case var .head(response):
            if response.status.kind == .informational {
                // 100 Continue only while the body is still wanted.
                guard requestOpen else {
                    promise?.succeed()
                    return
                }
                context.write(data, promise: promise)
                return
            }
            responseStarted = true
            // The answer of the request still being read: its body is not wanted any more.
            let early = requestOpen && responsesPending == 1
            if early || closeAfterResponse {
                closeAfterResponse = true
                response.headerFields[.connection] = "close"
                context.write(wrapOutboundOut(.head(response)), promise: promise)
                return
            }
            context.write(data, promise: promise)
        case .body:
            context.write(data, promise: promise)
        case .end:
            responsesPending -= 1
            let flushed = context.eventLoop.makePromise(of: Void.self)
            flushed.futureResult.cascade(to: promise)
            context.writeAndFlush(data, promise: flushed)
            if responsesPending > 0 {
                // A pipelined request is next; its answer has not started.
                responseStarted = false
            } else if requestOpen {
                // Answered before the body was read: stop sending, read and drop the rest a while.
                lingerStarted = .now()
                flushed.futureResult.assumeIsolated().whenSuccess { context.close(mode: .output, promise: nil) }
                arm(context)
            } else if closeAfterResponse {
                flushed.futureResult.assumeIsolated().whenComplete { _ in context.close(promise: nil) }
            } else {
                idleSince = .now()
                arm(context)
            }
        }
    }

    func errorCaught(context: ChannelHandlerContext, error: Error) {
        context.fireErrorCaught(error)
        guard error is HTTPParserError || error is HTTP1TypeConversionError else { return }
        if responseStarted || answeredHere {
            context.close(promise: nil)
            return
        }
        if !requestOpen && activity.sawTransferEncoding {
            answer(context, .notImplemented, "the request's Transfer-Encoding is not supported: send Content-Length or Transfer-Encoding: chunked", interrupting: nil)
        } else if requestOpen {
            answer(context, .badRequest, "the request body is malformed (\(Self.describe(error))); nothing was stored", interrupting: nil)
        } else {
            answer(context, .badRequest, "the request is not valid HTTP/1.1 (\(Self.describe(error)))", interrupting: nil)
        }
    }

    func userInboundEventTriggered(context: ChannelHandlerContext, event: Any) {
        if event is CutOffUploads {
            if requestOpen && !responseStarted {
                answer(context, .serviceUnavailable, "this node is shutting down and stopped reading your upload; nothing was stored, retry (the load balancer sends you to another node)",
                       retryAfter: 1, interrupting: .shuttingDown)
            } else if responsesPending == 0 || lingerStarted != nil {
                context.close(promise: nil)
            } else {
                closeAfterResponse = true
            }
            return
        }
        if case ChannelEvent.inputClosed = event, lingerStarted != nil {
            context.close(promise: nil)
        }
        context.fireUserInboundEventTriggered(event)
    }

    // MARK: Answers

    /// Answers the current request from here (JSON error body, `Connection: close`) and closes.
    /// With `interrupting`, the application's body stream first fails with that error.
    private func answer(_ context: ChannelHandlerContext, _ status: HTTPResponse.Status, _ message: String,
                        retryAfter: Int? = nil, interrupting: BodyInterrupted?) {
        if let interrupting { context.fireErrorCaught(interrupting) }
        answeredHere = true
        responseStarted = true
        let requestID = RequestIdentifier.next()
        logger.info("request refused by the connection guard", metadata: ["status": "\(status.code)", "reason": "\(message)", "request_id": "\(requestID)"])
        let body = ErrorBody.json(message: message, requestID: requestID, retryAfter: retryAfter)
        var fields: HTTPFields = [.contentType: "application/json", .contentLength: String(body.count), .connection: "close"]
        if let retryAfter { fields[.retryAfter] = String(retryAfter) }
        context.write(wrapOutboundOut(.head(HTTPResponse(status: status, headerFields: fields))), promise: nil)
        context.write(wrapOutboundOut(.body(context.channel.allocator.buffer(bytes: body))), promise: nil)
        context.writeAndFlush(wrapOutboundOut(.end(nil))).assumeIsolated().whenComplete { _ in context.close(promise: nil) }
    }

    // MARK: Timeouts

    /// The next moment something must be checked, for the connection's state; nil while the
    /// application works on a complete request.
    private func deadline() -> NIODeadline? {
        if let lingerStarted {
            return min(lingerStarted + policy.lingerTime, activity.lastRead + policy.lingerPause)
        }
        if requestOpen { return activity.lastRead + policy.bodyTimeout }
        if responsesPending > 0 { return nil }
        if let started = activity.headStarted { return started + headerTimeout }
        return idleSince + (firstRequest ? headerTimeout : policy.idleTimeout)
    }

    private func arm(_ context: ChannelHandlerContext) {
        timer?.cancel()
        timer = nil
        guard let deadline = deadline() else { return }
        let loop = context.eventLoop.assumeIsolatedUnsafeUnchecked()
        timer = loop.scheduleTask(deadline: deadline) { [self] in
            timer = nil
            expire(context)
        }
    }

    private func expire(_ context: ChannelHandlerContext) {
        guard context.channel.isActive, let deadline = deadline() else { return }
        guard deadline <= .now() else {
            arm(context)
            return
        }
        if lingerStarted != nil {
            context.close(promise: nil)
        } else if requestOpen {
            if responseStarted {
                context.fireErrorCaught(BodyInterrupted.timedOut)
                context.close(promise: nil)
            } else {
                answer(context, .requestTimeout, "the request body made no progress for \(Self.seconds(policy.bodyTimeout)) (--body-timeout); nothing was stored",
                       interrupting: .timedOut)
            }
        } else if activity.headStarted != nil {
            answer(context, .requestTimeout, "the request headers did not arrive within \(Self.seconds(headerTimeout)) (--header-timeout)", interrupting: nil)
        } else {
            context.close(promise: nil)
        }
    }

    // MARK: Text

    private static func seconds(_ amount: TimeAmount) -> String {
        let ms = amount.nanoseconds / 1_000_000
        return ms % 1000 == 0 ? "\(ms / 1000) s" : "\(ms) ms"
    }

    private static func describe(_ error: Error) -> String {
        if let parser = error as? HTTPParserError {
            switch parser {
            case .invalidChunkSize: return "invalid chunk size"
            case .invalidContentLength: return "invalid Content-Length"
            case .headerOverflow: return "headers too large"
            case .invalidEOFState: return "the connection closed before the body ended"
            default: return "\(parser)"
            }
        }
        return "malformed request line or headers"
    }

    /// A client's header value for an error message: printable ASCII only, at most 64 bytes.
    static func printable(_ text: String) -> String {
        String(decoding: text.utf8.prefix(64).map { $0 >= 0x20 && $0 < 0x7F ? $0 : UInt8(ascii: "?") }, as: UTF8.self)
    }
}
