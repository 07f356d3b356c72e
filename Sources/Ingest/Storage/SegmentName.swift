import Foundation

/// Segment file names: `<stream>-<yyyyMMdd'T'HHmmss'Z'>-<node>-<seq>.seg`, so segments from a fleet
/// of nodes never collide and sort by stream, then time.
public enum SegmentName {
    /// The name for a segment of `stream` opened at `created` (ns since the epoch) by `node`, the
    /// node's `sequence`-th segment of the stream. `node` is reduced to `[A-Za-z0-9._]` (others become `_`).
    public static func make(stream: String, created: Int64, node: String, sequence: Int) -> String {
        var seconds = created / 1_000_000_000
        if created % 1_000_000_000 < 0 { seconds -= 1 }
        let time = Date(timeIntervalSince1970: TimeInterval(seconds))
        var calendar = Calendar(identifier: .gregorian)
        calendar.timeZone = TimeZone(identifier: "UTC") ?? calendar.timeZone
        let c = calendar.dateComponents([.year, .month, .day, .hour, .minute, .second], from: time)
        func two(_ v: Int?) -> String { String(format: "%02d", v ?? 0) }
        let stamp = String(format: "%04d", c.year ?? 0) + two(c.month) + two(c.day) + "T" + two(c.hour) + two(c.minute) + two(c.second) + "Z"
        let safeNode = String(node.unicodeScalars.map { s -> Character in
            (s.properties.isAlphabetic && s.isASCII) || ("0"..."9").contains(s) || s == "." || s == "_" ? Character(s) : "_"
        })
        return "\(stream)-\(stamp)-\(safeNode.isEmpty ? "node" : safeNode)-\(String(format: "%06d", sequence)).seg"
    }
}
