import Logging
import SegmentFormat

/// Reads one write-ahead-log generation file front to back through the file system, one buffer
/// at a time (never the whole file), checking every frame: what is sound, where the first damage
/// is, and whether a sound frame follows the damage (then it is not a torn tail). What to do with
/// damage is the recovery planner's decision, not the scanner's.
struct LogScanner {
    /// Where one sound frame's payload lies, and the stream it belongs to (nil in a stream's own log).
    struct FrameLocation: Sendable, Equatable {
        var sequence: UInt64
        var offset: Int
        var length: Int
        var stream: String? = nil
        /// Where the frame ends.
        var end: Int { offset + length }
    }

    /// The first thing in a file that is not a sound frame.
    struct Damage: Sendable, Equatable {
        var offset: Int
        var reason: String
        /// A sound frame starts somewhere after the damage.
        var soundFrameAfter: Bool
    }

    /// What a scan found in one generation file.
    struct Generation: Sendable, Equatable {
        var number: Int
        var path: String
        /// nil for a version 1 file, or a file too short to hold a header.
        var header: LogFormat.GenerationHeader?
        var fileSize: Int
        /// Where frames start (after the header, if any).
        var dataStart: Int
        /// The end of the last sound frame before any damage.
        var validEnd: Int
        var frameCount = 0
        var firstSequence: UInt64?
        var lastSequence: UInt64?
        var damage: Damage?
    }

    private let fileSystem: any FileSystem
    private let path: String
    private let fd: Int32
    private let fileSize: Int
    private var buffer: [UInt8] = []
    private var bufferOffset = 0

    private init(fileSystem: any FileSystem, path: String, fd: Int32, fileSize: Int) {
        self.fileSystem = fileSystem
        self.path = path
        self.fd = fd
        self.fileSize = fileSize
    }

    /// Scans the generation file at `path` up to `limit` (when the next generation's header
    /// records where this one's acknowledged frames end: a frame that crosses it is damage),
    /// calling `visit` with each sound frame (its payload is borrowed for the call only). Throws
    /// only when the file cannot be read.
    static func scan(_ path: String, number: Int, limit: Int?, fileSystem: any FileSystem,
                     visit: (FrameLocation, UnsafeRawBufferPointer) -> Void) throws(FileSystemError) -> Generation {
        let fd = try fileSystem.open(path, .read)
        defer { fileSystem.close(fd) }
        var scanner = LogScanner(fileSystem: fileSystem, path: path, fd: fd, fileSize: try fileSystem.size(fd, path: path))
        return try scanner.run(number: number, limit: limit, visit: visit)
    }

    /// Scans every generation file in `directory`, oldest first, each up to where the next one's
    /// header says it ends; `visit` gets each sound frame with its generation's number and path.
    static func scanDirectory(_ directory: String, fileSystem: any FileSystem,
                              visit: (Int, String, FrameLocation, UnsafeRawBufferPointer) -> Void) throws(FileSystemError) -> [Generation] {
        let numbers = try fileSystem.list(directory).compactMap(LogFormat.generation(ofFile:)).sorted()
        let paths = numbers.map { directory + "/" + LogFormat.fileName($0) }
        var ends: [Int: Int] = [:]
        for (number, path) in zip(numbers, paths) {
            if let header = try header(path, number: number, fileSystem: fileSystem), header.previousGeneration > 0, let end = header.previousEnd {
                ends[header.previousGeneration] = end
            }
        }
        var generations: [Generation] = []
        for (number, path) in zip(numbers, paths) {
            generations.append(try scan(path, number: number, limit: ends[number], fileSystem: fileSystem) { visit(number, path, $0, $1) })
        }
        return generations
    }

    /// Carries out a recovery plan's cuts: each file is cut back and fsynced.
    static func cut(_ cuts: [RecoveryPlanner.LogCut], fileSystem: any FileSystem, logger: Logger) throws(FileSystemError) {
        for cut in cuts {
            logger.warning("cutting the write-ahead log", metadata: ["path": "\(cut.path)", "offset": "\(cut.offset)", "reason": "\(cut.reason)"])
            let fd = try fileSystem.open(cut.path, .write)
            defer { fileSystem.close(fd) }
            try fileSystem.truncate(fd, to: cut.offset, path: cut.path)
            try fileSystem.sync(fd, path: cut.path)
        }
    }

