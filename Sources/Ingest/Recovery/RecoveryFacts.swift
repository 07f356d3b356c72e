/// What a stream's directory held when it was opened, as read from disk and before anything is
/// changed: the input of `RecoveryPlanner`, so that every recovery decision can be tested with
/// facts made up in memory.
struct RecoveryFacts: Sendable, Equatable {
    /// The checkpoint file.
    enum CheckpointFact: Sendable, Equatable {
        case absent
        case loaded(Checkpoint)
        /// There, but unreadable or damaged.
        case unreadable(String)
    }

    /// One segment file found in `active/`.
    struct SegmentFact: Sendable, Equatable {
        enum Content: Sendable, Equatable {
            /// A footer that reads: the segment is complete.
            case sealed
            /// No footer: the blocks a walk recovered, and why it stopped (nil at the end).
            case unsealed(stoppedBy: String?)
            /// Not a segment at all (damaged header) or not readable.
            case unreadable(String)
        }

        var name: String
        var content: Content
        var fileSize: Int = 0
        /// Where the header ends, and where each sound block ends, in order.
        var headerEnd: Int = 0
        var blockEnds: [Int] = []
        /// The header's segment id, which tells a copy of this segment from another one.
        var segmentID: String = ""
    }

    var checkpoint: CheckpointFact = .absent
    var active: [SegmentFact] = []
    /// Names in `rotated/`.
    var rotated: [String] = []
    /// The segment ids of the files in `rotated/` that have the name of a file in `active/`.
    var rotatedTwins: [String: String] = [:]
    /// The write-ahead log's generations, in order.
    var log: [LogScanner.Generation] = []
}
