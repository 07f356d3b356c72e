import Testing
@testable import S3

struct S3ConfigurationTests {
    @Test func regionAndEndpointFollowTheAWSCLIsOrder() throws {
        var env = ["AWS_DEFAULT_REGION": "eu-west-1", "AWS_ENDPOINT_URL": "http://127.0.0.1:5000"]
        var config = try S3Configuration(environment: env, profiles: nil)
        #expect(config.region == "eu-west-1")
        #expect(config.endpoint?.authority == "127.0.0.1:5000")
        env["AWS_REGION"] = "us-west-2"
        env["AWS_ENDPOINT_URL_S3"] = "https://store.example:9000/base/"
        config = try S3Configuration(environment: env, profiles: nil)
        #expect(config.region == "us-west-2")
        #expect(config.endpoint == (try S3Configuration.Endpoint("https://store.example:9000/base")))
        #expect(try S3Configuration(environment: [:], profiles: nil).region == "us-east-1")
    }

    @Test func customEndpointsArePathStyleAndAWSIsVirtualHosted() throws {
        let custom = S3Configuration(region: "us-east-1", endpoint: try .init("http://127.0.0.1:5000/s3"))
        #expect(custom.address(bucket: "logs", key: "a/b.seg") == ("http", "127.0.0.1:5000", "/s3/logs/a/b.seg"))
        let aws = S3Configuration(region: "eu-west-1", endpoint: nil)
        #expect(aws.address(bucket: "logs", key: "a/b.seg") == ("https", "logs.s3.eu-west-1.amazonaws.com", "/a/b.seg"))
        #expect(aws.address(bucket: "my.logs", key: "k") == ("https", "s3.eu-west-1.amazonaws.com", "/my.logs/k"))
    }

    @Test func badEndpointsAndRegionsAreRefused() {
        #expect(throws: S3ConfigurationError.self) { try S3Configuration(environment: ["AWS_ENDPOINT_URL": "ftp://x"], profiles: nil) }
        #expect(throws: S3ConfigurationError.self) { try S3Configuration(environment: ["AWS_REGION": "us east"], profiles: nil) }
    }

    @Test func s3LocationsSplitBucketAndKey() {
        #expect(S3Location("s3://logs/archive/acme/") == S3Location(bucket: "logs", key: "archive/acme/"))
        #expect(S3Location("s3://logs") == S3Location(bucket: "logs", key: ""))
        #expect(S3Location("s3://x/key") == nil)
        #expect(S3Location("/tmp/x") == nil)
    }
}
