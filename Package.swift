// swift-tools-version:6.0
import PackageDescription

// The parse, encode and decode loops mutate class-owned buffers once per field; Swift's dynamic
// exclusivity checks on those accesses cost ~28% of `segcat pack`'s instructions (callgrind, see
// tools/bench/format). The hot modules are checked statically and by their tests instead.
let hotPathSettings: [SwiftSetting] = [.unsafeFlags(["-enforce-exclusivity=unchecked"])]

let package = Package(
    name: "segments",
    platforms: [.macOS(.v15)],  // Int128 (the query engine's exact sums) needs macOS 15
    products: [
        .executable(name: "segcat", targets: ["segcat"]),
        .executable(name: "segd", targets: ["segd"]),
        .library(name: "SegmentFormat", targets: ["SegmentFormat"]),
        .library(name: "NDJSON", targets: ["NDJSON"]),
        .library(name: "Query", targets: ["Query"]),
    ],
    dependencies: [
        .package(url: "https://github.com/apple/swift-argument-parser", from: "1.8.2"),
        .package(url: "https://github.com/hummingbird-project/hummingbird", from: "2.28.1"),
        .package(url: "https://github.com/swift-server/swift-service-lifecycle", from: "2.13.0"),
        .package(url: "https://github.com/apple/swift-log", from: "1.16.2"),
        .package(url: "https://github.com/apple/swift-metrics", from: "2.13.0"),
        .package(url: "https://github.com/swift-server/swift-prometheus", from: "2.4.1"),
        .package(url: "https://github.com/apple/swift-crypto", from: "3.12.3"),
        .package(url: "https://github.com/adam-fowler/compress-nio", from: "1.5.0"),
        .package(url: "https://github.com/apple/swift-http-types", from: "1.8.0"),
        .package(url: "https://github.com/apple/swift-nio", from: "2.101.2"),
        .package(url: "https://github.com/apple/swift-nio-extras", from: "1.35.2"),
        .package(url: "https://github.com/apple/swift-nio-ssl", from: "2.37.6"),
        .package(url: "https://github.com/apple/swift-protobuf", from: "1.39.0"),
        .package(url: "https://github.com/swift-server/async-http-client", from: "1.37.0"),
    ],
    targets: [
        // C libraries, each behind its own system-library target (Debian: zlib1g-dev, liblz4-dev, libzstd-dev).
        .systemLibrary(name: "CZlib", pkgConfig: "zlib", providers: [.apt(["zlib1g-dev"])]),
        .systemLibrary(name: "CLZ4", pkgConfig: "liblz4", providers: [.apt(["liblz4-dev"])]),
        .systemLibrary(name: "CZstd", pkgConfig: "libzstd", providers: [.apt(["libzstd-dev"])]),
        // glibc's <malloc.h> (mallopt), which Swift's Glibc module leaves out.
        .systemLibrary(name: "CMalloc"),
        // Snappy, a content encoding of request bodies (Loki's push bodies); zstd above serves both.
        .systemLibrary(name: "CSnappy", pkgConfig: "snappy", providers: [.apt(["libsnappy-dev"])]),
        // Linux calls Swift's Glibc module leaves out (renameat2 with RENAME_NOREPLACE).
        .systemLibrary(name: "CFileSystem"),
        // glibc's posix_spawn_file_actions_addclosefrom_np (a _GNU_SOURCE declaration), for hooks.
        .systemLibrary(name: "CSpawn"),

        // The segment format: schemas, column builders, encodings, codecs, block and segment writer/reader.
        .target(name: "SegmentFormat", dependencies: ["CZlib", "CLZ4", "CZstd"], swiftSettings: hotPathSettings),
        // NDJSON on raw bytes: records into column builders, decoded blocks back to NDJSON, schema inference.
        .target(name: "NDJSON", dependencies: ["SegmentFormat"], swiftSettings: hotPathSettings),

        // The ingest server's storage, knowing nothing of HTTP: write-ahead log, per-stream buffers,
        // active segments, checkpoints, rotation, idempotency records, archival hooks.
        .target(name: "Ingest", dependencies: [
            "SegmentFormat", "NDJSON", "CFileSystem", "CSpawn",
            .product(name: "Logging", package: "swift-log"),
            .product(name: "Metrics", package: "swift-metrics"),
            .product(name: "Crypto", package: "swift-crypto"),
        ]),
        // Request headers, query strings and their values, parsed strictly from hostile bytes;
        // no dependencies, so the fuzz target links it as it is.
        .target(name: "RequestParsing"),
        // Queries over segments: expressions, pruning, evaluation, aggregation, output formats.
        .target(name: "Query", dependencies: ["SegmentFormat", "NDJSON"], swiftSettings: hotPathSettings),
        // S3 on async-http-client, knowing nothing of segments: SigV4 signing, the AWS credential
        // chain, ranged GETs and paged listings with retries.
        .target(name: "S3", dependencies: [
            .product(name: "AsyncHTTPClient", package: "async-http-client"),
            .product(name: "Crypto", package: "swift-crypto"),
        ]),
        // Segments where they live in S3: partition-pruned listings, ranged reads of footers and
        // chunks, the footer cache; a `SegmentSource` for the query.
        .target(name: "Archive", dependencies: ["S3", "Query", "SegmentFormat"]),

        .executableTarget(
            name: "segcat",
            dependencies: ["SegmentFormat", "NDJSON", "Query", "S3", "Archive", "CMalloc", .product(name: "ArgumentParser", package: "swift-argument-parser")]
        ),

        // The ingest server: HTTP API, tenants and limits, configuration, lifecycle.
        .executableTarget(
            name: "segd",
            dependencies: [
                "Ingest", "NDJSON", "SegmentFormat", "CMalloc", "CZlib", "RequestParsing",
                .product(name: "ArgumentParser", package: "swift-argument-parser"),
                .product(name: "Hummingbird", package: "hummingbird"),
                .product(name: "HummingbirdCore", package: "hummingbird"),
                .product(name: "NIOCore", package: "swift-nio"),
                .product(name: "NIOHTTP1", package: "swift-nio"),
                .product(name: "NIOHTTPTypes", package: "swift-nio-extras"),
                .product(name: "NIOHTTPTypesHTTP1", package: "swift-nio-extras"),
                .product(name: "ServiceLifecycle", package: "swift-service-lifecycle"),
                .product(name: "Logging", package: "swift-log"),
                .product(name: "Metrics", package: "swift-metrics"),
                .product(name: "Prometheus", package: "swift-prometheus"),
                .product(name: "Crypto", package: "swift-crypto"),
                .product(name: "CompressNIO", package: "compress-nio"),
                .product(name: "HTTPTypes", package: "swift-http-types"),
                // The protocol adapters: zstd and snappy bodies, OTLP and Loki's protobuf, the syslog TCP/TLS listener.
                "CZstd", "CSnappy",
                .product(name: "SwiftProtobuf", package: "swift-protobuf"),
                .product(name: "NIOPosix", package: "swift-nio"),
                .product(name: "NIOSSL", package: "swift-nio-ssl"),
            ]
        ),

        .testTarget(name: "SegmentFormatTests", dependencies: ["SegmentFormat"]),
        .testTarget(name: "NDJSONTests", dependencies: ["NDJSON", "SegmentFormat"], exclude: ["Golden"]),
        .testTarget(name: "IngestTests", dependencies: ["Ingest", "NDJSON", "SegmentFormat", .product(name: "Logging", package: "swift-log")]),
        .testTarget(name: "RequestParsingTests", dependencies: ["RequestParsing"]),
        .testTarget(name: "QueryTests", dependencies: ["Query", "NDJSON", "SegmentFormat"]),
        // The protocol adapters of segd (Sources/segd/Protocols), from bytes to NDJSON records.
        .testTarget(name: "ProtocolsTests", dependencies: ["segd", "NDJSON", "SegmentFormat", "CSnappy", "CZstd", .product(name: "SwiftProtobuf", package: "swift-protobuf")]),
        .testTarget(name: "S3Tests", dependencies: ["S3"], exclude: ["Data"]),
        .testTarget(name: "ArchiveTests", dependencies: ["Archive", "S3", "Query", "SegmentFormat"]),
    ],
    swiftLanguageModes: [.v6]
)
