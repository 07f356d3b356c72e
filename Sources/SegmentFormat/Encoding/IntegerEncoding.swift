/// Encoders and decoders for integer and timestamp values: plain, frame-of-reference and delta
/// bit-packing, delta and delta-of-delta varints (spec: Encodings, Integers).
///
/// The encoder measures every candidate exactly and returns them smallest first; the block encoder
/// then keeps whichever compresses best. Hot path for ingest and decode; guarded by `tools/bench/format`.
enum IntegerEncoding {
    /// One way to encode a column's integers, with its exact encoded size.
    struct Candidate {
        let encoding: Encoding
        let size: Int
        /// Worth compressing whatever its raw size: its bytes are laid out for the codec's entropy
        /// coder, so it often ends smaller than candidates that start smaller.
        var compressesBest = false
        let write: (inout [UInt8]) -> Void

        init(encoding: Encoding, size: Int, compressesBest: Bool = false, write: @escaping (inout [UInt8]) -> Void) {
            self.encoding = encoding
            self.size = size
            self.compressesBest = compressesBest
            self.write = write
        }
    }

    /// Every candidate, smallest first; with `dictionary`, also `dict-i64` when few values repeat
    /// often (format version 2).
    static func candidates(_ values: [Int64], dictionary: Bool = false) -> [Candidate] {
        var result = plainCandidates(values)
        // A dictionary pays when codes are narrower than the values: not when the frame of reference
        // already fits a byte, nor past 65,536 entries (codes as wide as most values).
        let frameOfReference = result.filter { $0.encoding == .forBitpack }.map(\.size).min() ?? Int.max
        if dictionary, values.count >= 16, frameOfReference > values.count + 16,
           let dict = IntegerDictionary(values, maxEntries: min(values.count / 4, 1 << 16)) {
            for layout in dict.width % 8 == 0 ? [IntegerDictionary.Layout.packed] : [.packed, .planes] {
                result.append(Candidate(encoding: .dictInt64, size: dict.size(layout), compressesBest: layout == .planes) { out in dict.write(layout, into: &out) })
            }
        }
        return result.sorted { $0.size < $1.size }
    }

