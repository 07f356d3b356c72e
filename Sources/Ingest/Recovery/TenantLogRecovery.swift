import Logging

/// Recovers a tenant's write-ahead log (`<tenant>/_wal`) before any of its streams: scans every
/// generation once, each up to where its successor's header says it ends, asks the
/// `RecoveryPlanner` for a log plan (the same rules as a stream's own log: only the newest
/// generation may end in a torn tail), cuts what the plan cuts, and hands each stream the frames
/// after its checkpoint, in order. Damage the plan refuses stops the whole tenant: no stream can
/// tell whether the damaged frames were its own.
struct TenantLogRecovery {
    /// What the tenant's streams and its log start from.
    struct Recovered {
        /// Per stream, the frames after its checkpoint, in log order.
        var frames: [String: [StreamRecovery.Frame]] = [:]
        /// The idempotency keys of every replayable frame, with their answers.
        var keys: [(String, IdempotencyStore.Answer)] = []
        var generations: [WriteAheadLog.Generation] = []
        var nextSequence: UInt64 = 1
        var nextGeneration: Int = 1
    }

    let directory: String
    let fileSystem: any FileSystem
    let logger: Logger

    /// A key found in a frame, with where the frame ends (keys of frames past a cut are dropped).
    private struct FoundKey {
        var generation: Int
        var end: Int
        var key: String
        var answer: IdempotencyStore.Answer
    }

    /// One frame as scanned, before the plan says whether it is replayed.
    private struct Found {
        var generation: Int
        var frame: StreamRecovery.Frame
        var stream: String
    }

    /// Recovers the log; `checkpoints` holds the streams' checkpoints in the tenant's numbers
    /// (frames at or below a stream's `sequence` are in segments already). Throws
    /// `RecoveryPlanner.Refusal` for damage, or the file system's error when the log cannot be read.
    func run(checkpoints: [String: Checkpoint]) throws -> Recovered {
        try fileSystem.makeDirectories(directory)
        var keys: [FoundKey] = []
        var found: [Found] = []
        var anonymous: (path: String, offset: Int)?
        let generations = try LogScanner.scanDirectory(directory, fileSystem: fileSystem) { number, path, location, payload in
            guard let stream = location.stream else {
                if anonymous == nil { anonymous = (path, location.offset) }
                return
            }
            if let (key, answer) = BatchPayload.idempotencyAnswer(in: payload, stream: stream) {
                keys.append(FoundKey(generation: number, end: location.end, key: key, answer: answer))
            }
            found.append(Found(generation: number, frame: StreamRecovery.Frame(path: path, location: location), stream: stream))
        }
        if let anonymous {
            throw RecoveryPlanner.Refusal(reason: "write-ahead log \(anonymous.path): a frame without a stream at offset \(anonymous.offset), in a tenant's log")
        }
        let highest = checkpoints.values.map { max($0.sequence, $0.partialSequence) }.max() ?? 0
        let plan: RecoveryPlanner.LogPlan
        switch RecoveryPlanner.planLog(generations, highestSequence: highest) {
        case let .success(p): plan = p
        case let .failure(refusal): throw refusal
        }
        try LogScanner.cut(plan.logCuts, fileSystem: fileSystem, logger: logger)

        var recovered = Recovered(nextSequence: plan.nextSequence, nextGeneration: plan.nextGeneration)
        var lastSequences: [Int: [String: UInt64]] = [:]
        for f in found where f.frame.location.end <= plan.replayLimits[f.generation] ?? 0 {
            lastSequences[f.generation, default: [:]][f.stream] = f.frame.location.sequence
            if f.frame.location.sequence > checkpoints[f.stream]?.sequence ?? 0 {
                recovered.frames[f.stream, default: []].append(f.frame)
            }
        }
        recovered.keys = keys.filter { $0.end <= plan.replayLimits[$0.generation] ?? 0 }.map { ($0.key, $0.answer) }
        recovered.generations = generations.map { g in
            WriteAheadLog.Generation(number: g.number, lastSequences: lastSequences[g.number] ?? [:], bytes: plan.replayLimits[g.number] ?? g.validEnd)
        }
        return recovered
    }
}
