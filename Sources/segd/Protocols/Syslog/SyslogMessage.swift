import NDJSON

/// One syslog message (RFC 5424, RFC 3164, or neither) into an NDJSON record of the built-in
/// `syslog` stream's shape: `time`, `received`, `facility`, `severity`, `hostname`, `app_name`,
/// `proc_id`, `msg_id`, `structured_data` (an object of SD-IDs, each an object of its parameters;
/// a parameter given twice becomes an array), `message`, `format` (`rfc5424`, `rfc3164` or
/// `unparsed`) and `peer` (the sender's address).
///
/// Nothing is dropped: a message that is neither format is stored whole as its `message`, with
/// the time it was received. Text that is not UTF-8 is repaired (U+FFFD). RFC 3164 has no year
/// and no time zone: the year is the one that puts the time closest before the receiving time
/// (a `Dec 31 23:59:59` read on January 1st is last year's), and the zone is the `syslog`
/// stream's `x-segment.default-offset`, UTC when it declares none.
struct SyslogMessage {
    enum Format: String {
        case rfc5424, rfc3164, unparsed
    }

    var format: Format = .unparsed
    var facility: Int?
    var severity: Int?
    var time: Int64?
    var hostname: Slice<UnsafeRawBufferPointer>?
    var appName: Slice<UnsafeRawBufferPointer>?
    var procID: Slice<UnsafeRawBufferPointer>?
    var msgID: Slice<UnsafeRawBufferPointer>?
    var structuredData: Slice<UnsafeRawBufferPointer>?
    var message: Slice<UnsafeRawBufferPointer>?

    private init() {}

    /// Parses `frame` (one message, its framing removed); never fails. `offset` is the RFC 3164
    /// zone in seconds east of UTC, `now` the receiving time.
    init(_ frame: UnsafeRawBufferPointer, assumedOffset offset: Int, now: Int64) {
        var cursor = Cursor(frame)
        guard let pri = cursor.priority() else {
            message = frame[...]
            return
        }
        let afterPriority = cursor.i
        if Self.parse5424(&cursor, into: &self) {
            format = .rfc5424
        } else {
            self = SyslogMessage()
            cursor.i = afterPriority
            Self.parse3164(&cursor, into: &self, assumedOffset: offset, now: now)
            format = .rfc3164
        }
        facility = pri >> 3
        severity = pri & 7
    }

    /// Writes the record; `received` is when the frame was read, `peer` the sender.
    func write(to records: NDJSONRecords, received: Int64, peer: String?) {
        records.beginRecord()
        records.key("time")
        records.timestamp(time ?? received)
        records.key("received")
        records.timestamp(received)
        records.key("facility")
        if let facility { records.integer(Int64(facility)) } else { records.null() }
        records.key("severity")
        if let severity { records.integer(Int64(severity)) } else { records.null() }
        func optional(_ name: StaticString, _ value: Slice<UnsafeRawBufferPointer>?) {
            records.key(name)
            if let value { records.text(UnsafeRawBufferPointer(rebasing: value)) } else { records.null() }
        }
        optional("hostname", hostname)
        optional("app_name", appName)
        optional("proc_id", procID)
        optional("msg_id", msgID)
        records.key("structured_data")
        if let structuredData { Self.writeStructuredData(UnsafeRawBufferPointer(rebasing: structuredData), to: records) } else { records.null() }
        records.key("message")
        if let message { records.text(UnsafeRawBufferPointer(rebasing: message)) } else { records.null() }
        records.key("format")
        records.text(format.rawValue)
        records.key("peer")
        if let peer { records.text(peer) } else { records.null() }
        records.endRecord()
    }

    // MARK: RFC 5424

