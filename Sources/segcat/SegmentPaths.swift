import Foundation
import SegmentFormat

/// Expands command-line paths into the segments to read: files as given, directories searched
/// recursively for `*.seg` files in path order, `-` for standard input. A directory without a
/// segment is reported through `note` (an empty answer should never pass for a wrong path) and
/// adds nothing.
enum SegmentPaths {
    static func expand(_ paths: [String], note: (String) -> Void = { _ in }) throws -> [String] {
        var result: [String] = []
        for path in paths {
            if path == "-" {
                result.append(path)
                continue
            }
            if path.contains(where: { "*?[".contains($0) }) && !FileManager.default.fileExists(atPath: path) {
                result.append(contentsOf: try expand(glob(path), note: note))
                continue
            }
            var isDirectory: ObjCBool = false
            guard FileManager.default.fileExists(atPath: path, isDirectory: &isDirectory) else {
                throw FileError(path: path, message: "no such file or directory")
            }
            guard isDirectory.boolValue else {
                result.append(path)
                continue
            }
            guard let walker = FileManager.default.enumerator(atPath: path) else {
                throw FileError(path: path, message: "cannot read directory")
            }
            var found: [String] = []
            while let relative = walker.nextObject() as? String {
                if relative.hasSuffix(".seg") { found.append((path as NSString).appendingPathComponent(relative)) }
            }
            if found.isEmpty { note("\(path): no segment (*.seg file) in this directory") }
            result.append(contentsOf: found.sorted())
        }
        return result
    }

    /// The paths a glob pattern matches, sorted (for patterns the shell did not expand, e.g. quoted).
    static func glob(_ pattern: String) throws -> [String] {
        var g = glob_t()
        defer { globfree(&g) }
        guard Glibc.glob(pattern, 0, nil, &g) == 0 else { throw FileError(path: pattern, message: "no file matches") }
        return (0..<Int(g.gl_pathc)).compactMap { g.gl_pathv[$0].map { String(cString: $0) } }.sorted()
    }

    /// Opens the segment at `path` (`-`: all of standard input).
    static func open(_ path: String) throws -> SegmentReader {
        if path == "-" {
            return try SegmentReader(data: SegmentData(StandardInput.readAll()))
        }
        return try SegmentReader(path: path)
    }
}

/// Reads standard input.
enum StandardInput {
    static func readAll() -> [UInt8] {
        var out: [UInt8] = []
        while let chunk = readChunk() { out.append(contentsOf: chunk) }
        return out
    }

    /// The next chunk of up to 4 MiB, or nil at end of input.
    static func readChunk(_ size: Int = 4 << 20) -> [UInt8]? {
        var buffer = [UInt8](repeating: 0, count: size)
        while true {
            let n = buffer.withUnsafeMutableBytes { read(0, $0.baseAddress, size) }
            if n < 0 && errno == EINTR { continue }
            guard n > 0 else { return nil }
            buffer.removeLast(size - n)
            return buffer
        }
    }
}
