import Crypto
import Foundation
import Testing
@testable import S3

/// The signer against AWS's published SigV4 test suite (Data/sigv4, see its README) and the
/// examples in the S3 API reference ("Signature Calculations for the Authorization Header:
/// Transferring Payload in a Single Chunk").
struct SignatureV4Tests {
    static let data = URL(fileURLWithPath: #filePath).deletingLastPathComponent().appendingPathComponent("Data/sigv4")
    static let vectors: [String] = {
        let names = (try? FileManager.default.contentsOfDirectory(atPath: data.path)) ?? []
        return names.filter { $0.hasSuffix(".req") }.map { String($0.dropLast(4)) }.sorted()
    }()

    /// A `.req` file: request line, header lines, a blank line and the body.
    static func request(_ name: String) throws -> SignatureV4.Request {
        let text = try String(contentsOf: data.appendingPathComponent(name + ".req"), encoding: .utf8)
        let (head, body) = text.range(of: "\n\n").map { (String(text[..<$0.lowerBound]), String(text[$0.upperBound...])) } ?? (text, "")
        var lines = head.split(separator: "\n", omittingEmptySubsequences: false).map(String.init)
        let requestLine = lines.removeFirst().split(separator: " ")
        let target = String(requestLine[1])
        let path = String(target.prefix { $0 != "?" })
        let query = target.dropFirst(path.count + 1).split(separator: "&").map { pair -> (name: String, value: String) in
            let parts = pair.split(separator: "=", maxSplits: 1, omittingEmptySubsequences: false)
            return (String(parts[0]), parts.count > 1 ? String(parts[1]) : "")
        }
        let headers = lines.map { line -> (name: String, value: String) in
            let colon = line.firstIndex(of: ":")!
            return (String(line[..<colon]), String(line[line.index(after: colon)...]))
        }
        return SignatureV4.Request(method: String(requestLine[0]), path: path, query: query, headers: headers,
                                   payloadHash: SignatureV4.hex(SHA256.hash(data: Array(body.utf8))))
    }

    @Test func theSuiteIsThere() {
        #expect(Self.vectors.count >= 13)
    }

    @Test(arguments: vectors)
    func authorizationMatchesTheSuite(_ name: String) throws {
        let request = try Self.request(name)
        let expected = try String(contentsOf: Self.data.appendingPathComponent(name + ".authz"), encoding: .utf8)
        let signer = SignatureV4(service: "service", region: "us-east-1")
        #expect(signer.authorization(request, timestamp: "20150830T123600Z", accessKeyID: "AKIDEXAMPLE",
                                     secretAccessKey: "wJalrXUtnFEMI/K7MDENG+bPxRfiCYEXAMPLEKEY") == expected)
    }

    @Test func canonicalRequestAndStringToSignMatchTheSuite() throws {
        let name = "post-x-www-form-urlencoded"
        let request = try Self.request(name)
        let signer = SignatureV4(service: "service", region: "us-east-1")
        #expect(signer.canonicalRequest(request) == (try String(contentsOf: Self.data.appendingPathComponent(name + ".creq"), encoding: .utf8)))
        #expect(signer.stringToSign(request, timestamp: "20150830T123600Z") == (try String(contentsOf: Self.data.appendingPathComponent(name + ".sts"), encoding: .utf8)))
    }

    static let s3Secret = "wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY"

    static func s3Request(_ path: String, query: [(name: String, value: String)] = [], extra: [(name: String, value: String)] = []) -> SignatureV4.Request {
        SignatureV4.Request(method: "GET", path: path, query: query,
                            headers: [("Host", "examplebucket.s3.amazonaws.com"), ("x-amz-content-sha256", SignatureV4.emptyPayloadHash),
                                      ("x-amz-date", "20130524T000000Z")] + extra)
    }

    @Test func rangedGetMatchesTheS3Example() {
        let signer = SignatureV4(service: "s3", region: "us-east-1")
        let auth = signer.authorization(Self.s3Request("/test.txt", extra: [("Range", "bytes=0-9")]), timestamp: "20130524T000000Z",
                                        accessKeyID: "AKIAIOSFODNN7EXAMPLE", secretAccessKey: Self.s3Secret)
        #expect(auth.hasSuffix("SignedHeaders=host;range;x-amz-content-sha256;x-amz-date, Signature=f0e8bdb87c964420e857bd35b5d6ed310bd44f0170aba48dd91039c6036bdb41"))
    }

    @Test func listingMatchesTheS3Example() {
        let signer = SignatureV4(service: "s3", region: "us-east-1")
        let auth = signer.authorization(Self.s3Request("/", query: [("max-keys", "2"), ("prefix", "J")]), timestamp: "20130524T000000Z",
                                        accessKeyID: "AKIAIOSFODNN7EXAMPLE", secretAccessKey: Self.s3Secret)
        #expect(auth.hasSuffix("Signature=34b48302e7b5fa45bde8084f4b7868a86f0a534bc59db6670ed5711ef69dc6f7"))
    }

    @Test func timestampIsBasicISO8601InUTC() {
        #expect(SignatureV4.timestamp(Date(timeIntervalSince1970: 1_440_938_160)) == "20150830T123600Z")
    }

    @Test func keysAreEncodedOnceWithSlashesKept() {
        #expect(URIEncoding.encode("a b/c+d=ü~", keepingSlashes: true) == "a%20b/c%2Bd%3D%C3%BC~")
        #expect(URIEncoding.encode("a/b", keepingSlashes: false) == "a%2Fb")
        #expect(URIEncoding.decode("a%20b%2Fc") == "a b/c")
        #expect(URIEncoding.decode("bad%2") == nil)
    }
}