    /// The header of the generation file at `path`, nil when it has none (version 1, or too short).
    static func header(_ path: String, number: Int, fileSystem: any FileSystem) throws(FileSystemError) -> LogFormat.GenerationHeader? {
        let fd = try fileSystem.open(path, .read)
        defer { fileSystem.close(fd) }
        var scanner = LogScanner(fileSystem: fileSystem, path: path, fd: fd, fileSize: try fileSystem.size(fd, path: path))
        guard scanner.fileSize >= LogFormat.headerSize, try scanner.startsWith(LogFormat.headerMagic, at: 0) else { return nil }
        try scanner.ensure(0, LogFormat.headerSize)
        return scanner.borrow(0, LogFormat.headerSize) { try? LogFormat.decodeHeader($0) }.flatMap { $0.generation == number ? $0 : nil }
    }

    /// Reads the payload at `location` of the generation file at `path`.
    static func payload(at location: FrameLocation, path: String, fileSystem: any FileSystem) throws(FileSystemError) -> [UInt8] {
        let fd = try fileSystem.open(path, .read)
        defer { fileSystem.close(fd) }
        var bytes = [UInt8](repeating: 0, count: location.length)
        var done = 0
        while done < bytes.count {
            let n = try bytes.withMutableFileBytes { (raw) throws(FileSystemError) -> Int in
                try fileSystem.read(fd, into: UnsafeMutableRawBufferPointer(rebasing: raw[done...]), at: location.offset + done, path: path)
            }
            guard n > 0 else { throw FileSystemError(.read, path: path, code: 5) }
            done += n
        }
        return bytes
    }

    private mutating func run(number: Int, limit: Int?, visit: (FrameLocation, UnsafeRawBufferPointer) -> Void) throws(FileSystemError) -> Generation {
        var generation = Generation(number: number, path: path, header: nil, fileSize: fileSize, dataStart: 0, validEnd: 0)
        if try startsWith(LogFormat.headerMagic, at: 0) {
            guard fileSize >= LogFormat.headerSize else {
                generation.damage = Damage(offset: 0, reason: "header cut short at \(fileSize) bytes", soundFrameAfter: false)
                return generation
            }
            try ensure(0, LogFormat.headerSize)
            let header = borrow(0, LogFormat.headerSize) { try? LogFormat.decodeHeader($0) }
            guard let header, header.generation == number else {
                generation.damage = Damage(offset: 0, reason: "damaged header", soundFrameAfter: try soundFrame(after: 0) != nil)
                return generation
            }
            generation.header = header
            generation.dataStart = LogFormat.headerSize
        }
        var offset = generation.dataStart
        generation.validEnd = offset
        let end = min(fileSize, limit ?? fileSize)
        while offset < end {
            var result = try frame(at: offset, after: generation.lastSequence)
            if case let .success(location) = result, location.end > end {
                result = .failure(Unsound(text: "frame crosses offset \(end), where the next generation's header says this one ends"))
            }
            guard case let .success(location) = result else {
                if case let .failure(reason) = result {
                    generation.damage = Damage(offset: offset, reason: reason.text, soundFrameAfter: try soundFrame(after: offset) != nil)
                }
                break
            }
            try ensure(location.offset, location.length)
            borrow(location.offset, location.length) { visit(location, $0) }
            generation.frameCount += 1
            if generation.firstSequence == nil { generation.firstSequence = location.sequence }
            generation.lastSequence = location.sequence
            offset = location.end
            generation.validEnd = offset
        }
        return generation
    }

    private struct Unsound: Error {
        var text: String
    }

