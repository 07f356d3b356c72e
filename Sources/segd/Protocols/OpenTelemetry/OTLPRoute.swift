import Foundation
import Hummingbird
import NIOCore
import SwiftProtobuf

/// `POST /v1/logs`: OTLP/HTTP logs, protobuf (`application/x-protobuf`) or JSON
/// (`application/json`), gzip optional, into the stream named by `X-Segd-Stream` or the built-in
/// `otel`. Records that do not fit the stream are refused one by one and reported as OTLP's
/// `partial_success`; refusals of the whole request answer OTLP's way: 400 (not to be retried),
/// 429 and 503 with `Retry-After` (to be retried), each with a `Status` body in the request's
/// encoding.
struct OTLPRoute: Sendable {
    let routes: ProtocolRoutes

    static let mediaTypes = BodyReading.MediaTypes(accepted: ["application/x-protobuf", "application/json"],
                                                   hint: "send OTLP/HTTP as application/x-protobuf or application/json")

    func add(to router: Router<SegdRequestContext>) {
        router.post("/v1/logs") { request, context in
            let json = request.headers[.contentType].map { $0.lowercased().hasPrefix("application/json") } ?? false
            return await routes.answer("otlp", context, render: { Self.status($0, json: json) }) {
                try await export(request, context, json: json)
            }
        }
    }

    private func export(_ request: Request, _ context: SegdRequestContext, json: Bool) async throws -> Response {
        let tenant = try routes.authentication.tenant(of: request)
        var options = IngestOptions()
        options.invalidRecords = .skip
        options.acceptsNoRecords = true
        var refusedHere = 0
        var firstRefusal: String?
        let outcome = try await routes.path.ingest(request, context: context, tenant: tenant, stream: ProtocolRoutes.stream(request, default: "otel"),
                                                   mediaTypes: Self.mediaTypes, options: options) { body, declared, _ in
            let json = declared.mediaType == "application/json"
            let now = IngestPath.now()
            // Protobuf takes the walker unless it declines; swift-protobuf then has the final word.
            let walked = json ? nil : body.withUnsafeReadableBytes { OTLPProtobufWalker.transcode($0, receivedAt: now) }
            let transcoded = try walked ?? OTLPLogs.transcode(try Self.decode(body, json: json), receivedAt: now)
            refusedHere = transcoded.refused
            firstRefusal = transcoded.firstRefusal
            return ByteBuffer(bytes: transcoded.records.bytes())
        }
        var response = Otlp_ExportLogsServiceResponse()
        var rejected = refusedHere
        var message = firstRefusal
        if case let .partial(_, refused) = outcome {
            rejected += refused.count
            if let first = refused.listed.first { message = message ?? "log record \(first.line): \(first.field.map { "field '\($0)': " } ?? "")\(first.message)" }
        }
        if rejected > 0 {
            response.partialSuccess.rejectedLogRecords = Int64(rejected)
            response.partialSuccess.errorMessage = "\(rejected) log records were not stored; the first: \(message ?? "invalid")"
        }
        return try Self.encode(response, status: .ok, json: json)
    }

    private static func decode(_ body: ByteBuffer, json: Bool) throws -> Otlp_ExportLogsServiceRequest {
        if json {
            do {
                return try body.withUnsafeReadableBytes { raw throws(OTLPJSON.DecodingError) in try OTLPJSON.decode(raw) }
            } catch {
                throw APIError(.badRequest, "invalid", "the body is not OTLP/JSON: \(error)")
            }
        }
        do {
            var options = BinaryDecodingOptions()
            options.discardUnknownFields = true
            return try Otlp_ExportLogsServiceRequest(serializedBytes: Array(body.readableBytesView), options: options)
        } catch {
            throw APIError(.badRequest, "invalid", "the body is not an OTLP ExportLogsServiceRequest in protobuf (\(error))")
        }
    }

    /// A message in the request's encoding: protobuf, or OTLP/JSON (lowerCamelCase, integers
    /// as numbers, which is what proto3's JSON mapping writes for these fields).
    private static func encode<M: SwiftProtobuf.Message>(_ message: M, status: HTTPResponse.Status, json: Bool) throws -> Response {
        if json {
            let text: String = try message.jsonString()
            return Response(status: status, headers: [.contentType: "application/json"], body: .init(byteBuffer: ByteBuffer(string: text)))
        }
        let bytes: [UInt8] = try message.serializedBytes()
        return Response(status: status, headers: [.contentType: "application/x-protobuf"], body: .init(byteBuffer: ByteBuffer(bytes: bytes)))
    }

    /// A refusal as OTLP/HTTP answers it: the HTTP status (OTLP clients retry 429, 502, 503 and
    /// 504 only), and a `Status` with the matching gRPC code.
    static func status(_ error: APIError, json: Bool) -> Response {
        let code: Int32
        switch error.status.code {
        case 400, 413, 415: code = 3 // INVALID_ARGUMENT
        case 401: code = 16 // UNAUTHENTICATED
        case 403: code = 7 // PERMISSION_DENIED
        case 404: code = 5 // NOT_FOUND
        case 429, 507: code = 8 // RESOURCE_EXHAUSTED
        case 503: code = 14 // UNAVAILABLE
        default: code = 13 // INTERNAL
        }
        var status = Otlp_Status()
        status.code = code
        status.message = error.message
        // Encoding a two-field message cannot fail; should it, the status alone still answers.
        return (try? encode(status, status: error.status, json: json)) ?? Response(status: error.status)
    }
}
