import NDJSON
import SegmentFormat

/// An Elasticsearch `_bulk` body read from its bytes: action lines (`index`, `create`, `delete`,
/// `update`), each but `delete` followed by a source line, blank lines tolerated. Documents stay
/// ranges of the body. A line that is not an action, or an action without its source line, makes
/// the whole request malformed, as in Elasticsearch; anything wrong with one document is that
/// item's error, found later by the schema check.
struct BulkRequest {
    enum Action: String {
        case index, create, delete, update
    }

    /// One operation: its action, target index and id, and its document (not for `delete`).
    struct Item {
        let action: Action
        let index: String?
        let id: String?
        /// The source line's bytes (for `index`, `create` and `update`).
        let document: Range<Int>?
        /// The action line's number (1-based), for errors.
        let line: Int
    }

    /// A body that is not a bulk request, with the line at fault, as Elasticsearch words it.
    struct Malformed: Error, CustomStringConvertible {
        let reason: String
        var description: String { reason }
    }

    let items: [Item]

    /// Reads `body`; `defaultIndex` is the `{index}` of `/{index}/_bulk`.
    init(_ body: UnsafeRawBufferPointer, defaultIndex: String?) throws(Malformed) {
        var items: [Item] = []
        var pending: (action: Action, index: String?, id: String?, line: Int)?
        var failure: Malformed?
        NDJSONLines.forEach(body) { line, number in
            guard let base = body.baseAddress, let start = line.baseAddress else { return true }
            let offset = base.distance(to: start)
            if let action = pending {
                items.append(Item(action: action.action, index: action.index, id: action.id, document: offset..<(offset + line.count), line: action.line))
                pending = nil
                return true
            }
            do throws(Malformed) {
                let (action, index, id) = try Self.actionLine(line, number: number)
                if action == .delete {
                    items.append(Item(action: .delete, index: index ?? defaultIndex, id: id, document: nil, line: number))
                } else {
                    pending = (action, index ?? defaultIndex, id, number)
                }
                return true
            } catch {
                failure = error
                return false
            }
        }
        if let failure { throw failure }
        if let pending {
            throw Malformed(reason: "the \(pending.action.rawValue) action on line \(pending.line) has no source line after it")
        }
        guard !items.isEmpty else { throw Malformed(reason: "Validation Failed: 1: no requests added;") }
        self.items = items
    }

    /// `{"<action>": {"_index": ..., "_id": ..., ...}}`; other metadata (routing, pipeline) is ignored.
    private static func actionLine(_ line: UnsafeRawBufferPointer, number: Int) throws(Malformed) -> (Action, String?, String?) {
        guard let base = line.baseAddress?.assumingMemoryBound(to: UInt8.self) else {
            throw Malformed(reason: "Malformed action/metadata line [\(number)], expected START_OBJECT")
        }
        var s = JSONScanner(base, count: line.count)
        var action: Action?
        var index: String?
        var id: String?
        do throws(JSONScanner.Failure) {
            s.skipSpace()
            guard s.current == UInt8(ascii: "{") else {
                throw s.fail("Malformed action/metadata line [\(number)], expected START_OBJECT but found [\(s.kindHere)]")
            }
            try s.forEachMember { s, key throws(JSONScanner.Failure) in
                guard action == nil else {
                    throw s.fail("Malformed action/metadata line [\(number)], expected END_OBJECT but found [FIELD_NAME]")
                }
                guard let name = Action(rawValue: key.string) else {
                    throw s.fail("Malformed action/metadata line [\(number)], expected one of [create, delete, index, update] but found [\(key.string.prefix(64))]")
                }
                action = name
                try s.forEachMember { s, key throws(JSONScanner.Failure) in
                    if key.is("_index") {
                        index = try s.string()
                    } else if key.is("_id") {
                        id = s.current == UInt8(ascii: "\"") ? try s.string() : String(try s.int64())
                    } else {
                        try s.skipValue()
                    }
                }
            }
            s.skipSpace()
            guard s.atEnd else { throw s.fail("Malformed action/metadata line [\(number)], unexpected text after the object") }
        } catch {
            let prefix = "Malformed action/metadata line [\(number)]"
            throw Malformed(reason: error.message.hasPrefix(prefix) ? error.message : "\(prefix): \(error.message)")
        }
        guard let action else {
            throw Malformed(reason: "Malformed action/metadata line [\(number)], expected FIELD_NAME but found [END_OBJECT]")
        }
        return (action, index, id)
    }
}
