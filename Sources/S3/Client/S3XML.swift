/// Just enough XML for S3's answers (`ListBucketResult`, `Error`): elements, text with the five
/// named entities and numeric references, CDATA; declarations, comments and attributes are skipped.
///
/// Hand-written because Foundation's `XMLParser` (and the XML packages available here, which build on
/// it) needs libxml2 at run time, which the statically linked release binary and its runtime image
/// leave out; S3's answers use a small, fixed vocabulary. Never traps: malformed input throws.
struct S3XML {
    /// One element: its name, its own text (concatenated), and its child elements in order.
    final class Element {
        let name: String
        var text = ""
        var children: [Element] = []

        init(name: String) { self.name = name }

        func child(_ name: String) -> Element? { children.first { $0.name == name } }
        func all(_ name: String) -> [Element] { children.filter { $0.name == name } }
        subscript(_ name: String) -> String? { child(name)?.text }
    }

    struct Malformed: Error {}

    /// Parses `bytes` and returns the root element.
    static func parse(_ bytes: [UInt8]) throws -> Element {
        var i = 0
        var stack: [Element] = []
        var root: Element?
        func starts(_ s: String) -> Bool {
            let u = Array(s.utf8)
            return i + u.count <= bytes.count && Array(bytes[i..<(i + u.count)]) == u
        }
        func skip(past end: String) throws {
            let u = Array(end.utf8)
            while i + u.count <= bytes.count {
                if Array(bytes[i..<(i + u.count)]) == u {
                    i += u.count
                    return
                }
                i += 1
            }
            throw Malformed()
        }
        while i < bytes.count {
            if bytes[i] != UInt8(ascii: "<") {
                let start = i
                while i < bytes.count && bytes[i] != UInt8(ascii: "<") { i += 1 }
                if let top = stack.last { top.text += try decodeEntities(bytes[start..<i]) }
                continue
            }
            if starts("<?") { try skip(past: "?>"); continue }
            if starts("<!--") { try skip(past: "-->"); continue }
            if starts("<![CDATA[") {
                i += 9
                let start = i
                try skip(past: "]]>")
                stack.last?.text += String(decoding: bytes[start..<(i - 3)], as: UTF8.self)
                continue
            }
            if starts("<!") { try skip(past: ">"); continue }
            let closing = starts("</")
            i += closing ? 2 : 1
            let nameStart = i
            while i < bytes.count, !" \t\r\n/>".utf8.contains(bytes[i]) { i += 1 }
            let name = String(decoding: bytes[nameStart..<i], as: UTF8.self)
            guard !name.isEmpty else { throw Malformed() }
            // Attributes are of no use here; skip to the end of the tag, minding quoted values.
            var quote: UInt8?
            var selfClosing = false
            while i < bytes.count {
                let c = bytes[i]
                if let q = quote {
                    if c == q { quote = nil }
                } else if c == UInt8(ascii: "\"") || c == UInt8(ascii: "'") {
                    quote = c
                } else if c == UInt8(ascii: ">") {
                    selfClosing = i > nameStart && bytes[i - 1] == UInt8(ascii: "/")
                    break
                }
                i += 1
            }
            guard i < bytes.count else { throw Malformed() }
            i += 1
            if closing {
                guard let top = stack.popLast(), top.name == name else { throw Malformed() }
                continue
            }
            let element = Element(name: name)
            if let parent = stack.last {
                parent.children.append(element)
            } else {
                guard root == nil else { throw Malformed() }
                root = element
            }
            if !selfClosing { stack.append(element) }
        }
        guard stack.isEmpty, let root else { throw Malformed() }
        return root
    }

    private static func decodeEntities(_ raw: ArraySlice<UInt8>) throws -> String {
        guard raw.contains(UInt8(ascii: "&")) else { return String(decoding: raw, as: UTF8.self) }
        var out = ""
        var text = Substring(String(decoding: raw, as: UTF8.self))
        while let amp = text.firstIndex(of: "&") {
            out += text[..<amp]
            guard let semi = text[amp...].firstIndex(of: ";") else { throw Malformed() }
            let entity = text[text.index(after: amp)..<semi]
            switch entity {
            case "amp": out += "&"
            case "lt": out += "<"
            case "gt": out += ">"
            case "quot": out += "\""
            case "apos": out += "'"
            default:
                let value: UInt32?
                if entity.hasPrefix("#x") || entity.hasPrefix("#X") {
                    value = UInt32(entity.dropFirst(2), radix: 16)
                } else if entity.hasPrefix("#") {
                    value = UInt32(entity.dropFirst(), radix: 10)
                } else {
                    value = nil
                }
                guard let value, let scalar = Unicode.Scalar(value) else { throw Malformed() }
                out.unicodeScalars.append(scalar)
            }
            text = text[text.index(after: semi)...]
        }
        return out + text
    }
}