    /// The sound frame at `offset`, or why there is none.
    private mutating func frame(at offset: Int, after previous: UInt64?) throws(FileSystemError) -> Result<FrameLocation, Unsound> {
        guard fileSize - offset >= LogFormat.frameHeaderSize else {
            return .failure(Unsound(text: "frame header cut short (\(fileSize - offset) bytes before the end)"))
        }
        try ensure(offset, LogFormat.frameHeaderSize)
        guard let header = borrow(offset, LogFormat.frameHeaderSize, LogFormat.decodeFrameHeader) else {
            return .failure(Unsound(text: "no frame starts here"))
        }
        var location = FrameLocation(sequence: header.sequence, offset: offset + LogFormat.frameHeaderSize, length: header.length)
        guard location.end <= fileSize else {
            return .failure(Unsound(text: "frame of \(header.length) bytes runs past the end of the file"))
        }
        try ensure(location.offset, location.length)
        let crc = borrow(location.offset, location.length) { LogFormat.checksum(sequence: header.sequence, payload: $0) }
        guard crc == header.crc else { return .failure(Unsound(text: "frame checksum mismatch (sequence \(header.sequence))")) }
        if let previous, header.sequence <= previous {
            return .failure(Unsound(text: "sequence \(header.sequence) after \(previous)"))
        }
        if header.tenant {
            guard let (stream, payloadOffset) = borrow(location.offset, location.length, LogFormat.decodeStreamPrefix) else {
                return .failure(Unsound(text: "frame of sequence \(header.sequence) names no valid stream"))
            }
            location.stream = stream
            location.offset += payloadOffset
            location.length -= payloadOffset
        }
        return .success(location)
    }

    /// The first sound frame that starts after `offset`, if any.
    private mutating func soundFrame(after offset: Int) throws(FileSystemError) -> FrameLocation? {
        var candidate = offset + 1
        while candidate + LogFormat.frameHeaderSize <= fileSize {
            let count = min(1 << 20, fileSize - candidate)
            try ensure(candidate, count)
            guard let hit = borrow(candidate, count, { Self.find(LogFormat.frameMagicPrefix, in: $0) }) else {
                candidate += max(1, count - LogFormat.frameMagicPrefix.count + 1)
                continue
            }
            if case let .success(location) = try frame(at: candidate + hit, after: nil) { return location }
            candidate += hit + 1
        }
        return nil
    }

    private static func find(_ needle: [UInt8], in haystack: UnsafeRawBufferPointer) -> Int? {
        guard haystack.count >= needle.count else { return nil }
        for i in 0...(haystack.count - needle.count) where haystack[i] == needle[0] {
            if haystack[i..<(i + needle.count)].elementsEqual(needle) { return i }
        }
        return nil
    }

    private mutating func startsWith(_ magic: [UInt8], at offset: Int) throws(FileSystemError) -> Bool {
        guard fileSize - offset >= magic.count else { return false }
        try ensure(offset, magic.count)
        return borrow(offset, magic.count) { $0.elementsEqual(magic) }
    }

    /// Makes `count` bytes at `offset` (within the file) available to `borrow`.
    private mutating func ensure(_ offset: Int, _ count: Int) throws(FileSystemError) {
        if offset < bufferOffset || offset + count > bufferOffset + buffer.count {
            try fill(from: offset, atLeast: count)
        }
    }

    /// Calls `body` with `count` bytes at `offset`, straight from the buffer (after `ensure`).
    private func borrow<R>(_ offset: Int, _ count: Int, _ body: (UnsafeRawBufferPointer) -> R) -> R {
        buffer.withUnsafeBytes { body(UnsafeRawBufferPointer(rebasing: $0[(offset - bufferOffset)..<(offset - bufferOffset + count)])) }
    }

    private mutating func fill(from offset: Int, atLeast count: Int) throws(FileSystemError) {
        let size = min(max(count, 1 << 20), fileSize - offset)
        if buffer.count != size { buffer = [UInt8](repeating: 0, count: size) }
        let (fileSystem, fd, path) = (self.fileSystem, self.fd, self.path)
        var done = 0
        while done < size {
            let n = try buffer.withMutableFileBytes { (raw) throws(FileSystemError) -> Int in
                try fileSystem.read(fd, into: UnsafeMutableRawBufferPointer(rebasing: raw[done...]), at: offset + done, path: path)
            }
            if n == 0 { break }
            done += n
        }
        if done < size { buffer.removeLast(size - done) }
        bufferOffset = offset
        guard done >= count else { throw FileSystemError(.read, path: path, code: 5) }
    }
}
