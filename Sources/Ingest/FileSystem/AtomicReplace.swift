/// What an atomic replace did, once it got as far as the rename.
public enum ReplaceOutcome: Sendable, Equatable {
    /// The new content is in place and durable.
    case replaced
    /// The new content is in place (the rename happened and cannot be taken back), but the
    /// directory fsync failed: after a crash either the old or the new file may be there.
    case replacedDurabilityUnknown(FileSystemError)
}

/// An atomic replace that failed before its rename: the old file is untouched.
public struct NotReplaced: Error, Sendable, CustomStringConvertible {
    public let cause: FileSystemError
    public var description: String { "not replaced: \(cause)" }
}

extension FileSystem {
    /// Replaces the file at `path` with `bytes`, atomically: a new file under a temporary name is
    /// written and fsynced, renamed over `path`, and the directory fsynced. Throws `NotReplaced`
    /// when the old file is still in place. Once the rename has happened, nothing is undone on disk
    /// (the new file is visible); a failed directory fsync then returns
    /// `.replacedDurabilityUnknown`, and the caller must not build on the new file's durability.
    /// Each call writes a new temporary file, so a failed fsync never poisons a later try.
    public func replace(_ path: String, with bytes: [UInt8]) throws(NotReplaced) -> ReplaceOutcome {
        let temporary = path + ".tmp"
        do throws(FileSystemError) {
            let fd = try open(temporary, .createOrTruncate)
            do throws(FileSystemError) {
                try bytes.withFileBytes { (raw) throws(FileSystemError) in try writeAll(fd, raw, at: 0, path: temporary) }
                try sync(fd, path: temporary)
            } catch {
                close(fd)
                _ = try? removeIfPresent(temporary)
                throw error
            }
            close(fd)
        } catch {
            throw NotReplaced(cause: error)
        }
        do throws(FileSystemError) {
            try rename(temporary, to: path, .replacing)
        } catch {
            _ = try? removeIfPresent(temporary)
            throw NotReplaced(cause: error)
        }
        do throws(FileSystemError) {
            try syncDirectory(FileSystemPath.parent(of: path))
        } catch {
            return .replacedDurabilityUnknown(error)
        }
        return .replaced
    }
}
