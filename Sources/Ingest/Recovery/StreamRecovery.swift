import Foundation
import Logging
import NDJSON
import SegmentFormat

/// Recovers a stream's directory: reads what a previous run left into `RecoveryFacts` (through
/// the file system, never assuming that an error means "nothing there"), asks the
/// `RecoveryPlanner` for a plan, and carries it out: resumes, moves, quarantines or removes active
/// segments. The tenant's log is recovered before (`TenantLogRecovery`); a stream's own log, left
/// by an older build, is planned and cut here too. Frames are only located here; the segment
/// pipeline replays them one at a time.
struct StreamRecovery {
    /// A frame to replay: which generation file, where in it.
    struct Frame: Sendable {
        var path: String
        var location: LogScanner.FrameLocation
    }

    /// What recovery hands the pipeline.
    struct Recovered {
        var plan: RecoveryPlanner.Plan
        /// The checkpoint as it was on disk (the plan's may differ: then it is written again).
        var loadedCheckpoint: Checkpoint
        var active: ActiveSegment?
        var movedSealed: [String] = []
        /// Keys of the stream's own log (an older build's).
        var keys: [(String, IdempotencyStore.Answer)] = []
        /// Frames of the stream's own log to replay before the checkpoint moves to the tenant's numbers.
        var legacyFrames: [Frame] = []
        /// The stream has its own log (`wal/`), to remove once a tenant checkpoint is durable.
        var legacyLog = false
    }

    let layout: StreamLayout
    let fileSystem: any FileSystem
    let logger: Logger

    /// A key found in a frame, with where the frame ends (keys of frames past a cut are dropped).
    private struct FoundKey {
        var generation: Int
        var end: Int
        var key: String
        var answer: IdempotencyStore.Answer
    }

    func run() throws -> Recovered {
        for directory in [layout.directory, layout.active, layout.rotated] {
            try fileSystem.makeDirectories(directory)
        }
        var facts = RecoveryFacts()
        var loaded = Checkpoint()
        do {
            if let checkpoint = try Checkpoint.load(layout.checkpoint, fileSystem: fileSystem) {
                loaded = checkpoint
                facts.checkpoint = .loaded(checkpoint)
            }
        } catch {
            facts.checkpoint = .unreadable("\(error)")
        }
        var readers: [String: SegmentReader] = [:]
        for name in try fileSystem.list(layout.active).sorted() {
            let (fact, reader) = try observeSegment(layout.active + "/" + name)
            facts.active.append(fact)
            readers[name] = reader
        }
        facts.rotated = try fileSystem.list(layout.rotated)
        for fact in facts.active where facts.rotated.contains(fact.name) {
            let twin = try observeSegment(layout.rotated + "/" + fact.name)
            facts.rotatedTwins[fact.name] = twin.0.segmentID
        }
        // A stream's own log, from a build before the tenant log: replayed while the checkpoint
        // still counts in its numbers; once it counts in the tenant's, what is left of it is in
        // segments already (a migration that stopped before removing it).
        let legacy = try fileSystem.kind(of: layout.wal) == .directory
        let replayLegacy = legacy && !loaded.tenantLog
        var keys: [FoundKey] = []
        var frames: [Frame] = []
        if replayLegacy {
            facts.log = try LogScanner.scanDirectory(layout.wal, fileSystem: fileSystem) { number, path, location, payload in
                if let (key, answer) = BatchPayload.idempotencyAnswer(in: payload, stream: layout.stream) {
                    keys.append(FoundKey(generation: number, end: location.end, key: key, answer: answer))
                }
                if location.sequence > loaded.sequence {
                    frames.append(Frame(path: path, location: location))
                }
            }
        }

        let plan: RecoveryPlanner.Plan
        switch RecoveryPlanner.plan(facts) {
        case let .success(p): plan = p
        case let .failure(refusal): throw refusal
        }
        var recovered = Recovered(plan: plan, loadedCheckpoint: loaded)
        try LogScanner.cut(plan.logCuts, fileSystem: fileSystem, logger: logger)
        try applySegmentActions(&recovered, readers: readers)
        recovered.keys = keys.filter { $0.end <= plan.replayLimits[$0.generation] ?? 0 }.map { ($0.key, $0.answer) }
        recovered.legacyFrames = frames.filter { frame in
            let number = LogFormat.generation(ofFile: FileSystemPath.name(of: frame.path)) ?? 0
            return frame.location.end <= plan.replayLimits[number] ?? 0
        }
        recovered.legacyLog = legacy
        return recovered
    }

    /// Removes the stream's own log (older builds') once a checkpoint in the tenant's numbers is
    /// durable: everything it held is in segments.
    func removeLegacyLog() throws {
        for name in try fileSystem.list(layout.wal) {
            try fileSystem.removeIfPresent(layout.wal + "/" + name)
        }
        try fileSystem.removeDirectory(layout.wal)
        try fileSystem.syncDirectory(layout.directory)
        logger.info("the stream's own write-ahead log is replayed and removed; the tenant's log takes its batches now",
                    metadata: ["path": "\(layout.wal)"])
    }

