// swift-tools-version:6.0
import PackageDescription

// The parse, encode and decode loops mutate class-owned buffers once per field; Swift's dynamic
// exclusivity checks on those accesses cost ~28% of `segcat pack`'s instructions (callgrind, see
// tools/bench/format). The hot modules are checked statically and by their tests instead.
let hotPathSettings: [SwiftSetting] = [.unsafeFlags(["-enforce-exclusivity=unchecked"])]

let package = Package(
    name: "segments",
    platforms: [.macOS(.v14)],
    products: [
        .executable(name: "segcat", targets: ["segcat"]),
        .library(name: "SegmentFormat", targets: ["SegmentFormat"]),
        .library(name: "NDJSON", targets: ["NDJSON"]),
        .library(name: "Query", targets: ["Query"]),
    ],
    dependencies: [
        .package(url: "https://github.com/apple/swift-argument-parser", from: "1.8.2"),
    ],
    targets: [
        // C libraries, each behind its own system-library target (Debian: zlib1g-dev, liblz4-dev).
        .systemLibrary(name: "CZlib", pkgConfig: "zlib", providers: [.apt(["zlib1g-dev"])]),
        .systemLibrary(name: "CLZ4", pkgConfig: "liblz4", providers: [.apt(["liblz4-dev"])]),
        // glibc's <malloc.h> (mallopt), which Swift's Glibc module leaves out.
        .systemLibrary(name: "CMalloc"),

        // The segment format: schemas, column builders, encodings, codecs, block and segment writer/reader.
        .target(name: "SegmentFormat", dependencies: ["CZlib", "CLZ4"], swiftSettings: hotPathSettings),
        // NDJSON on raw bytes: records into column builders, decoded blocks back to NDJSON, schema inference.
        .target(name: "NDJSON", dependencies: ["SegmentFormat"], swiftSettings: hotPathSettings),

        // The ingest server's storage: write-ahead log, active segments, naming (segd builds on it).
        .target(name: "Ingest", dependencies: ["SegmentFormat", "NDJSON"]),
        // Queries over segments: expressions, pruning, evaluation, aggregation, output formats.
        .target(name: "Query", dependencies: ["SegmentFormat", "NDJSON"], swiftSettings: hotPathSettings),

        .executableTarget(
            name: "segcat",
            dependencies: ["SegmentFormat", "NDJSON", "Query", "CMalloc", .product(name: "ArgumentParser", package: "swift-argument-parser")]
        ),

        .testTarget(name: "SegmentFormatTests", dependencies: ["SegmentFormat"]),
        .testTarget(name: "NDJSONTests", dependencies: ["NDJSON", "SegmentFormat"], exclude: ["Golden"]),
        .testTarget(name: "IngestTests", dependencies: ["Ingest", "NDJSON", "SegmentFormat"]),
        .testTarget(name: "QueryTests", dependencies: ["Query", "NDJSON", "SegmentFormat"]),
    ],
    swiftLanguageModes: [.v6]
)
