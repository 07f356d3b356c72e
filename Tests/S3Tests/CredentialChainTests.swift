import Foundation
import Testing
@testable import S3

/// The environment and profile links of the chain (the container endpoint and instance metadata are
/// tested end to end against fake endpoints on loopback, Tests/shipping/test_s3_credentials.py).
struct CredentialChainTests {
    static func files(credentials: String? = nil, config: String? = nil) throws -> [String: String] {
        let dir = FileManager.default.temporaryDirectory.appendingPathComponent("s3-creds-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: dir, withIntermediateDirectories: true)
        if let credentials { try credentials.write(to: dir.appendingPathComponent("credentials"), atomically: true, encoding: .utf8) }
        if let config { try config.write(to: dir.appendingPathComponent("config"), atomically: true, encoding: .utf8) }
        return ["AWS_SHARED_CREDENTIALS_FILE": dir.appendingPathComponent("credentials").path,
                "AWS_CONFIG_FILE": dir.appendingPathComponent("config").path, "HOME": dir.path]
    }

    @Test func environmentVariablesComeFirst() throws {
        var env = try Self.files(credentials: "[default]\naws_access_key_id = FILEKEY\naws_secret_access_key = filesecret\n")
        env["AWS_ACCESS_KEY_ID"] = "ENVKEY"
        env["AWS_SECRET_ACCESS_KEY"] = "envsecret"
        env["AWS_SESSION_TOKEN"] = "envtoken"
        let found = try #require(try CredentialChain.environmentCredentials(env))
        #expect(found == AWSCredentials(accessKeyID: "ENVKEY", secretAccessKey: "envsecret", sessionToken: "envtoken", source: "environment"))
    }

    @Test func halfAKeyPairInTheEnvironmentIsAnError() throws {
        #expect(throws: CredentialError.self) { try CredentialChain.environmentCredentials(["AWS_ACCESS_KEY_ID": "K"]) }
        #expect(throws: CredentialError.self) { try CredentialChain.environmentCredentials(["AWS_SECRET_ACCESS_KEY": "S"]) }
        #expect(try CredentialChain.environmentCredentials(["AWS_ACCESS_KEY_ID": ""]) == nil)
    }

    @Test func theNamedProfileIsReadFromTheCredentialsFileThenTheConfigFile() throws {
        var env = try Self.files(
            credentials: "[default]\naws_access_key_id = DEFAULTKEY\naws_secret_access_key = d\n\n[dev]\naws_access_key_id=DEVKEY\naws_secret_access_key=devsecret ; a comment\naws_session_token = devtoken\n",
            config: "[default]\nregion = eu-west-1\n[profile ops]\naws_access_key_id = OPSKEY\naws_secret_access_key = opssecret\nregion = ap-south-1\ns3 =\n  addressing_style = path\n")
        env["AWS_PROFILE"] = "dev"
        var found = try #require(try CredentialChain.profileCredentials(SharedProfiles(environment: env)))
        #expect(found.accessKeyID == "DEVKEY" && found.secretAccessKey == "devsecret" && found.sessionToken == "devtoken")
        #expect(found.source.contains("profile 'dev'"))
        env["AWS_PROFILE"] = "ops"
        let profiles = try SharedProfiles(environment: env)
        found = try #require(try CredentialChain.profileCredentials(profiles))
        #expect(found.accessKeyID == "OPSKEY" && found.source.contains("config"))
        #expect(try S3Configuration(environment: env, profiles: profiles).region == "ap-south-1")
        env["AWS_PROFILE"] = nil
        let byDefault = try #require(try CredentialChain.profileCredentials(SharedProfiles(environment: env)))
        #expect(byDefault.accessKeyID == "DEFAULTKEY")
    }

    @Test func aMissingNamedProfileIsAnError() throws {
        var env = try Self.files(credentials: "[default]\naws_access_key_id = K\naws_secret_access_key = S\n")
        env["AWS_PROFILE"] = "nope"
        #expect { try SharedProfiles(environment: env) } throws: { "\($0)".contains("'nope'") }
    }

    @Test func theContainerEndpointMustBeHTTPSOrLocal() throws {
        #expect(try ContainerCredentials(environment: ["AWS_CONTAINER_CREDENTIALS_RELATIVE_URI": "/v2/credentials/abc"])?.url
                == "http://169.254.170.2/v2/credentials/abc")
        #expect(try ContainerCredentials(environment: ["AWS_CONTAINER_CREDENTIALS_FULL_URI": "http://127.0.0.1:9/creds"])?.url == "http://127.0.0.1:9/creds")
        #expect(throws: CredentialError.self) { try ContainerCredentials(environment: ["AWS_CONTAINER_CREDENTIALS_FULL_URI": "http://example.com/creds"]) }
        #expect(try ContainerCredentials(environment: [:]) == nil)
    }

    @Test func instanceMetadataCanBeTurnedOffOrMoved() {
        #expect(InstanceMetadataCredentials(environment: ["AWS_EC2_METADATA_DISABLED": "true"]) == nil)
        #expect(InstanceMetadataCredentials(environment: [:])?.endpoint == "http://169.254.169.254")
        #expect(InstanceMetadataCredentials(environment: ["AWS_EC2_METADATA_SERVICE_ENDPOINT": "http://127.0.0.1:5/"])?.endpoint == "http://127.0.0.1:5")
    }

    @Test func temporaryCredentialsAreRenewedBeforeTheyExpire() {
        let now = Date()
        let soon = AWSCredentials(accessKeyID: "A", secretAccessKey: "S", expiration: now.addingTimeInterval(60), source: "x")
        let later = AWSCredentials(accessKeyID: "A", secretAccessKey: "S", expiration: now.addingTimeInterval(3600), source: "x")
        #expect(soon.expires(within: CredentialChain.refreshMargin, of: now))
        #expect(!later.expires(within: CredentialChain.refreshMargin, of: now))
    }
}