    /// `VERSION SP TIMESTAMP SP HOSTNAME SP APP-NAME SP PROCID SP MSGID SP STRUCTURED-DATA [SP MSG]`.
    private static func parse5424(_ c: inout Cursor, into m: inout SyslogMessage) -> Bool {
        guard c.byte == UInt8(ascii: "1"), c.peek(1) == 0x20 else { return false }
        c.i += 2
        guard let timestamp = c.token() else { return false }
        if !(timestamp.count == 1 && timestamp.first == UInt8(ascii: "-")) {
            guard let ns = timestamp.withBytes({ RFC3339.parse($0, count: $1) }) else { return false }
            m.time = ns
        }
        guard let host = c.token(), let app = c.token(), let proc = c.token(), let msgid = c.token() else { return false }
        m.hostname = nilValue(host)
        m.appName = nilValue(app)
        m.procID = nilValue(proc)
        m.msgID = nilValue(msgid)
        // STRUCTURED-DATA: "-" or one or more [SD-ELEMENT], checked here and rendered on write.
        if c.byte == UInt8(ascii: "-") {
            c.i += 1
        } else {
            let start = c.i
            guard c.byte == UInt8(ascii: "["), skipStructuredData(&c) else { return false }
            m.structuredData = c.bytes[start..<c.i]
        }
        if c.atEnd { return true }
        guard c.byte == 0x20 else { return false }
        c.i += 1
        var body = c.bytes[c.i...]
        // A UTF-8 BOM announces the message's encoding; it is not part of the text.
        if body.count >= 3 && body[body.startIndex] == 0xEF && body[body.startIndex + 1] == 0xBB && body[body.startIndex + 2] == 0xBF {
            body = body.dropFirst(3)
        }
        m.message = body
        return true
    }

    private static func nilValue(_ token: Slice<UnsafeRawBufferPointer>) -> Slice<UnsafeRawBufferPointer>? {
        token.count == 1 && token.first == UInt8(ascii: "-") ? nil : token
    }

    /// Steps over `[id param="value" ...]...`; false when malformed.
    private static func skipStructuredData(_ c: inout Cursor) -> Bool {
        while c.byte == UInt8(ascii: "[") {
            c.i += 1
            guard let id = c.name(), !id.isEmpty else { return false }
            while c.byte == 0x20 {
                c.i += 1
                guard let name = c.name(), !name.isEmpty, c.byte == UInt8(ascii: "="), c.peek(1) == UInt8(ascii: "\"") else { return false }
                c.i += 2
                guard c.skipQuotedValue() else { return false }
            }
            guard c.byte == UInt8(ascii: "]") else { return false }
            c.i += 1
        }
        return true
    }

    /// Structured data (already checked) as `{"id": {"name": "value", ...}, ...}`; an SD-ID or a
    /// parameter given twice is merged, the parameter's values into an array.
    private static func writeStructuredData(_ text: UnsafeRawBufferPointer, to records: NDJSONRecords) {
        var c = Cursor(text)
        var elements: [(id: [UInt8], params: [(name: [UInt8], values: [[UInt8]])])] = []
        var elementIndex: [[UInt8]: Int] = [:]
        while c.byte == UInt8(ascii: "[") {
            c.i += 1
            let id = Array(c.name() ?? text[0..<0])
            let e = elementIndex[id] ?? elements.count
            if e == elements.count {
                elementIndex[id] = e
                elements.append((id, []))
            }
            var paramIndex: [[UInt8]: Int] = Dictionary(uniqueKeysWithValues: elements[e].params.enumerated().map { ($1.name, $0) })
            while c.byte == 0x20 {
                c.i += 1
                let name = Array(c.name() ?? text[0..<0])
                c.i += 2
                let value = c.quotedValue()
                if let p = paramIndex[name] {
                    elements[e].params[p].values.append(value)
                } else {
                    paramIndex[name] = elements[e].params.count
                    elements[e].params.append((name, [value]))
                }
            }
            c.i += 1
        }
        records.beginObject()
        for element in elements {
            element.id.withUnsafeBytes { records.key($0) }
            records.beginObject()
            for param in element.params {
                param.name.withUnsafeBytes { records.key($0) }
                if param.values.count == 1 {
                    records.text(param.values[0])
                } else {
                    records.beginArray()
                    for value in param.values { records.text(value) }
                    records.endArray()
                }
            }
            records.endObject()
        }
        records.endObject()
    }

    // MARK: RFC 3164

