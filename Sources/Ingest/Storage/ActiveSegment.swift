import SegmentFormat

/// The segment a stream is appending to, in its `active/` directory: each encoded block is
/// appended and fsynced (`DurableFile`).
///
/// Sealing is a sequence of steps that can each be retried: `writeFooter` (footer durable), then
/// `move` into `rotated/` under a name no other segment has (`renameat2(RENAME_NOREPLACE)`), with
/// both directories fsynced. A file poisoned by a failed fsync (during an append or the footer)
/// takes no more writes: `copySealed` writes its confirmed blocks and a footer into a new file
/// in `rotated/` instead, and the poisoned file is removed.
///
/// Blocking file I/O; not thread-safe: the stream's segment pipeline owns it.
final class ActiveSegment {
    /// Where a segment stands on its way to `rotated/`.
    enum State: Equatable {
        case open
        /// Footer written and durable; the file takes no more blocks.
        case footerDurable
        /// A failed fsync (or cut-back): only the blocks confirmed before it are trustworthy.
        case poisoned
    }

    /// Facts about a sealed segment, for the archival hooks.
    struct Sealed: Sendable, Equatable {
        let path: String
        let rows: Int
        let timeRange: ClosedRange<Int64>?
    }

    let name: String
    private(set) var path: String
    private let fileSystem: any FileSystem
    private let file: DurableFile
    private(set) var writer: SegmentWriter
    private(set) var state: State = .open

    private init(name: String, path: String, file: DurableFile, writer: SegmentWriter, fileSystem: any FileSystem) {
        self.name = name
        self.path = path
        self.file = file
        self.writer = writer
        self.fileSystem = fileSystem
    }

    /// Creates segment `name` in `directory`, with `header` written and durable.
    static func create(_ name: String, in directory: String, header: SegmentHeader, fileSystem: any FileSystem) throws(FileSystemError) -> ActiveSegment {
        let path = directory + "/" + name
        let file = try DurableFile.create(path, fileSystem: fileSystem)
        let writer = SegmentWriter(header: header)
        do throws(FileSystemError) {
            try file.append(writer.headerBytes)
            try file.sync()
        } catch {
            file.close()
            try? fileSystem.remove(path)
            throw error
        }
        return ActiveSegment(name: name, path: path, file: file, writer: writer, fileSystem: fileSystem)
    }

    /// Reopens a segment a crash left at `path` with the blocks `writer` holds, cut to its size.
    static func resume(_ path: String, writer: SegmentWriter, fileSystem: any FileSystem) throws(FileSystemError) -> ActiveSegment {
        let file = try DurableFile.resume(path, at: writer.size, fileSystem: fileSystem)
        return ActiveSegment(name: FileSystemPath.name(of: path), path: path, file: file, writer: writer, fileSystem: fileSystem)
    }

    /// Bytes in the file: the header and every block (the footer comes with `writeFooter`).
    var size: Int { writer.size }
    var rowCount: Int { writer.rowCount }
    var blockCount: Int { writer.blocks.count }
    var timeRange: ClosedRange<Int64>? { writer.timeRange }
    var created: Int64 { writer.header.created }
    /// The format version its header announces (a segment an older segd began may have an older one).
    var formatVersion: UInt16 { writer.header.version }

    /// Appends `block` and makes it durable. On failure the segment is unchanged (the file cut
    /// back), or poisoned when the fsync or the cut-back failed.
    func append(_ block: BlockEncoder.EncodedBlock) throws(FileSystemError) {
        var next = writer
        let bytes = next.append(block)
        do throws(FileSystemError) {
            try file.append(bytes)
            try file.sync()
        } catch {
            if file.isPoisoned { state = .poisoned }
            throw error
        }
        writer = next
    }

    /// Sealing, step 1: writes the footer and makes it durable.
    func writeFooter() throws(FileSystemError) {
        guard state == .open else { return }
        do throws(FileSystemError) {
            try file.append(writer.footer())
            try file.sync()
        } catch {
            if file.isPoisoned { state = .poisoned }
            throw error
        }
        file.close()
        state = .footerDurable
    }

    /// Sealing, step 2: moves the file into `directory` as `target` (which must not exist:
    /// EEXIST then, and nothing moves) and fsyncs both directories. Returns the sealed facts and
    /// whether the move is known durable; once the rename has happened it is never undone.
    func move(into directory: String, as target: String) throws(FileSystemError) -> (Sealed, ReplaceOutcome) {
        precondition(state == .footerDurable, "only a segment with a durable footer moves")
        let destination = directory + "/" + target
        try fileSystem.rename(path, to: destination, .noReplace)
        let from = path
        path = destination
        let sealed = Sealed(path: destination, rows: writer.rowCount, timeRange: writer.timeRange)
        do throws(FileSystemError) {
            try fileSystem.syncDirectory(directory)
            try fileSystem.syncDirectory(FileSystemPath.parent(of: from))
        } catch {
            return (sealed, .replacedDurabilityUnknown(error))
        }
        return (sealed, .replaced)
    }

    /// Seals a poisoned segment by copying: the blocks up to `confirmedBytes` (all durable before
    /// the poison) and a footer for them go into a new file, renamed into `directory` as
    /// `target`; then the poisoned file is removed.
    func copySealed(into directory: String, as target: String, confirmedBytes: Int) throws(FileSystemError) -> (Sealed, ReplaceOutcome) {
        precondition(state == .poisoned, "only a poisoned segment is sealed by copying")
        var kept = writer
        kept.dropBlocks(endingAfter: confirmedBytes)
        let temporary = directory + "/." + target + ".tmp"
        let copy = try DurableFile.create(temporary, fileSystem: fileSystem)
        do throws(FileSystemError) {
            let source = try fileSystem.open(path, .read)
            defer { fileSystem.close(source) }
            var chunk = [UInt8](repeating: 0, count: 1 << 20)
            var offset = 0
            while offset < kept.size {
                let want = min(chunk.count, kept.size - offset)
                let n = try chunk.withMutableFileBytes { (raw) throws(FileSystemError) -> Int in
                    try fileSystem.read(source, into: UnsafeMutableRawBufferPointer(rebasing: raw[0..<want]), at: offset, path: path)
                }
                guard n > 0 else { throw FileSystemError(.read, path: path, code: 5) }
                try chunk.withFileBytes { (raw) throws(FileSystemError) in try copy.append(UnsafeRawBufferPointer(rebasing: raw[0..<n])) }
                offset += n
            }
            try copy.append(kept.footer())
            try copy.sync()
            copy.close()
            try fileSystem.rename(temporary, to: directory + "/" + target, .noReplace)
        } catch {
            copy.close()
            _ = try? fileSystem.removeIfPresent(temporary)
            throw error
        }
        let sealed = Sealed(path: directory + "/" + target, rows: kept.rowCount, timeRange: kept.timeRange)
        file.close()
        do throws(FileSystemError) {
            try fileSystem.syncDirectory(directory)
            try fileSystem.remove(path)
            try fileSystem.syncDirectory(FileSystemPath.parent(of: path))
        } catch {
            return (sealed, .replacedDurabilityUnknown(error))
        }
        return (sealed, .replaced)
    }

    /// Removes an empty segment's file (a segment with no blocks is never sealed).
    func discard() throws(FileSystemError) {
        file.close()
        try fileSystem.remove(path)
        try fileSystem.syncDirectory(FileSystemPath.parent(of: path))
    }
}
