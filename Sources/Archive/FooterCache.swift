import Crypto
import Foundation
import SegmentFormat

/// A local cache of segments' headers and footers, keyed by bucket, key and ETag, so that a second
/// query over the same objects makes no requests for them (an object rewritten under the same key
/// has another ETag, and so another entry).
///
/// One file per object under `<directory>/footers/`, named by a hash of the key and holding the
/// key, the object's size, the header and the footer, and a crc over all of it; the header and
/// footer carry their own crcs too, checked again on every use. Entries are written under a
/// temporary name and renamed, so concurrent commands sharing the directory never see half an
/// entry. The total size is bounded: past `limit` bytes the least recently used entries go.
/// Any problem with the cache makes it a miss, never a failed query. Safe to use from any thread.
public final class FooterCache: @unchecked Sendable {
    static let magic: [UInt8] = Array("SGFC".utf8)
    public let directory: String
    public let limit: Int
    private let lock = NSLock()
    /// Bytes held, counted on first use by a scan of the directory.
    private var total: Int?

    /// A cache in `directory` (created when needed) holding at most `limit` bytes.
    public init(directory: String, limit: Int) {
        self.directory = directory + "/footers"
        self.limit = max(0, limit)
    }

    /// The default directory: `$XDG_CACHE_HOME/segcat`, else `~/.cache/segcat`.
    public static func defaultDirectory(environment: [String: String]) -> String {
        if let xdg = environment["XDG_CACHE_HOME"], xdg.hasPrefix("/") { return xdg + "/segcat" }
        return (environment["HOME"] ?? NSHomeDirectory()) + "/.cache/segcat"
    }

    /// A cached header and footer.
    public struct Entry: Sendable, Equatable {
        public var size: Int
        public var header: [UInt8]
        public var footer: [UInt8]
    }

    public func load(bucket: String, key: String, etag: String) -> Entry? {
        let path = self.path(bucket, key, etag)
        guard let data = FileManager.default.contents(atPath: path) else { return nil }
        guard let entry = Self.decode([UInt8](data), id: Self.id(bucket, key, etag)) else {
            unlink(path)
            return nil
        }
        // Mark it recently used, for eviction.
        utimes(path, nil)
        return entry
    }

    public func store(_ entry: Entry, bucket: String, key: String, etag: String) {
        guard limit > 0 else { return }
        let bytes = Self.encode(entry, id: Self.id(bucket, key, etag))
        guard bytes.count <= limit else { return }
        let path = self.path(bucket, key, etag)
        let temporary = path + ".\(getpid()).\(UInt32.random(in: 0 ... .max)).partial"
        do {
            try FileManager.default.createDirectory(atPath: directory, withIntermediateDirectories: true)
            guard FileManager.default.createFile(atPath: temporary, contents: Data(bytes)), rename(temporary, path) == 0 else {
                unlink(temporary)
                return
            }
        } catch {
            return
        }
        lock.lock()
        let current = (total ?? scan()) + bytes.count
        total = current
        lock.unlock()
        if current > limit { evict() }
    }

    /// Removes the least recently used entries until the cache is at most 3/4 full.
    private func evict() {
        lock.lock()
        defer { lock.unlock() }
        var files = entries()
        files.sort { $0.used < $1.used }
        var held = files.reduce(0) { $0 + $1.size }
        for file in files where held > limit / 4 * 3 {
            if unlink(directory + "/" + file.name) == 0 { held -= file.size }
        }
        total = held
    }

    private func scan() -> Int { entries().reduce(0) { $0 + $1.size } }

    private func entries() -> [(name: String, size: Int, used: Double)] {
        guard let names = try? FileManager.default.contentsOfDirectory(atPath: directory) else { return [] }
        return names.compactMap { name in
            var st = stat()
            guard !name.hasSuffix(".partial"), stat(directory + "/" + name, &st) == 0 else { return nil }
            return (name, Int(st.st_size), Double(st.st_mtim.tv_sec) + Double(st.st_mtim.tv_nsec) / 1e9)
        }
    }

    private func path(_ bucket: String, _ key: String, _ etag: String) -> String {
        let digest = SHA256.hash(data: Self.id(bucket, key, etag))
        return directory + "/" + digest.map { String(format: "%02x", $0) }.joined()
    }

    private static func id(_ bucket: String, _ key: String, _ etag: String) -> [UInt8] {
        Array("\(bucket)\0\(key)\0\(etag)".utf8)
    }

    static func encode(_ entry: Entry, id: [UInt8]) -> [UInt8] {
        var out = magic
        func u32(_ v: Int) { withUnsafeBytes(of: UInt32(truncatingIfNeeded: v).littleEndian) { out += $0 } }
        func u64(_ v: Int) { withUnsafeBytes(of: UInt64(truncatingIfNeeded: v).littleEndian) { out += $0 } }
        u32(id.count)
        out += id
        u64(entry.size)
        u32(entry.header.count)
        out += entry.header
        u32(entry.footer.count)
        out += entry.footer
        u32(Int(out.withUnsafeBytes { Checksum.crc32($0) }))
        return out
    }

    static func decode(_ bytes: [UInt8], id: [UInt8]) -> Entry? {
        bytes.withUnsafeBytes { raw -> Entry? in
            guard raw.count >= 8, raw.prefix(4).elementsEqual(magic) else { return nil }
            let body = UnsafeRawBufferPointer(rebasing: raw[..<(raw.count - 4)])
            var crc = ByteReader(raw, position: raw.count - 4, context: "cache entry")
            guard let stored = try? crc.u32(), Checksum.crc32(body) == stored else { return nil }
            var r = ByteReader(body, position: 4, context: "cache entry")
            guard let idLength = try? Int(r.u32()), let storedID = try? r.bytes(idLength), storedID.elementsEqual(id),
                  let size = try? Int(r.u64()), let headerLength = try? Int(r.u32()), let header = try? r.bytes(headerLength),
                  let footerLength = try? Int(r.u32()), let footer = try? r.bytes(footerLength), r.isAtEnd else { return nil }
            return Entry(size: size, header: Array(header), footer: Array(footer))
        }
    }
}