    private static func plainCandidates(_ values: [Int64]) -> [Candidate] {
        let n = values.count
        guard n > 0 else { return [] }
        var result: [Candidate] = [Candidate(encoding: .plainInt64, size: 8 * n) { out in
            values.withUnsafeBytes { raw in
                // Little-endian hosts store i64 as the format does.
                out.append(contentsOf: raw)
            }
        }]

        // Frame of reference.
        var minV = values[0], maxV = values[0]
        for v in values {
            if v < minV { minV = v }
            if v > maxV { maxV = v }
        }
        var forScale: UInt64 = 0
        for v in values where forScale != 1 { forScale = gcd(forScale, UInt64(bitPattern: v &- minV)) }
        if forScale == 0 { forScale = 1 }
        let forRange = UInt64(bitPattern: maxV &- minV) / forScale
        let forHeader = Varint.size(Varint.zigzag(minV)) + Varint.size(forScale) + 1
        let forWidths = widths(for: forRange)
        for width in forWidths {
            // The byte-aligned width, when it is not the exact one, suits a byte-oriented codec.
            let aligned = forWidths.count > 1 && width == forWidths[1]
            result.append(Candidate(encoding: .forBitpack, size: forHeader + BitPacking.byteCount(count: n, width: width), compressesBest: aligned) { out in
                out.append(contentsOf: varintBytes(Varint.zigzag(minV)))
                out.append(contentsOf: varintBytes(forScale))
                out.append(UInt8(width))
                values.withUnsafeBufferPointer { vs in
                    if forScale == 1 {
                        BitPacking.pack(&out, count: n, width: width) { UInt64(bitPattern: vs[$0] &- minV) }
                    } else {
                        BitPacking.pack(&out, count: n, width: width) { UInt64(bitPattern: vs[$0] &- minV) / forScale }
                    }
                }
            })
        }

        guard n > 1 else { return result.sorted { $0.size < $1.size } }

        // Deltas (wrapping: exact modulo 2^64, and decoding wraps the same way).
        var minD = values[1] &- values[0], maxD = minD
        var deltaGCD: UInt64 = 0
        var dodGCD: UInt64 = 0
        var prevDelta = minD
        // A running gcd stops at 1, the common case, so most columns pay for a few divisions only.
        for i in 1..<n {
            let d = values[i] &- values[i - 1]
            if d < minD { minD = d }
            if d > maxD { maxD = d }
            if deltaGCD != 1 { deltaGCD = gcd(deltaGCD, d.magnitude) }
            if i > 1 && dodGCD != 1 {
                dodGCD = gcd(dodGCD, (d &- prevDelta).magnitude)
            }
            prevDelta = d
        }
        var packScale: UInt64 = 0
        for i in 1..<n where packScale != 1 { packScale = gcd(packScale, UInt64(bitPattern: (values[i] &- values[i - 1]) &- minD)) }
        if packScale == 0 { packScale = 1 }
        let deltaRange = UInt64(bitPattern: maxD &- minD) / packScale
        let packHeader = Varint.size(Varint.zigzag(values[0])) + Varint.size(Varint.zigzag(minD)) + Varint.size(packScale) + 1
        for width in widths(for: deltaRange) {
            result.append(Candidate(encoding: .deltaBitpack, size: packHeader + BitPacking.byteCount(count: n - 1, width: width)) { out in
                out.append(contentsOf: varintBytes(Varint.zigzag(values[0])))
                out.append(contentsOf: varintBytes(Varint.zigzag(minD)))
                out.append(contentsOf: varintBytes(packScale))
                out.append(UInt8(width))
                values.withUnsafeBufferPointer { vs in
                    if packScale == 1 {
                        BitPacking.pack(&out, count: n - 1, width: width) { UInt64(bitPattern: (vs[$0 + 1] &- vs[$0]) &- minD) }
                    } else {
                        BitPacking.pack(&out, count: n - 1, width: width) { UInt64(bitPattern: (vs[$0 + 1] &- vs[$0]) &- minD) / packScale }
                    }
                }
            })
        }

        let deltaScale = Int64(bitPattern: max(deltaGCD, 1))
        let dodScale = Int64(bitPattern: max(dodGCD, 1))
        // Scales above Int64.max only arise from a single wrapping delta; skip varints then.
        if deltaScale > 0 && dodScale > 0 {
            var deltaSize = Varint.size(Varint.zigzag(values[0])) + Varint.size(UInt64(deltaScale))
            var dodSize = Varint.size(Varint.zigzag(values[0])) + Varint.size(Varint.zigzag(values[1] &- values[0])) + Varint.size(UInt64(dodScale))
            var prev = values[1] &- values[0]
            deltaSize += Varint.size(Varint.zigzag(prev / deltaScale))
            if deltaScale == 1 && dodScale == 1 {
                for i in 2..<n {
                    let d = values[i] &- values[i - 1]
                    deltaSize += Varint.size(Varint.zigzag(d))
                    dodSize += Varint.size(Varint.zigzag(d &- prev))
                    prev = d
                }
            } else {
                for i in 2..<n {
                    let d = values[i] &- values[i - 1]
                    deltaSize += Varint.size(Varint.zigzag(d / deltaScale))
                    dodSize += Varint.size(Varint.zigzag((d &- prev) / dodScale))
                    prev = d
                }
            }
            result.append(Candidate(encoding: .deltaVarint, size: deltaSize) { out in
                out.append(contentsOf: varintBytes(Varint.zigzag(values[0])))
                out.append(contentsOf: varintBytes(UInt64(deltaScale)))
                values.withUnsafeBufferPointer { vs in
                    Varint.appendAll(&out, count: n - 1) { Varint.zigzag((vs[$0 + 1] &- vs[$0]) / deltaScale) }
                }
            })
            result.append(Candidate(encoding: .dodVarint, size: dodSize) { out in
                out.append(contentsOf: varintBytes(Varint.zigzag(values[0])))
                out.append(contentsOf: varintBytes(Varint.zigzag(values[1] &- values[0])))
                out.append(contentsOf: varintBytes(UInt64(dodScale)))
                values.withUnsafeBufferPointer { vs in
                    Varint.appendAll(&out, count: n - 2) { i in
                        let d = vs[i + 2] &- vs[i + 1]
                        let p = vs[i + 1] &- vs[i]
                        return Varint.zigzag((d &- p) / dodScale)
                    }
                }
            })
        }
        return result.sorted { $0.size < $1.size }
    }

    /// The exact bit width, and the next byte-aligned width when different (byte-aligned values
    /// often compress better, since a byte-oriented codec can see their repeats).
    private static func widths(for range: UInt64) -> [Int] {
        let exact = BitPacking.width(of: range)
        let aligned = exact <= 8 ? 8 : exact <= 16 ? 16 : exact <= 32 ? 32 : 64
        return exact == 0 || exact == aligned ? [exact] : [exact, aligned]
    }

    static func gcd(_ a: UInt64, _ b: UInt64) -> UInt64 {
        var a = a, b = b
        while b != 0 { (a, b) = (b, a % b) }
        return a
    }

    private static func varintBytes(_ v: UInt64) -> [UInt8] {
        var w = ByteWriter(capacity: 10)
        w.uvarint(v)
        return w.bytes
    }

