/// The idempotency key file on disk, on the storage's durable-file primitive (`DurableFile`):
/// read whole at start, appended to and fsynced, or replaced atomically (`FileSystem.replace`).
/// After a failed write or fsync the file is poisoned and never written again: the owner must
/// `replace` (fsyncgate: Linux may drop the dirty pages of a failed fsync and report success on
/// the next one). A replace whose rename happened but whose directory fsync failed throws too:
/// the new file is in place, but the owner must not count on it and rewrites again later.
/// Not thread-safe: `IdempotencyStore` serializes its I/O.
struct KeyFile {
    let path: String
    private let fileSystem: any FileSystem
    private var file: DurableFile?

    init(path: String, fileSystem: any FileSystem) {
        self.path = path
        self.fileSystem = fileSystem
    }

    /// What `load` found.
    struct Loaded {
        /// Complete lines (without their newline).
        var lines: [ArraySlice<UInt8>]
        /// False when the file cannot simply be appended to (a torn tail that could not be cut).
        var appendable: Bool
    }

    /// Reads the file; a missing file is empty, any other error throws. A torn last line (no
    /// newline) is ignored and cut off, so that appends start on a line of their own.
    mutating func load() throws(FileSystemError) -> Loaded {
        let bytes: [UInt8]
        do throws(FileSystemError) {
            bytes = try fileSystem.readFile(path)
        } catch where error.isNotFound {
            return Loaded(lines: [], appendable: true)
        }
        let complete = (bytes.lastIndex(of: 0x0A).map { $0 + 1 }) ?? 0
        let lines = bytes[0..<complete].split(separator: 0x0A)
        // Shrinking needs no free space; if even that fails, the owner rewrites the file.
        file = try? DurableFile.resume(path, at: complete, fileSystem: fileSystem)
        return Loaded(lines: lines, appendable: file != nil)
    }

    /// Appends `bytes` and fsyncs. After a throw the file is given up: call `replace`.
    mutating func append(_ bytes: [UInt8]) throws(FileSystemError) {
        do throws(FileSystemError) {
            if self.file == nil { self.file = try DurableFile.create(path, fileSystem: fileSystem) }
            guard let file = self.file else { return }
            try file.append(bytes)
            try file.sync()
        } catch {
            file?.close()
            file = nil
            throw error
        }
    }

    /// Replaces the file with `bytes` (temporary file, fsync, rename, directory fsync) and opens
    /// the new one for appending. Throws `NotReplaced` (the old file is in place), or the
    /// directory fsync's error (replaced, durability unknown); either way the owner rewrites
    /// again later.
    mutating func replace(with bytes: [UInt8]) throws {
        file?.close()
        file = nil
        if case let .replacedDurabilityUnknown(error) = try fileSystem.replace(path, with: bytes) {
            throw error
        }
        file = try DurableFile.resume(path, at: bytes.count, fileSystem: fileSystem)
    }
}