    /// Reads one segment file: what it holds, and the reader when it is a segment. A read error
    /// throws (it is not an absence); a file that is not a sound segment is a fact.
    private func observeSegment(_ path: String) throws -> (RecoveryFacts.SegmentFact, SegmentReader?) {
        let name = FileSystemPath.name(of: path)
        let bytes = try fileSystem.readFile(path)
        guard name.hasSuffix(".seg") else {
            return (.init(name: name, content: .unreadable("not a segment file"), fileSize: bytes.count), nil)
        }
        let reader: SegmentReader
        do {
            reader = try SegmentReader(data: SegmentData(bytes))
        } catch {
            return (.init(name: name, content: .unreadable("\(error)"), fileSize: bytes.count), nil)
        }
        let content: RecoveryFacts.SegmentFact.Content = reader.isSealed ? .sealed : .unsealed(stoppedBy: reader.recovery?.stopReason)
        let fact = RecoveryFacts.SegmentFact(name: name, content: content, fileSize: bytes.count, headerEnd: reader.headerEnd,
                                             blockEnds: reader.blocks.map { Int($0.offset) + Int($0.length) },
                                             segmentID: reader.header.segmentID)
        return (fact, reader)
    }

    private func applySegmentActions(_ recovered: inout Recovered, readers: [String: SegmentReader]) throws {
        for action in recovered.plan.segmentActions {
            switch action {
            case let .resume(name, bytes):
                guard let reader = readers[name] else { continue }
                var writer = SegmentWriter(resuming: reader)
                writer.dropBlocks(endingAfter: bytes)
                recovered.active = try ActiveSegment.resume(layout.active + "/" + name, writer: writer, fileSystem: fileSystem)
                logger.info("active segment recovered", metadata: ["path": "\(layout.active)/\(name)", "rows": "\(writer.rowCount)"])
            case let .moveSealed(name):
                let header = readers[name]?.header
                var numbers = recovered.plan.nextSegmentNumber
                let target = try rename(layout.active + "/" + name, into: layout.rotated) { attempt in
                    guard attempt > 0 else { return name }
                    // Another segment has the name: this one takes the next number instead.
                    defer { numbers += 1 }
                    return SegmentName.make(stream: layout.stream, created: header?.created ?? 0, node: header?.node ?? "node", sequence: numbers)
                }
                recovered.plan.nextSegmentNumber = numbers
                try fileSystem.syncDirectory(layout.rotated)
                recovered.movedSealed.append(layout.rotated + "/" + target)
            case let .quarantine(name, reason):
                try fileSystem.makeDirectories(layout.quarantine)
                let target = try rename(layout.active + "/" + name, into: layout.quarantine) { $0 == 0 ? name : "\(name).\($0)" }
                _ = try? fileSystem.replace(layout.quarantine + "/" + target + ".txt", with: Array((reason + "\n").utf8))
                try fileSystem.syncDirectory(layout.quarantine)
                logger.error("active segment quarantined, not cut below its checkpoint", metadata: ["path": "\(layout.quarantine)/\(target)", "reason": "\(reason)"])
            case let .remove(name, reason):
                logger.warning("removing a file from active/", metadata: ["path": "\(layout.active)/\(name)", "reason": "\(reason)"])
                try fileSystem.removeIfPresent(layout.active + "/" + name)
            }
        }
        if !recovered.plan.segmentActions.isEmpty { try fileSystem.syncDirectory(layout.active) }
    }

    /// Renames `path` into `directory` under the first of `names(0)`, `names(1)`, ... that no
    /// file there has (never replacing one); returns the name.
    private func rename(_ path: String, into directory: String, names: (Int) -> String) throws -> String {
        var attempt = 0
        while true {
            let target = names(attempt)
            do {
                try fileSystem.rename(path, to: directory + "/" + target, .noReplace)
                return target
            } catch {
                guard error.code == EEXIST else { throw error }
                attempt += 1
            }
        }
    }

    /// Reads a frame's payload for replay.
    func payload(_ frame: Frame) throws -> [UInt8] {
        try LogScanner.payload(at: frame.location, path: frame.path, fileSystem: fileSystem)
    }

    /// Keeps a logged batch this build cannot replay in `unreplayable/<sequence>.<suffix>`, for an
    /// operator; never drops it.
    func keepUnreplayable(_ bytes: [UInt8], sequence: UInt64, suffix: String, why: String) throws {
        try fileSystem.makeDirectories(layout.unreplayable)
        let path = layout.unreplayable + "/\(sequence).\(suffix)"
        if case let .replacedDurabilityUnknown(error) = try fileSystem.replace(path, with: bytes) { throw error }
        logger.error("a logged batch cannot be replayed; kept for an operator", metadata: ["path": "\(path)", "reason": "\(why)"])
    }

    /// Fills the tail with the last records of the newest segment, so that `tail` shows the latest
    /// records after a restart too (the log's batches follow in the replay). Best effort.
    func seedTail(_ tail: TailBuffer, activePath: String?) {
        let rotated = ((try? fileSystem.list(layout.rotated)) ?? []).filter { $0.hasSuffix(".seg") }
            .sorted { (RecoveryPlanner.segmentNumber($0) ?? 0, $0) < (RecoveryPlanner.segmentNumber($1) ?? 0, $1) }
        guard let path = activePath ?? rotated.last.map({ layout.rotated + "/" + $0 }),
              let bytes = try? fileSystem.readFile(path), let reader = try? SegmentReader(data: SegmentData(bytes)),
              let last = reader.blocks.indices.last else { return }
        let rows = reader.blocks[last].rowCount
        guard rows > 0, let chunks = try? reader.header.columns.indices.map({ try reader.chunk(block: last, column: $0) }) else { return }
        let sink = ByteSink(flushThreshold: .max)
        let kept = max(0, rows - tail.capacity)..<rows
        guard (try? RecordWriter(columns: reader.header.columns).write(chunks, rows: kept, to: sink)) != nil else { return }
        let text = sink.bytes()
        text.withUnsafeBytes { tail.append(BatchPayload(acceptedAt: 0, records: kept.count, idempotencyKey: nil, body: $0)) }
    }
}