    /// `[TIMESTAMP SP [HOSTNAME SP]] [TAG[PID]: ] MSG`, where TIMESTAMP is `Mmm dd hh:mm:ss` or an
    /// RFC 3339 date-time (as rsyslog forwards), and anything missing is left out.
    private static func parse3164(_ c: inout Cursor, into m: inout SyslogMessage, assumedOffset: Int, now: Int64) {
        let start = c.i
        if let ns = c.bsdTimestamp(assumedOffset: assumedOffset, now: now) {
            m.time = ns
        } else if let token = c.token(), let ns = token.withBytes({ RFC3339.parse($0, count: $1, defaultOffset: assumedOffset) }) {
            m.time = ns
        } else {
            c.i = start
        }
        if m.time != nil {
            // A hostname, unless the next word is already the tag (`tag:` or `tag[pid]:`).
            let beforeHost = c.i
            if let word = c.token(), !looksLikeTag(word) {
                m.hostname = word
            } else {
                c.i = beforeHost
            }
        }
        let beforeTag = c.i
        if let (tag, pid) = c.tag() {
            m.appName = tag
            m.procID = pid
        } else {
            c.i = beforeTag
        }
        m.message = c.bytes[c.i...]
    }

    private static func looksLikeTag(_ word: Slice<UnsafeRawBufferPointer>) -> Bool {
        word.last == UInt8(ascii: ":") || word.contains(UInt8(ascii: "["))
    }
}

/// A position in a syslog frame, with the token readers both formats need.
private struct Cursor {
    let bytes: UnsafeRawBufferPointer
    var i = 0

    init(_ bytes: UnsafeRawBufferPointer) { self.bytes = bytes }

    var atEnd: Bool { i >= bytes.count }
    var byte: UInt8 { i < bytes.count ? bytes[i] : 0 }
    func peek(_ k: Int) -> UInt8 { i + k < bytes.count ? bytes[i + k] : 0 }

    /// `<PRI>`, 0 to 191 in one to three digits.
    mutating func priority() -> Int? {
        guard byte == UInt8(ascii: "<") else { return nil }
        var k = i + 1
        var value = 0
        while k < bytes.count, k - i <= 3, bytes[k] >= 0x30, bytes[k] <= 0x39 {
            value = value * 10 + Int(bytes[k] - 0x30)
            k += 1
        }
        guard k > i + 1, k - i <= 4, k < bytes.count, bytes[k] == UInt8(ascii: ">"), value <= 191 else { return nil }
        // No leading zeros, except "<0>" itself.
        guard bytes[i + 1] != 0x30 || k == i + 2 else { return nil }
        i = k + 1
        return value
    }

    /// A run of printable characters up to a space (consumed) or the end; nil when empty.
    mutating func token() -> Slice<UnsafeRawBufferPointer>? {
        let start = i
        while i < bytes.count, bytes[i] > 0x20, bytes[i] < 0x7F { i += 1 }
        guard i > start else { return nil }
        let word = bytes[start..<i]
        if i < bytes.count {
            guard bytes[i] == 0x20 else {
                i = start
                return nil
            }
            i += 1
        }
        return word
    }

    /// An SD-NAME: printable ASCII but `=`, space, `]` and `"`.
    mutating func name() -> Slice<UnsafeRawBufferPointer>? {
        let start = i
        while i < bytes.count, bytes[i] > 0x20, bytes[i] < 0x7F, bytes[i] != UInt8(ascii: "="), bytes[i] != UInt8(ascii: "]"), bytes[i] != UInt8(ascii: "\"") {
            i += 1
        }
        return bytes[start..<i]
    }

    /// Steps over a PARAM-VALUE and its closing quote (`\"`, `\\` and `\]` escaped).
    mutating func skipQuotedValue() -> Bool {
        while i < bytes.count {
            let c = bytes[i]
            if c == UInt8(ascii: "\\") && i + 1 < bytes.count {
                i += 2
            } else if c == UInt8(ascii: "\"") {
                i += 1
                return true
            } else {
                i += 1
            }
        }
        return false
    }

