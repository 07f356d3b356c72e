import Foundation
import NDJSON

/// Segment file names: `<stream>-<yyyyMMdd'T'HHmmss'Z'>-<node>-<seq>.seg`, so segments from a fleet
/// of nodes never collide and sort by stream, then time.
public enum SegmentName {
    /// The name for a segment of `stream` opened at `created` (ns since the epoch) by `node`, the
    /// node's `sequence`-th segment of the stream. `node` is reduced to `[A-Za-z0-9._]` (others become `_`).
    public static func make(stream: String, created: Int64, node: String, sequence: Int) -> String {
        let second = created - (created % 1_000_000_000 + 1_000_000_000) % 1_000_000_000
        // "2026-11-25T05:04:03Z" (a whole second has no fraction) without its separators.
        let stamp = RFC3339.format(second).filter { $0 != "-" && $0 != ":" }
        let safeNode = String(node.unicodeScalars.map { s -> Character in
            (s.properties.isAlphabetic && s.isASCII) || ("0"..."9").contains(s) || s == "." || s == "_" ? Character(s) : "_"
        })
        return "\(stream)-\(stamp)-\(safeNode.isEmpty ? "node" : safeNode)-\(String(format: "%06d", sequence)).seg"
    }
}
