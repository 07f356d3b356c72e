/// Decides how a stream recovers from what a previous run left (`RecoveryFacts`), without
/// touching a disk: either an exact plan, or a refusal that names the damage and where it is.
///
/// The rules, each for one way a crash or a disk can leave things:
/// - **Checkpoint**: absent means a new stream; unreadable refuses (an error is not an absence).
/// - **Active segment** named by the checkpoint: resumed, cut to the checkpoint's confirmed size
///   and never below it; if its sound blocks do not reach that size, it is quarantined, never
///   cut. A sealed one whose blocks are all confirmed is moved into `rotated/`; one whose copy is
///   already in `rotated/` (a copy-seal that crashed before removing it) is removed. Any other
///   file in `active/` holds only unconfirmed blocks: removed (the log replays them).
/// - **Write-ahead log**: a generation whose valid length a later header records is cut there
///   (the rest was a failed round, never acknowledged); damage before that length refuses. Only
///   the newest generation may end in a torn tail, cut at the damage, and only if no sound frame
///   follows it. A generation with no frame and no durable header (its setup failed) is emptied.
///   Damage anywhere else, or numbers that go backwards, refuse.
/// - **Numbers** (sequence, generation, segment) continue from the largest seen anywhere.
enum RecoveryPlanner {
    /// What to do with one file in `active/`.
    enum SegmentAction: Sendable, Equatable {
        case resume(name: String, bytes: Int)
        case moveSealed(name: String)
        case quarantine(name: String, reason: String)
        case remove(name: String, reason: String)
    }

    /// A generation file to cut at `offset`, and why.
    struct LogCut: Sendable, Equatable {
        var path: String
        var offset: Int
        var reason: String
    }

    /// The exact plan.
    struct Plan: Sendable, Equatable {
        var checkpoint: Checkpoint
        var segmentActions: [SegmentAction] = []
        var logCuts: [LogCut] = []
        /// Per generation number, the offset up to which frames are replayed.
        var replayLimits: [Int: Int] = [:]
        var nextSequence: UInt64 = 1
        var nextGeneration: Int = 1
        var nextSegmentNumber: Int = 1
    }

    /// The plan for a write-ahead log alone (a tenant's log, recovered before its streams).
    struct LogPlan: Sendable, Equatable {
        var logCuts: [LogCut] = []
        /// Per generation number, the offset up to which frames are replayed.
        var replayLimits: [Int: Int] = [:]
        var nextSequence: UInt64 = 1
        var nextGeneration: Int = 1
    }

    /// Why a stream does not recover: what is damaged and where.
    struct Refusal: Error, Sendable, Equatable, CustomStringConvertible {
        var reason: String
        var description: String { reason }
    }

    static func plan(_ facts: RecoveryFacts) -> Result<Plan, Refusal> {
        let checkpoint: Checkpoint
        switch facts.checkpoint {
        case .absent: checkpoint = Checkpoint()
        case let .loaded(c): checkpoint = c
        case let .unreadable(why): return .failure(Refusal(reason: "the checkpoint cannot be read: \(why)"))
        }
        var plan = Plan(checkpoint: checkpoint)
        if let refusal = planLog(facts.log, into: &plan) { return .failure(refusal) }
        planSegments(facts, into: &plan)

        var maxSequence = max(checkpoint.sequence, checkpoint.partialSequence)
        for g in facts.log {
            maxSequence = max(maxSequence, g.lastSequence ?? 0, (g.header?.firstSequence ?? 1) - 1)
        }
        plan.nextSequence = maxSequence + 1
        plan.nextGeneration = (facts.log.map(\.number).max() ?? 0) + 1
        let numbers = (facts.active.map(\.name) + facts.rotated).compactMap(segmentNumber)
        plan.nextSegmentNumber = max(checkpoint.nextSegmentNumber, (numbers.max() ?? 0) + 1)
        return .success(plan)
    }

    /// Plans a tenant's log by the same rules as a stream's own log; numbering continues past
    /// `highestSequence` too (the largest number the tenant's checkpoints hold).
    static func planLog(_ log: [LogScanner.Generation], highestSequence: UInt64) -> Result<LogPlan, Refusal> {
        var plan = Plan(checkpoint: Checkpoint())
        if let refusal = planLog(log, into: &plan) { return .failure(refusal) }
        var maxSequence = highestSequence
        for g in log {
            maxSequence = max(maxSequence, g.lastSequence ?? 0, (g.header?.firstSequence ?? 1) - 1)
        }
        return .success(LogPlan(logCuts: plan.logCuts, replayLimits: plan.replayLimits, nextSequence: maxSequence + 1,
                                nextGeneration: (log.map(\.number).max() ?? 0) + 1))
    }

