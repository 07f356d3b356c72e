/// Where a stream's files live: `<data>/<tenant>/<stream>/` with `active/` (the segment being
/// written), `rotated/` (sealed segments, for the hooks and shipping), `wal/` (the write-ahead
/// log), `checkpoint`, `quarantine/` (active segments recovery would not cut) and
/// `unreplayable/` (logged batches this build cannot replay, kept for an operator).
struct StreamLayout: Sendable {
    let tenant: String
    let stream: String
    let directory: String

    var active: String { directory + "/active" }
    var rotated: String { directory + "/rotated" }
    var wal: String { directory + "/wal" }
    var checkpoint: String { directory + "/checkpoint" }
    var quarantine: String { directory + "/quarantine" }
    var unreplayable: String { directory + "/unreplayable" }
}
