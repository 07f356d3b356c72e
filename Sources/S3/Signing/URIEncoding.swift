/// Percent-encoding as SigV4 and S3 define it: every byte of the UTF-8 form except the unreserved
/// characters `A-Z a-z 0-9 - _ . ~` becomes `%XX` (upper-case hex); `/` is kept in paths only.
public enum URIEncoding {
    public static func encode(_ text: String, keepingSlashes: Bool) -> String {
        let hex = Array("0123456789ABCDEF".utf8)
        var out: [UInt8] = []
        out.reserveCapacity(text.utf8.count)
        for b in text.utf8 {
            let unreserved = (b >= 0x41 && b <= 0x5A) || (b >= 0x61 && b <= 0x7A) || (b >= 0x30 && b <= 0x39)
                || b == 0x2D || b == 0x5F || b == 0x2E || b == 0x7E
            if unreserved || (keepingSlashes && b == 0x2F) {
                out.append(b)
            } else {
                out.append(0x25)
                out.append(hex[Int(b >> 4)])
                out.append(hex[Int(b & 15)])
            }
        }
        return String(decoding: out, as: UTF8.self)
    }

    /// Decodes `%XX` escapes (and nothing else); nil when an escape is malformed or the result is not UTF-8.
    public static func decode(_ text: String) -> String? {
        var out: [UInt8] = []
        var bytes = text.utf8.makeIterator()
        func digit(_ c: UInt8?) -> UInt8? {
            guard let c else { return nil }
            switch c {
            case 0x30...0x39: return c - 0x30
            case 0x41...0x46: return c - 0x41 + 10
            case 0x61...0x66: return c - 0x61 + 10
            default: return nil
            }
        }
        while let b = bytes.next() {
            guard b == 0x25 else {
                out.append(b)
                continue
            }
            guard let hi = digit(bytes.next()), let lo = digit(bytes.next()) else { return nil }
            out.append(hi << 4 | lo)
        }
        return String(validating: out, as: UTF8.self)
    }
}
