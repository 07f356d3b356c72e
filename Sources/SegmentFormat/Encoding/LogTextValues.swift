/// A decoded `log-text` chunk: templates, one template code per value, the dictionary variables
/// and each template's variable columns. Queries answer LIKE, ILIKE and equality on the templates
/// first (`template(of:)`, `Template.literal`), and rebuild only the strings they must; output
/// rebuilds them all with `materialize()`.
public struct LogTextValues: Sendable {
    /// A template, parsed: literal text between variable slots.
    public struct Template: Sendable {
        public enum SlotKind: Sendable, Equatable {
            case integer
            case padded(width: Int)
            case dictionary
        }

        /// The literal text (markers removed), and where each slot falls in it.
        public let literal: [UInt8]
        /// `slotOffsets[s]` is the position in `literal` where slot `s` is inserted.
        public let slotOffsets: [Int]
        public let slots: [SlotKind]

        init(parsing templates: StringValues, entry: Int) throws {
            var literal: [UInt8] = []
            var offsets: [Int] = []
            var slots: [SlotKind] = []
            let r = templates.range(entry)
            var k = r.lowerBound
            let bytes = templates.bytes
            while k < r.upperBound {
                let c = bytes[k]
                switch c {
                case LogTemplate.escapeMarker:
                    guard k + 1 < r.upperBound, (LogTemplate.escapeMarker...LogTemplate.paddedMarker).contains(bytes[k + 1]) else {
                        throw FormatError("template \(entry) has a bad escape")
                    }
                    literal.append(bytes[k + 1])
                    k += 2
                case LogTemplate.integerMarker, LogTemplate.dictionaryMarker:
                    offsets.append(literal.count)
                    slots.append(c == LogTemplate.integerMarker ? .integer : .dictionary)
                    k += 1
                case LogTemplate.paddedMarker:
                    guard k + 1 < r.upperBound, (2...LogTemplate.maxDigits).contains(Int(bytes[k + 1])) else {
                        throw FormatError("template \(entry) has a bad padded width")
                    }
                    offsets.append(literal.count)
                    slots.append(.padded(width: Int(bytes[k + 1])))
                    k += 2
                default:
                    literal.append(c)
                    k += 1
                }
            }
            self.literal = literal
            self.slotOffsets = offsets
            self.slots = slots
        }
    }

    /// One variable slot of one template: a value for each value that has the template, in order.
    public enum Slot: Sendable {
        /// Integer and zero-padded variables.
        case integers([Int64])
        /// Codes into `dictionary`.
        case dictionary([UInt32])
    }

    public let templates: [Template]
    /// Template of value `i`.
    public let codes: [UInt32]
    /// Index of value `i` among the values of its template.
    public let ordinals: [UInt32]
    public let dictionary: StringValues
    /// `slots[t][s]`: slot `s` of template `t`.
    public let slots: [[Slot]]

    public var count: Int { codes.count }

    /// Throws when rebuilding every value would take more bytes than a chunk's values can.
    func checkMaterializedSize() throws {
        var total = 0
        var perTemplate = [Int](repeating: 0, count: templates.count)
        for c in codes { perTemplate[Int(c)] += 1 }
        for (t, template) in templates.enumerated() {
            total += perTemplate[t] * (template.literal.count + 20 * template.slots.count)
            for case let .dictionary(codes) in slots[t] {
                for code in codes { total += dictionary.length(Int(code)) }
            }
        }
        guard total <= FormatConstants.maxChunkRawBytes else {
            throw FormatError("log-text values would take \(total) bytes, more than a chunk holds (\(FormatConstants.maxChunkRawBytes))")
        }
    }

    /// Every value's text, in order.
    public func materialize() -> StringValues {
        var out = StringValues()
        out.offsets.reserveCapacity(count + 1)
        for i in 0..<count {
            append(i, to: &out.bytes)
            out.closeValue()
        }
        return out
    }

    /// Appends the text of value `i` to `out`.
    public func append(_ i: Int, to out: inout [UInt8]) {
        let t = Int(codes[i])
        let template = templates[t]
        let ordinal = Int(ordinals[i])
        var from = 0
        template.literal.withUnsafeBufferPointer { lit in
            for (s, at) in template.slotOffsets.enumerated() {
                if at > from { out.append(contentsOf: UnsafeBufferPointer(rebasing: lit[from..<at])) }
                from = at
                switch slots[t][s] {
                case let .integers(v):
                    if case let .padded(width) = template.slots[s] {
                        Self.appendPadded(v[ordinal], width: width, to: &out)
                    } else {
                        Self.appendInteger(v[ordinal], to: &out)
                    }
                case let .dictionary(codes):
                    out.append(contentsOf: dictionary[Int(codes[ordinal])])
                }
            }
            if lit.count > from { out.append(contentsOf: UnsafeBufferPointer(rebasing: lit[from...])) }
        }
    }

    static func appendInteger(_ v: Int64, to out: inout [UInt8]) {
        if v < 0 { out.append(UInt8(ascii: "-")) }
        appendDigits(v.magnitude, minimum: 1, to: &out)
    }

    static func appendPadded(_ v: Int64, width: Int, to out: inout [UInt8]) {
        appendDigits(v.magnitude, minimum: width, to: &out)
    }

    private static func appendDigits(_ u: UInt64, minimum: Int, to out: inout [UInt8]) {
        var buffer: (UInt64, UInt64, UInt64) = (0, 0, 0)
        withUnsafeMutableBytes(of: &buffer) { raw in
            var u = u
            var k = 24
            repeat {
                k -= 1
                raw[k] = UInt8(truncatingIfNeeded: u % 10) + 0x30
                u /= 10
            } while u > 0 || 24 - k < minimum
            out.append(contentsOf: UnsafeRawBufferPointer(rebasing: raw[k...]))
        }
    }
}
