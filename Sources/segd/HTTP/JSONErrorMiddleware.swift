import HTTPTypes
import Hummingbird

/// Gives the router's own errors (no such route, a wrong method) a JSON body like every other
/// error of the API.
struct JSONErrorMiddleware: RouterMiddleware {
    func handle(_ request: Request, context: SegdRequestContext, next: (Request, SegdRequestContext) async throws -> Response) async throws -> Response {
        do {
            return try await next(request, context)
        } catch let error as HTTPError {
            let message = error.status == .notFound
                ? "no route \(request.method.rawValue) \(ConnectionGuard.printable(request.uri.path)): see segd --help for the API"
                : error.status.reasonPhrase
            return APIError(error.status, "route", message).response(requestID: context.requestID)
        }
    }
}