    /// A PARAM-VALUE (already checked), unescaped.
    mutating func quotedValue() -> [UInt8] {
        var out: [UInt8] = []
        while i < bytes.count {
            let c = bytes[i]
            if c == UInt8(ascii: "\\") && i + 1 < bytes.count {
                let e = bytes[i + 1]
                // Only \", \\ and \] are escapes; any other backslash is itself.
                if e == UInt8(ascii: "\"") || e == UInt8(ascii: "\\") || e == UInt8(ascii: "]") {
                    out.append(e)
                } else {
                    out.append(c)
                    out.append(e)
                }
                i += 2
            } else if c == UInt8(ascii: "\"") {
                i += 1
                return out
            } else {
                out.append(c)
                i += 1
            }
        }
        return out
    }

    /// `Mmm dd hh:mm:ss ` (day space- or zero-padded) as an instant: the year that puts it
    /// closest before `now` (at most a day ahead, for clock skew), at `assumedOffset`.
    mutating func bsdTimestamp(assumedOffset: Int, now: Int64) -> Int64? {
        guard i + 16 <= bytes.count, bytes[i + 3] == 0x20, bytes[i + 6] == 0x20, bytes[i + 9] == UInt8(ascii: ":"),
              bytes[i + 12] == UInt8(ascii: ":"), bytes[i + 15] == 0x20 else { return nil }
        let months = ["Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec"]
        let name = String(decoding: bytes[i..<(i + 3)], as: UTF8.self)
        guard let month = months.firstIndex(of: name).map({ $0 + 1 }) else { return nil }
        func number(_ k: Int, _ n: Int, spaceFirst: Bool = false) -> Int? {
            var v = 0
            for j in 0..<n {
                let c = bytes[i + k + j]
                if j == 0 && spaceFirst && c == 0x20 { continue }
                guard c >= 0x30 && c <= 0x39 else { return nil }
                v = v * 10 + Int(c - 0x30)
            }
            return v
        }
        guard let day = number(4, 2, spaceFirst: true), let hour = number(7, 2), let minute = number(10, 2), let second = number(13, 2),
              (1...31).contains(day), hour < 24, minute < 60, second < 60 else { return nil }
        let (nowDays, _, _) = RFC3339.split(now + Int64(assumedOffset) * 1_000_000_000)
        let (thisYear, _, _) = RFC3339.civilFromDays(Int(nowDays))
        for year in [thisYear + 1, thisYear, thisYear - 1] {
            guard day <= RFC3339.daysIn(month: month, year: year) else { continue }
            let days = Int64(RFC3339.daysFromCivil(year: year, month: month, day: day))
            let seconds = days * 86_400 + Int64(hour * 3600 + minute * 60 + second - assumedOffset)
            let ns = seconds * 1_000_000_000
            if ns <= now + 86_400_000_000_000 {
                i += 16
                return ns
            }
        }
        return nil
    }

    /// `TAG[PID]: ` or `TAG: `: a tag of up to 48 printable characters but `[`, `:` and space.
    mutating func tag() -> (Slice<UnsafeRawBufferPointer>, Slice<UnsafeRawBufferPointer>?)? {
        let start = i
        while i < bytes.count, i - start < 48, bytes[i] > 0x20, bytes[i] < 0x7F, bytes[i] != UInt8(ascii: "["), bytes[i] != UInt8(ascii: ":") {
            i += 1
        }
        guard i > start, i < bytes.count else { return nil }
        let tag = bytes[start..<i]
        var pid: Slice<UnsafeRawBufferPointer>?
        if bytes[i] == UInt8(ascii: "[") {
            let pidStart = i + 1
            guard let close = bytes[pidStart...].firstIndex(of: UInt8(ascii: "]")), close > pidStart, close - pidStart <= 128 else { return nil }
            pid = bytes[pidStart..<close]
            i = close + 1
        }
        guard i < bytes.count, bytes[i] == UInt8(ascii: ":") else { return nil }
        i += 1
        if i < bytes.count && bytes[i] == 0x20 { i += 1 }
        return (tag, pid)
    }
}

extension Slice where Base == UnsafeRawBufferPointer {
    /// The bytes as a typed pointer and a count, for the parsers that take those.
    func withBytes<T>(_ body: (UnsafePointer<UInt8>, Int) -> T?) -> T? {
        let rebased = UnsafeRawBufferPointer(rebasing: self)
        guard let base = rebased.baseAddress?.assumingMemoryBound(to: UInt8.self) else { return nil }
        return body(base, rebased.count)
    }
}
