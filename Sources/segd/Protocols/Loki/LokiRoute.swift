import Hummingbird
import NIOCore
import SwiftProtobuf

/// `POST /loki/api/v1/push`: JSON (`application/json`), or protobuf (`application/x-protobuf`,
/// the body snappy-compressed in the block format), with `Content-Encoding` gzip or snappy
/// optional, into the stream named by `X-Segd-Stream` or the built-in `loki`. Answers as Loki
/// does: 204 once stored; 400 with a text body when entries were invalid (the valid ones are
/// stored, as Loki stores them, and clients do not resend a 400); 429 and 503 with `Retry-After`
/// (Promtail, Alloy and the Loki clients resend those).
struct LokiRoute: Sendable {
    let routes: ProtocolRoutes

    static let mediaTypes = BodyReading.MediaTypes(accepted: ["application/json", "application/x-protobuf"],
                                                   hint: "send a Loki push as application/json, or as snappy-compressed application/x-protobuf")

    func add(to router: Router<SegdRequestContext>) {
        router.post("/loki/api/v1/push") { request, context in
            await routes.answer("loki", context, render: Self.text) { try await push(request, context) }
        }
    }

    private func push(_ request: Request, _ context: SegdRequestContext) async throws -> Response {
        let tenant = try routes.authentication.tenant(of: request)
        var options = IngestOptions()
        options.invalidRecords = .skip
        let maxBody = routes.path.settings.maxBody
        let outcome = try await routes.path.ingest(request, context: context, tenant: tenant, stream: ProtocolRoutes.stream(request, default: "loki"),
                                                   mediaTypes: Self.mediaTypes, options: options) { body, declared, admission in
            let records: NDJSONRecords
            do {
                if declared.mediaType == "application/x-protobuf" {
                    records = try LokiPush.transcode(try Self.decodeProtobuf(body, maxBody: maxBody, admission: admission))
                } else {
                    records = try body.withUnsafeReadableBytes { raw throws(LokiPush.DecodingError) in try LokiPush.transcodeJSON(raw) }
                }
            } catch let error as LokiPush.DecodingError {
                throw APIError(.badRequest, "invalid", "the push body is not valid: \(error.message)")
            }
            return ByteBuffer(bytes: records.bytes())
        }
        if case let .partial(records, rejected) = outcome {
            let first = rejected.listed.first.map { "entry \($0.line): \($0.field.map { "field '\($0)': " } ?? "")\($0.message)" } ?? ""
            return Self.text(APIError(.badRequest, "invalid", "\(rejected.count) entries were refused and \(records) stored; the first refused: \(first)"))
        }
        return Response(status: .noContent)
    }

    /// A protobuf push: snappy's block format around a `PushRequest`.
    private static func decodeProtobuf(_ body: ByteBuffer, maxBody: Int, admission: Admission) throws -> Loki_PushRequest {
        let decoded: ByteBuffer
        do {
            decoded = try body.withUnsafeReadableBytes { raw throws(Snappy.Failure) in try Snappy.decodeBlock(raw, maxSize: maxBody) { admission.hold($0) } }
        } catch .tooLarge {
            throw BodyReading.decodedTooLarge(maxBody)
        } catch .refused {
            throw admission.overInflightBound()
        } catch {
            throw APIError(.badRequest, "snappy", "the protobuf push body is not snappy-compressed (block format): \(error)")
        }
        do {
            var options = BinaryDecodingOptions()
            options.discardUnknownFields = true
            return try Loki_PushRequest(serializedBytes: Array(decoded.readableBytesView), options: options)
        } catch {
            throw APIError(.badRequest, "invalid", "the body is not a Loki PushRequest in protobuf (\(error))")
        }
    }

    /// Loki answers errors as plain text.
    static func text(_ error: APIError) -> Response {
        Response(status: error.status, headers: [.contentType: "text/plain; charset=utf-8"],
                 body: .init(byteBuffer: ByteBuffer(string: error.message + "\n")))
    }
}
