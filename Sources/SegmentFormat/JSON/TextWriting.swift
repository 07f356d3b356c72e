#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

/// Writes JSON text straight into memory the caller has reserved: small copies, integers,
/// escaped strings and timestamps, each returning the position after what it wrote.
///
/// Hot path of `segcat cat` (one call per field); guarded by `tools/bench/format` (decode MB/s).
/// Public for the NDJSON writer, shredded values, and the query module's CSV and TSV writer.
public enum TextWriting {
    /// Copies `n` bytes; short runs (field names, codes' text) without a `memcpy` call.
    @inlinable @inline(__always)
    public static func copy(_ src: UnsafePointer<UInt8>, _ n: Int, to p: UnsafeMutablePointer<UInt8>) -> UnsafeMutablePointer<UInt8> {
        if n >= 8 && n <= 16 {
            let s = UnsafeRawPointer(src), d = UnsafeMutableRawPointer(p)
            d.storeBytes(of: s.loadUnaligned(as: UInt64.self), as: UInt64.self)
            d.storeBytes(of: s.loadUnaligned(fromByteOffset: n - 8, as: UInt64.self), toByteOffset: n - 8, as: UInt64.self)
        } else if n < 8 {
            for k in 0..<n { p[k] = src[k] }
        } else {
            memcpy(p, src, n)
        }
        return p + n
    }

    /// The decimal text of `v`, written backwards from its last digit.
    @inlinable @inline(__always)
    public static func integer(_ v: Int64, to p: UnsafeMutablePointer<UInt8>) -> UnsafeMutablePointer<UInt8> {
        var out = p
        if v < 0 {
            out[0] = UInt8(ascii: "-")
            out += 1
        }
        var u = v.magnitude
        var digits = 1
        var bound: UInt64 = 10
        while digits < 20 && u >= bound {
            digits += 1
            if digits == 20 { break }
            bound &*= 10
        }
        var k = digits - 1
        while k > 0 {
            let q = u / 10
            out[k] = UInt8(truncatingIfNeeded: u &- q &* 10) &+ 0x30
            u = q
            k -= 1
        }
        out[0] = UInt8(truncatingIfNeeded: u) &+ 0x30
        return out + digits
    }

    /// `bytes` as a JSON string: quoted, with `"`, `\` and control characters escaped. At most
    /// `6 * n + 2` bytes (every byte a `\u00XX`).
    @inlinable @inline(__always)
    public static func jsonString(_ src: UnsafePointer<UInt8>, _ n: Int, to p: UnsafeMutablePointer<UInt8>) -> UnsafeMutablePointer<UInt8> {
        var out = p
        out[0] = UInt8(ascii: "\"")
        out += 1
        var start = 0
        var k = 0
        while k < n {
            if k + 8 <= n && SWAR.specialMask(UnsafeRawPointer(src + k).loadUnaligned(as: UInt64.self)) == 0 {
                k += 8
                continue
            }
            let c = src[k]
            if c == 0x22 || c == 0x5C || c < 0x20 {
                out = copy(src + start, k - start, to: out)
                out = escape(c, to: out)
                start = k + 1
            }
            k += 1
        }
        out = copy(src + start, n - start, to: out)
        out[0] = UInt8(ascii: "\"")
        return out + 1
    }

    @inlinable
    static func escape(_ c: UInt8, to p: UnsafeMutablePointer<UInt8>) -> UnsafeMutablePointer<UInt8> {
        p[0] = 0x5C
        switch c {
        case 0x22, 0x5C: p[1] = c
        case 0x0A: p[1] = UInt8(ascii: "n")
        case 0x0D: p[1] = UInt8(ascii: "r")
        case 0x09: p[1] = UInt8(ascii: "t")
        default:
            let hex = (UInt8(ascii: "0"), UInt8(ascii: "a") - 10)
            p[1] = UInt8(ascii: "u")
            p[2] = 0x30
            p[3] = 0x30
            p[4] = c >> 4 < 10 ? hex.0 + (c >> 4) : hex.1 + (c >> 4)
            p[5] = c & 15 < 10 ? hex.0 + (c & 15) : hex.1 + (c & 15)
            return p + 6
        }
        return p + 2
    }

    /// The shortest text that reads back as the same double (Swift's `description`), as JSON.
    public static func numberText(_ v: Double) -> String {
        v.description
    }
}
