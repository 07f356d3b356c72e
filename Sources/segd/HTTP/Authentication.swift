import HTTPTypes
import Hummingbird
import RequestParsing

/// Who a request comes from: the tenant of its `Authorization: Bearer <token>`.
struct Authentication: Sendable {
    let tenants: TenantDirectory

    func tenant(of request: Request) throws -> Tenant {
        guard let header = request.headers[.authorization] else {
            throw APIError(.unauthorized, "auth", "missing Authorization header: send 'Authorization: Bearer <token>'")
        }
        guard let token = RequestHeaders.bearerToken(header), let tenant = tenants.tenant(token: token) else {
            throw APIError(.unauthorized, "auth", "unknown token: check the Bearer token your tenant was given")
        }
        return tenant
    }
}