    /// The number at the end of a segment name (`<stream>-<time>-<node>-<number>.seg`).
    static func segmentNumber(_ name: String) -> Int? {
        guard name.hasSuffix(".seg"), let dash = name.lastIndex(of: "-") else { return nil }
        return Int(name[name.index(after: dash)..<name.index(name.endIndex, offsetBy: -4)])
    }

    private static func planLog(_ log: [LogScanner.Generation], into plan: inout Plan) -> Refusal? {
        let ends = recordedEnds(log)
        for (i, g) in log.enumerated() {
            var limit = g.validEnd
            if let end = ends[g.number] {
                if let damage = g.damage {
                    return Refusal(reason: "write-ahead log \(g.path): \(damage.reason) at offset \(damage.offset), before the end of its acknowledged frames at \(end)")
                }
                guard g.validEnd == end else {
                    return Refusal(reason: "write-ahead log \(g.path) holds \(g.fileSize) bytes, fewer than the \(end) the next generation's header records")
                }
                limit = end
                if g.fileSize > end {
                    plan.logCuts.append(LogCut(path: g.path, offset: end, reason: "frames of a round that failed before its fsync"))
                }
            } else if let damage = g.damage {
                if i == log.count - 1 {
                    if damage.soundFrameAfter {
                        return Refusal(reason: "write-ahead log \(g.path): \(damage.reason) at offset \(damage.offset) of \(g.fileSize), with sound frames after it")
                    }
                    plan.logCuts.append(LogCut(path: g.path, offset: damage.offset, reason: "torn tail: \(damage.reason)"))
                } else if g.frameCount == 0 && damage.offset == 0 && !damage.soundFrameAfter {
                    plan.logCuts.append(LogCut(path: g.path, offset: 0, reason: "a generation whose header never became durable"))
                } else {
                    return Refusal(reason: "write-ahead log \(g.path): \(damage.reason) at offset \(damage.offset) of \(g.fileSize), in a generation that is not the newest")
                }
            }
            plan.replayLimits[g.number] = limit
        }
        // Numbers never go backwards from one generation to the next.
        var last: UInt64 = 0
        for g in log {
            if let first = g.firstSequence, first <= last {
                return Refusal(reason: "write-ahead log \(g.path) starts at sequence \(first), not after \(last)")
            }
            last = max(last, g.lastSequence ?? 0)
        }
        return nil
    }

    /// Where each generation's acknowledged frames end, as the header of the generation after it
    /// records (by number).
    static func recordedEnds(_ log: [LogScanner.Generation]) -> [Int: Int] {
        var ends: [Int: Int] = [:]
        for g in log {
            if let header = g.header, header.previousGeneration > 0, let end = header.previousEnd { ends[header.previousGeneration] = end }
        }
        return ends
    }

    private static func planSegments(_ facts: RecoveryFacts, into plan: inout Plan) {
        let named = plan.checkpoint.segment
        let confirmed = plan.checkpoint.segmentBytes
        if !facts.active.contains(where: { $0.name == named }) {
            // Sealed and moved before the checkpoint said so, or never created.
            plan.checkpoint.segment = ""
        }
        for fact in facts.active.sorted(by: { $0.name < $1.name }) {
            guard fact.name == named, !named.isEmpty, fact.name.hasSuffix(".seg") else {
                plan.segmentActions.append(.remove(name: fact.name, reason: "not confirmed by the checkpoint (the write-ahead log holds its records)"))
                continue
            }
            if let twin = facts.rotatedTwins[fact.name], twin == fact.segmentID {
                plan.segmentActions.append(.remove(name: fact.name, reason: "its sealed copy is in rotated/"))
                plan.checkpoint.segment = ""
                continue
            }
            switch fact.content {
            case let .unreadable(why):
                plan.segmentActions.append(.quarantine(name: fact.name, reason: "the checkpoint confirms \(confirmed) bytes, but the file cannot be read: \(why)"))
                plan.checkpoint.segment = ""
            case .sealed where fact.blockEnds.last == confirmed:
                plan.segmentActions.append(.moveSealed(name: fact.name))
                plan.checkpoint.segment = ""
            case .sealed, .unsealed:
                if confirmed == fact.headerEnd || fact.blockEnds.contains(confirmed) {
                    plan.segmentActions.append(.resume(name: fact.name, bytes: confirmed))
                } else {
                    let reach = fact.blockEnds.last ?? fact.headerEnd
                    plan.segmentActions.append(.quarantine(name: fact.name, reason: "the checkpoint confirms \(confirmed) bytes, but its sound blocks end at \(reach) of \(fact.fileSize)"))
                    plan.checkpoint.segment = ""
                }
            }
        }
    }
}
