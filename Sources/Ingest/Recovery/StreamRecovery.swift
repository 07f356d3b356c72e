import Foundation
import Logging
import NDJSON
import SegmentFormat

/// Recovers a stream's directory: reads what a previous run left into `RecoveryFacts` (through
/// the file system, never assuming that an error means "nothing there"), asks the
/// `RecoveryPlanner` for a plan, and carries it out: cuts the log's torn tail, resumes, moves,
/// quarantines or removes active segments. The log's frames are only located here; the segment
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
        var keys: [(String, IdempotencyStore.Answer)] = []
        var frames: [Frame] = []
        var generations: [WriteAheadLog.Generation] = []
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
        for directory in [layout.directory, layout.active, layout.rotated, layout.wal] {
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
        var keys: [FoundKey] = []
        var frames: [Frame] = []
        facts.log = try scanLog(after: loaded, keys: &keys, frames: &frames)

        let plan: RecoveryPlanner.Plan
        switch RecoveryPlanner.plan(facts) {
        case let .success(p): plan = p
        case let .failure(refusal): throw refusal
        }
        var recovered = Recovered(plan: plan, loadedCheckpoint: loaded)
        try cutLog(plan)
        try applySegmentActions(&recovered, readers: readers)
        recovered.keys = keys.filter { $0.end <= plan.replayLimits[$0.generation] ?? 0 }.map { ($0.key, $0.answer) }
        recovered.frames = frames.filter { frame in
            let number = LogFormat.generation(ofFile: FileSystemPath.name(of: frame.path)) ?? 0
            return frame.location.end <= plan.replayLimits[number] ?? 0
        }
        recovered.generations = facts.log.map { g in
            let limit = plan.replayLimits[g.number] ?? g.validEnd
            return WriteAheadLog.Generation(number: g.number, lastSequence: g.lastSequence ?? ((g.header?.firstSequence ?? 1) - 1), bytes: limit)
        }
        return recovered
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

    /// Scans every generation, each up to where its successor's header says it ends; collects
    /// the idempotency keys of every frame and the frames after the checkpoint.
    private func scanLog(after checkpoint: Checkpoint, keys: inout [FoundKey], frames: inout [Frame]) throws -> [LogScanner.Generation] {
        let numbers = try fileSystem.list(layout.wal).compactMap(LogFormat.generation(ofFile:)).sorted()
        let paths = numbers.map { layout.wal + "/" + LogFormat.fileName($0) }
        var ends: [Int: Int] = [:]
        for (number, path) in zip(numbers, paths) {
            if let header = try LogScanner.header(path, number: number, fileSystem: fileSystem), header.previousGeneration > 0,
               let end = header.previousEnd {
                ends[header.previousGeneration] = end
            }
        }
        var generations: [LogScanner.Generation] = []
        for (i, number) in numbers.enumerated() {
            let limit = ends[number]
            let path = paths[i]
            let scanned = try LogScanner.scan(path, number: number, limit: limit, fileSystem: fileSystem) { location, payload in
                if let (key, answer) = BatchPayload.idempotencyAnswer(in: payload, stream: layout.stream) {
                    keys.append(FoundKey(generation: number, end: location.end, key: key, answer: answer))
                }
                if location.sequence > checkpoint.sequence {
                    frames.append(Frame(path: path, location: location))
                }
            }
            generations.append(scanned)
        }
        return generations
    }

    private func cutLog(_ plan: RecoveryPlanner.Plan) throws {
        for cut in plan.logCuts {
            logger.warning("cutting the write-ahead log", metadata: ["path": "\(cut.path)", "offset": "\(cut.offset)", "reason": "\(cut.reason)"])
            let fd = try fileSystem.open(cut.path, .write)
            defer { fileSystem.close(fd) }
            try fileSystem.truncate(fd, to: cut.offset, path: cut.path)
            try fileSystem.sync(fd, path: cut.path)
        }
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
