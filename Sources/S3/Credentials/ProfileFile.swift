import Foundation

/// The AWS CLI's shared INI files, `~/.aws/credentials` and `~/.aws/config`: sections of
/// `key = value` lines. In the config file a profile's section is `[profile NAME]` (`[default]` for
/// the default profile); in the credentials file it is `[NAME]`. Comment lines start with `#` or `;`;
/// indented lines continue a nested setting (such as `s3 =`), which this reader skips.
public struct ProfileFile: Sendable {
    /// Section name (as written, without `profile `) to its settings, keys lower-cased.
    public private(set) var sections: [String: [String: String]] = [:]

    public init(text: String, isConfigFile: Bool) {
        var current: String?
        for raw in text.split(omittingEmptySubsequences: false, whereSeparator: { $0 == "\n" || $0 == "\r\n" }) {
            let line = raw.trimmingCharacters(in: .whitespaces)
            if line.isEmpty || line.hasPrefix("#") || line.hasPrefix(";") { continue }
            if raw.first == " " || raw.first == "\t" { continue }
            if line.hasPrefix("[") && line.hasSuffix("]") {
                var name = line.dropFirst().dropLast().trimmingCharacters(in: .whitespaces)
                if isConfigFile {
                    if name.hasPrefix("profile ") {
                        name = name.dropFirst("profile ".count).trimmingCharacters(in: .whitespaces)
                    } else if name != "default" {
                        // Other config sections (sso-session, services) are not profiles.
                        current = nil
                        continue
                    }
                }
                current = name
                if sections[name] == nil { sections[name] = [:] }
                continue
            }
            guard let current, let eq = line.firstIndex(of: "=") else { continue }
            let key = line[..<eq].trimmingCharacters(in: .whitespaces).lowercased()
            var value = line[line.index(after: eq)...].trimmingCharacters(in: .whitespaces)
            // An inline comment starts at " #" or " ;" (botocore's rule).
            for marker in [" #", " ;", "\t#", "\t;"] {
                if let r = value.range(of: marker) { value = value[..<r.lowerBound].trimmingCharacters(in: .whitespaces) }
            }
            sections[current, default: [:]][key] = value
        }
    }

    /// Reads the file at `path`; nil when it does not exist.
    public static func load(_ path: String, isConfigFile: Bool) throws -> ProfileFile? {
        guard FileManager.default.fileExists(atPath: path) else { return nil }
        guard let data = FileManager.default.contents(atPath: path) else {
            throw CredentialError("\(path): cannot be read")
        }
        return ProfileFile(text: String(decoding: data, as: UTF8.self), isConfigFile: isConfigFile)
    }
}

/// Where the shared files are and which profile is in use, from the environment as the AWS CLI
/// reads it (`AWS_PROFILE`, `AWS_SHARED_CREDENTIALS_FILE`, `AWS_CONFIG_FILE`, `HOME`).
public struct SharedProfiles: Sendable {
    public let profile: String
    /// Whether the profile was named (then it must exist).
    public let profileNamed: Bool
    public let credentialsPath: String
    public let configPath: String
    public let credentials: ProfileFile?
    public let config: ProfileFile?

    public init(environment: [String: String]) throws {
        let home = environment["HOME"] ?? NSHomeDirectory()
        let named = environment["AWS_PROFILE"] ?? environment["AWS_DEFAULT_PROFILE"]
        profile = named ?? "default"
        profileNamed = named != nil
        credentialsPath = environment["AWS_SHARED_CREDENTIALS_FILE"].map(Self.expandTilde(home)) ?? home + "/.aws/credentials"
        configPath = environment["AWS_CONFIG_FILE"].map(Self.expandTilde(home)) ?? home + "/.aws/config"
        credentials = try ProfileFile.load(credentialsPath, isConfigFile: false)
        config = try ProfileFile.load(configPath, isConfigFile: true)
        if profileNamed && credentials?.sections[profile] == nil && config?.sections[profile] == nil {
            throw CredentialError("the profile '\(profile)' (AWS_PROFILE) is in neither \(credentialsPath) nor \(configPath)")
        }
    }

    /// A setting of the profile: the credentials file first, then the config file.
    public func value(_ key: String) -> String? {
        credentials?.sections[profile]?[key] ?? config?.sections[profile]?[key]
    }

    /// A setting of the profile from the config file only (region, endpoint_url).
    public func configValue(_ key: String) -> String? {
        config?.sections[profile]?[key]
    }

    private static func expandTilde(_ home: String) -> (String) -> String {
        { $0.hasPrefix("~/") ? home + $0.dropFirst() : $0 }
    }
}
