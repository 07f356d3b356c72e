// swift-tools-version:6.0
import PackageDescription

let package = Package(
    name: "segments",
    platforms: [.macOS(.v14)],
    products: [
        .executable(name: "segcat", targets: ["segcat"]),
        .library(name: "SegmentFormat", targets: ["SegmentFormat"]),
        .library(name: "NDJSON", targets: ["NDJSON"]),
    ],
    dependencies: [
        .package(url: "https://github.com/apple/swift-argument-parser", from: "1.8.2"),
    ],
    targets: [
        // C libraries, each behind its own system-library target (Debian: zlib1g-dev, liblz4-dev).
        .systemLibrary(name: "CZlib", pkgConfig: "zlib", providers: [.apt(["zlib1g-dev"])]),
        .systemLibrary(name: "CLZ4", pkgConfig: "liblz4", providers: [.apt(["liblz4-dev"])]),

        // The segment format: schemas, column builders, encodings, codecs, block and segment writer/reader.
        .target(name: "SegmentFormat", dependencies: ["CZlib", "CLZ4"]),
        // NDJSON on raw bytes: records into column builders, decoded blocks back to NDJSON, schema inference.
        .target(name: "NDJSON", dependencies: ["SegmentFormat"]),

        .executableTarget(
            name: "segcat",
            dependencies: ["SegmentFormat", "NDJSON", .product(name: "ArgumentParser", package: "swift-argument-parser")]
        ),

        .testTarget(name: "SegmentFormatTests", dependencies: ["SegmentFormat"], resources: [.copy("Golden")]),
        .testTarget(name: "NDJSONTests", dependencies: ["NDJSON", "SegmentFormat"]),
        .testTarget(name: "SegcatTests", dependencies: ["SegmentFormat", "NDJSON"], resources: [.copy("Schemas")]),
    ],
    swiftLanguageModes: [.v6]
)