    // MARK: Decoding

    /// Decodes `count` values of `encoding` from `section`, which must be consumed exactly.
    static func decode(_ encoding: Encoding, _ section: UnsafeRawBufferPointer, count: Int) throws -> [Int64] {
        var r = ByteReader(section, context: "integer values")
        let result: [Int64]
        switch encoding {
        case .plainInt64:
            let raw = try r.bytes(count * 8)
            result = [Int64](unsafeUninitializedCapacity: count) { buf, n in
                for i in 0..<count { buf[i] = Int64(littleEndian: raw.loadUnaligned(fromByteOffset: 8 * i, as: Int64.self)) }
                n = count
            }
        case .forBitpack:
            let base = try r.svarint()
            let scale = try r.uvarint()
            let width = try readWidth(&r)
            let packed = try r.bytes(BitPacking.byteCount(count: count, width: width))
            guard scale >= 1 else { throw FormatError("for-bitpack scale is 0") }
            result = [Int64](unsafeUninitializedCapacity: count) { buf, n in
                BitPacking.unpack(packed, count: count, width: width) { i, u in buf[i] = base &+ Int64(bitPattern: u &* scale) }
                n = count
            }
        case .deltaBitpack:
            let first = try r.svarint()
            let minDelta = try r.svarint()
            let scale = try r.uvarint()
            let width = try readWidth(&r)
            guard scale >= 1 else { throw FormatError("delta-bitpack scale is 0") }
            let packed = try r.bytes(BitPacking.byteCount(count: max(count - 1, 0), width: width))
            result = [Int64](unsafeUninitializedCapacity: count) { buf, n in
                var prev = first
                buf[0] = first
                BitPacking.unpack(packed, count: count - 1, width: width) { i, u in
                    prev = prev &+ minDelta &+ Int64(bitPattern: u &* scale)
                    buf[i + 1] = prev
                }
                n = count
            }
        case .deltaVarint:
            let first = try r.svarint()
            let scale = Int64(bitPattern: try r.uvarint())
            guard scale >= 1 else { throw FormatError("delta-varint scale is not positive") }
            result = try decodeVarints(&r, count: count, leading: [first]) { prev, z in prev &+ Varint.unzigzag(z) &* scale }
        case .dodVarint:
            let first = try r.svarint()
            guard count > 1 else {
                result = [first]
                break
            }
            let firstDelta = try r.svarint()
            let scale = Int64(bitPattern: try r.uvarint())
            guard scale >= 1 else { throw FormatError("dod-varint scale is not positive") }
            var delta = firstDelta
            result = try decodeVarints(&r, count: count, leading: [first, first &+ firstDelta]) { prev, z in
                delta = delta &+ Varint.unzigzag(z) &* scale
                return prev &+ delta
            }
        case .dictInt64:
            result = try IntegerDictionary.decode(&r, count: count)
        default:
            throw FormatError("encoding \(encoding.name) is not an integer encoding")
        }
        guard r.isAtEnd else { throw FormatError("\(encoding.name) section has \(r.remaining) bytes left over") }
        return result
    }

    private static func readWidth(_ r: inout ByteReader) throws -> Int {
        let width = Int(try r.u8())
        guard width <= 64 else { throw FormatError("bit width \(width) is over 64") }
        return width
    }

    /// Decodes `count` values: the `leading` ones are known, each next is `step(previous, varint)`.
    @inline(__always)
    private static func decodeVarints(_ r: inout ByteReader, count: Int, leading: [Int64],
                                      _ step: (Int64, UInt64) -> Int64) throws -> [Int64] {
        let rest = try r.bytes(r.remaining)
        guard count > leading.count else {
            guard rest.isEmpty else { throw FormatError("varint section has \(rest.count) bytes left over") }
            return Array(leading.prefix(count))
        }
        guard let base = rest.baseAddress?.assumingMemoryBound(to: UInt8.self) else {
            throw FormatError("varint section is empty but \(count) values are expected")
        }
        var cursor = VarintCursor(base: base, end: rest.count, position: 0)
        var failure: Error?
        let values = [Int64](unsafeUninitializedCapacity: count) { buf, n in
            for (i, v) in leading.enumerated() { buf[i] = v }
            n = leading.count
            var prev = leading[leading.count - 1]
            do {
                for i in leading.count..<count {
                    prev = step(prev, try cursor.next())
                    buf[i] = prev
                    n = i + 1
                }
            } catch {
                failure = error
            }
        }
        if let failure { throw failure }
        guard cursor.position == rest.count else { throw FormatError("varint section has \(rest.count - cursor.position) bytes left over") }
        return values
    }
}
