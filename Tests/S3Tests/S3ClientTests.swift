import NIOCore
import NIOHTTP1
import Testing
@testable import S3

/// The client's reading of S3's answers: listings, errors, ranges, and which failures are retried.
struct S3ClientTests {
    let location = S3Location(bucket: "logs", key: "archive/")

    @Test func listingsAreParsedWithURLEncodedKeys() throws {
        let xml = """
        <?xml version="1.0" encoding="UTF-8"?>
        <ListBucketResult xmlns="http://s3.amazonaws.com/doc/2006-03-01/"><Name>logs</Name><Prefix>archive/</Prefix>
        <EncodingType>url</EncodingType><IsTruncated>true</IsTruncated><NextContinuationToken>tok&amp;en</NextContinuationToken>
        <Contents><Key>archive/a%20b/dt%3D2026-11-01/x.seg</Key><LastModified>2026-11-01T00:00:00.000Z</LastModified>
        <ETag>&quot;abc123&quot;</ETag><Size>1234</Size><StorageClass>STANDARD</StorageClass></Contents>
        <CommonPrefixes><Prefix>archive/acme/</Prefix></CommonPrefixes></ListBucketResult>
        """
        let page = try S3Client.parseListing(ByteBuffer(string: xml), location)
        #expect(page.objects == [S3Client.ObjectSummary(key: "archive/a b/dt=2026-11-01/x.seg", size: 1234, etag: "abc123")])
        #expect(page.commonPrefixes == ["archive/acme/"])
        #expect(page.nextContinuationToken == "tok&en")
    }

    @Test func brokenListingsAreErrorsNotEmptyPages() {
        for xml in ["<ListBucketResult><Contents><Key>a</Key></Contents></ListBucketResult>", "<ListBucketResult><IsTruncated>true</IsTruncated></ListBucketResult>",
                    "<Other/>", "<ListBucketResult>", "not xml"] {
            #expect(throws: S3Error.self) { try S3Client.parseListing(ByteBuffer(string: xml), location) }
        }
    }

    @Test func errorsNameTheProblem() {
        func failure(_ status: HTTPResponseStatus, _ xml: String, headers: HTTPHeaders = [:]) -> S3Error {
            S3Client.failure(status, headers, ByteBuffer(string: xml), location, credentials: nil, region: "us-east-1")
        }
        #expect(failure(.notFound, "<Error><Code>NoSuchBucket</Code></Error>").kind == .noSuchBucket)
        #expect(failure(.notFound, "<Error><Code>NoSuchKey</Code></Error>").kind == .noSuchKey)
        #expect(failure(.forbidden, "<Error><Code>InvalidAccessKeyId</Code><Message>no such key id</Message></Error>").kind == .credentialsRefused)
        #expect(failure(.forbidden, "<Error><Code>AccessDenied</Code></Error>").kind == .accessDenied)
        let moved = failure(.movedPermanently, "<Error><Code>PermanentRedirect</Code></Error>", headers: ["x-amz-bucket-region": "eu-west-1"])
        #expect(moved.kind == .wrongRegion("eu-west-1"))
        #expect(moved.description.contains("AWS_REGION=eu-west-1"))
        #expect(failure(.badRequest, "<Error><Code>AuthorizationHeaderMalformed</Code><Region>ap-south-1</Region></Error>").kind == .wrongRegion("ap-south-1"))
    }

    @Test func throttlingAndServerErrorsAreRetriedOthersAreNot() {
        #expect(S3Client.isRetryable(.serviceUnavailable, code: "SlowDown"))
        #expect(S3Client.isRetryable(.internalServerError, code: nil))
        #expect(S3Client.isRetryable(.badRequest, code: "RequestTimeout"))
        #expect(!S3Client.isRetryable(.forbidden, code: "AccessDenied"))
        #expect(!S3Client.isRetryable(.notFound, code: "NoSuchKey"))
    }

    @Test func contentRangesAreParsedStrictly() {
        #expect(S3Client.parseContentRange("bytes 0-9/443")! == (0, 9, 443))
        #expect(S3Client.parseContentRange("bytes 9-0/443") == nil)
        #expect(S3Client.parseContentRange("bytes 0-443/443") == nil)
        #expect(S3Client.parseContentRange("bytes */443") == nil)
    }

    @Test func backoffIsJitteredAndCapped() {
        let policy = RetryPolicy(maxAttempts: 5, base: .milliseconds(100), cap: .seconds(1))
        for attempt in 1...20 {
            let d = policy.delay(after: attempt)
            #expect(d >= .zero && d <= .seconds(1))
        }
        let delays = Set((0..<20).map { _ in policy.delay(after: 3) })
        #expect(delays.count > 1)
    }
}
