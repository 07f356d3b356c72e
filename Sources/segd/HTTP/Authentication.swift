import HTTPTypes
import Hummingbird
import RequestParsing

/// Who a request comes from: the tenant of the token in its `Authorization` header, in any
/// scheme `RequestHeaders.credential` reads (Bearer; Basic and ApiKey with the token as the
/// password; Splunk), so that every shipper's client can authenticate.
struct Authentication: Sendable {
    let tenants: TenantDirectory

    func tenant(of request: Request) throws -> Tenant {
        guard let header = request.headers[.authorization] else {
            throw APIError(.unauthorized, "auth", "missing Authorization header: send 'Authorization: Bearer <token>'")
        }
        guard let token = RequestHeaders.credential(header), let tenant = tenants.tenant(token: Substring(token)) else {
            throw APIError(.unauthorized, "auth", "unknown token: check the Bearer token your tenant was given")
        }
        return tenant
    }
}
