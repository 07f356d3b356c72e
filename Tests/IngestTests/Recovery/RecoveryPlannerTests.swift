import Testing
@testable import Ingest

/// The recovery planner on facts made up in memory: every rule, no disk.
struct RecoveryPlannerTests {
    static func generation(_ number: Int, size: Int, validEnd: Int? = nil, sequences: ClosedRange<UInt64>? = nil,
                           previousEnd: Int?? = .none, damage: LogScanner.Damage? = nil) -> LogScanner.Generation {
        var header: LogFormat.GenerationHeader?
        if case let .some(end) = previousEnd {
            header = .init(generation: number, firstSequence: sequences?.lowerBound ?? 1, previousGeneration: number - 1, previousEnd: end)
        }
        var g = LogScanner.Generation(number: number, path: "wal/\(number).wal", header: header, fileSize: size,
                                      dataStart: header == nil ? 0 : LogFormat.headerSize, validEnd: validEnd ?? size)
        g.firstSequence = sequences?.lowerBound
        g.lastSequence = sequences?.upperBound
        g.frameCount = sequences?.count ?? 0
        g.damage = damage
        return g
    }

    static func checkpoint(segment: String = "", bytes: Int = 0, sequence: UInt64 = 0) -> Checkpoint {
        var c = Checkpoint()
        c.segment = segment
        c.segmentBytes = bytes
        c.sequence = sequence
        return c
    }

    static func plan(_ facts: RecoveryFacts) throws -> RecoveryPlanner.Plan {
        try RecoveryPlanner.plan(facts).get()
    }

    static func refusal(_ facts: RecoveryFacts) -> String? {
        if case let .failure(r) = RecoveryPlanner.plan(facts) { return r.reason }
        return nil
    }

    @Test func aNewStreamStartsAtOne() throws {
        let plan = try Self.plan(RecoveryFacts())
        #expect(plan.nextSequence == 1 && plan.nextGeneration == 1 && plan.nextSegmentNumber == 1)
        #expect(plan.segmentActions.isEmpty && plan.logCuts.isEmpty)
    }

    @Test func anUnreadableCheckpointRefuses() {
        #expect(Self.refusal(RecoveryFacts(checkpoint: .unreadable("EIO"))) != nil)
    }

    @Test func onlyTheNewestGenerationMayEndInATornTail() throws {
        let torn = LogScanner.Damage(offset: 900, reason: "frame header cut short", soundFrameAfter: false)
        var facts = RecoveryFacts(log: [Self.generation(1, size: 500, sequences: 1...5), Self.generation(2, size: 910, validEnd: 900, sequences: 6...9, damage: torn)])
        let plan = try Self.plan(facts)
        #expect(plan.logCuts == [.init(path: "wal/2.wal", offset: 900, reason: "torn tail: frame header cut short")])
        #expect(plan.nextSequence == 10 && plan.nextGeneration == 3)
        #expect(plan.replayLimits == [1: 500, 2: 900], "every sound frame is replayed")

        facts.log[0].damage = torn
        facts.log[0].validEnd = 400
        #expect(Self.refusal(facts)?.contains("wal/1.wal") == true)
    }

    @Test func damageWithSoundFramesAfterItIsNotATornTail() {
        let damage = LogScanner.Damage(offset: 100, reason: "frame checksum mismatch", soundFrameAfter: true)
        #expect(Self.refusal(RecoveryFacts(log: [Self.generation(1, size: 500, validEnd: 100, sequences: 1...2, damage: damage)]))?.contains("offset 100") == true)
    }

    @Test func aGenerationIsCutWhereItsSuccessorsHeaderSaysItEnds() throws {
        let facts = RecoveryFacts(log: [Self.generation(1, size: 700, validEnd: 600, sequences: 1...5),
                                        Self.generation(2, size: 36, sequences: nil, previousEnd: .some(600))])
        let plan = try Self.plan(facts)
        #expect(plan.logCuts.map(\.offset) == [600])
        #expect(plan.replayLimits[1] == 600)
    }

    @Test func aGenerationShorterThanItsRecordedEndRefuses() {
        let facts = RecoveryFacts(log: [Self.generation(1, size: 500, sequences: 1...5),
                                        Self.generation(2, size: 36, previousEnd: .some(600))])
        #expect(Self.refusal(facts) != nil)
    }

    @Test func numbersThatGoBackwardsRefuse() {
        let facts = RecoveryFacts(log: [Self.generation(1, size: 500, sequences: 1...5), Self.generation(2, size: 500, sequences: 5...8)])
        #expect(Self.refusal(facts)?.contains("sequence 5") == true)
    }

    @Test func numbersContinueFromTheLargestSeenAnywhere() throws {
        var facts = RecoveryFacts(checkpoint: .loaded(Self.checkpoint(sequence: 40)))
        facts.log = [Self.generation(7, size: 36, sequences: nil, previousEnd: .some(nil))]
        facts.log[0].header?.firstSequence = 61
        facts.rotated = ["app-20260101T000000Z-n-000012.seg"]
        let plan = try Self.plan(facts)
        #expect(plan.nextSequence == 61 && plan.nextGeneration == 8 && plan.nextSegmentNumber == 13)
    }

    @Test func theActiveSegmentResumesAtItsConfirmedSizeAndNeverBelow() throws {
        let segment = RecoveryFacts.SegmentFact(name: "a.seg", content: .unsealed(stoppedBy: nil), fileSize: 900, headerEnd: 100, blockEnds: [400, 700])
        var facts = RecoveryFacts(checkpoint: .loaded(Self.checkpoint(segment: "a.seg", bytes: 400)), active: [segment])
        #expect(try Self.plan(facts).segmentActions == [.resume(name: "a.seg", bytes: 400)])
        facts.checkpoint = .loaded(Self.checkpoint(segment: "a.seg", bytes: 800))
        guard case .quarantine = try Self.plan(facts).segmentActions.first else {
            Issue.record("confirmed bytes beyond the sound blocks: quarantine")
            return
        }
    }

    @Test func sealedUnconfirmedAndCopiedSegmentsEachGetTheirAction() throws {
        let sealed = RecoveryFacts.SegmentFact(name: "a.seg", content: .sealed, fileSize: 800, headerEnd: 100, blockEnds: [400, 700], segmentID: "x")
        let stray = RecoveryFacts.SegmentFact(name: "b.seg", content: .unsealed(stoppedBy: nil), fileSize: 300, headerEnd: 100, blockEnds: [300])
        var facts = RecoveryFacts(checkpoint: .loaded(Self.checkpoint(segment: "a.seg", bytes: 700)), active: [sealed, stray])
        let plan = try Self.plan(facts)
        #expect(plan.segmentActions.first == .moveSealed(name: "a.seg"))
        guard case .remove(name: "b.seg", _) = plan.segmentActions.last else {
            Issue.record("a segment the checkpoint does not name is removed")
            return
        }
        #expect(plan.checkpoint.segment == "")

        facts.rotated = ["a.seg"]
        facts.rotatedTwins = ["a.seg": "x"]
        guard case .remove(name: "a.seg", _) = try Self.plan(facts).segmentActions.first else {
            Issue.record("a segment whose sealed copy is in rotated/ is removed")
            return
        }
    }
}
