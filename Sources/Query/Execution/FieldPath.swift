import SegmentFormat

/// A field name as a query writes it, resolved against one segment's columns: a column of the
/// schema, or a dotted path into a json column (`attributes.http.status_code`) or into the fields
/// outside the schema (`trace_id`, `k8s.pod.name`). Quoted segments hold dots, spaces or quotes
/// (`attributes."k8s.pod"`, an inner `"` doubled). Spec: Comparing a path across blocks.
enum FieldPath: Hashable, Sendable {
    case column(Int)
    /// Object keys below the value of column `parent` (a json or extra column).
    case path(parent: Int, keys: [[UInt8]])

    /// What `field` names in a segment with `columns`; nil when it can name nothing there.
    static func resolve(_ field: String, columns: [ColumnDescriptor]) -> FieldPath? {
        if let i = columns.firstIndex(where: { $0.name == field && $0.type != .extra }) { return .column(i) }
        guard let keys = segments(field), !keys.isEmpty else { return nil }
        let names = keys.map { String(decoding: $0, as: UTF8.self) }
        if keys.count == 1, let i = columns.firstIndex(where: { $0.name == names[0] && $0.type != .extra }) { return .column(i) }
        if let i = columns.firstIndex(where: { $0.name == names[0] && $0.type != .extra }) {
            // A schema column's insides are paths only when it holds JSON.
            return columns[i].type == .json && keys.count > 1 ? .path(parent: i, keys: Array(keys.dropFirst())) : nil
        }
        if let x = columns.firstIndex(where: { $0.type == .extra }) { return .path(parent: x, keys: keys) }
        return nil
    }

    /// The segments of a field name: bare parts split at dots, "double quoted" parts whole (with
    /// `""` for a quote). Nil for a name that does not split cleanly (an unclosed quote, an empty
    /// bare part).
    static func segments(_ field: String) -> [[UInt8]]? {
        let b = Array(field.utf8)
        var out: [[UInt8]] = []
        var i = 0
        while true {
            var segment: [UInt8] = []
            if i < b.count && b[i] == UInt8(ascii: "\"") {
                i += 1
                while true {
                    guard i < b.count else { return nil }
                    if b[i] == UInt8(ascii: "\"") {
                        if i + 1 < b.count && b[i + 1] == UInt8(ascii: "\"") {
                            segment.append(b[i])
                            i += 2
                            continue
                        }
                        i += 1
                        break
                    }
                    segment.append(b[i])
                    i += 1
                }
            } else {
                while i < b.count && b[i] != UInt8(ascii: ".") {
                    segment.append(b[i])
                    i += 1
                }
                if segment.isEmpty { return nil }
            }
            out.append(segment)
            if i == b.count { return out }
            guard b[i] == UInt8(ascii: ".") else { return nil }
            i += 1
        }
    }

    /// The keys' place in a block's shredded table, when the block has a column for exactly them.
    static func shreddedIndex(_ meta: BlockMeta, parent: Int, keys: [[UInt8]]) -> Int? {
        meta.shredded.firstIndex { $0.column.parent == parent && $0.column.path == keys }
    }
}
