/// Splits a syslog byte stream into messages, by RFC 6587's rules: a frame that starts with a
/// digit is octet-counted (`<length> <message>`, a line end counted in it dropped), any other is
/// ended by LF (a CR before it is dropped) or NUL. Senders may mix both. Empty frames are skipped.
///
/// Memory is bounded by `maxMessage`: a longer message, however framed, comes out in pieces of
/// `maxMessage` bytes, each stored as a message of its own, so nothing is dropped and nothing
/// grows without bound. Not thread-safe: one per connection.
struct SyslogFraming {
    let maxMessage: Int
    private var buffer: [UInt8] = []
    /// Bytes of an octet-counted message still to come, when it is longer than `maxMessage`.
    private var oversizeRemaining = 0

    init(maxMessage: Int) {
        precondition(maxMessage > 0)
        self.maxMessage = maxMessage
    }

    /// Appends `bytes` and calls `frame` for each complete message, in order.
    mutating func feed(_ bytes: UnsafeRawBufferPointer, _ frame: (UnsafeRawBufferPointer) -> Void) {
        buffer.append(contentsOf: bytes)
        drain(frame)
    }

    /// At the end of the stream: what is left (a last line without its LF, or what arrived of an
    /// octet-counted message) is a message too.
    mutating func finish(_ frame: (UnsafeRawBufferPointer) -> Void) {
        drain(frame)
        if oversizeRemaining > 0 {
            if !buffer.isEmpty { emit(0..<buffer.count, frame) }
        } else if let (_, headerEnd) = octetCount(at: 0) {
            if headerEnd < buffer.count { emit(headerEnd..<buffer.count, frame) }
        } else if !buffer.isEmpty {
            emit(0..<buffer.count, frame)
        }
        buffer.removeAll()
        oversizeRemaining = 0
    }

    private mutating func drain(_ frame: (UnsafeRawBufferPointer) -> Void) {
        var start = 0
        defer { buffer.removeSubrange(0..<start) }
        while start < buffer.count {
            if oversizeRemaining > 0 {
                let n = min(oversizeRemaining, maxMessage, buffer.count - start)
                // A piece shorter than maxMessage waits for more bytes, unless it ends the message.
                guard n == oversizeRemaining || n == maxMessage else { return }
                emit(start..<(start + n), frame)
                oversizeRemaining -= n
                start += n
                continue
            }
            let c = buffer[start]
            if c == 0x0A || c == 0x00 || c == 0x0D {
                start += 1
                continue
            }
            if c >= 0x31 && c <= 0x39, let (length, headerEnd) = octetCount(at: start) {
                if length > maxMessage {
                    oversizeRemaining = length
                    start = headerEnd
                    continue
                }
                guard buffer.count - headerEnd >= length else { return }
                emit(Self.trimmingLineEnd(headerEnd..<(headerEnd + length), in: buffer), frame)
                start = headerEnd + length
                continue
            } else if c >= 0x31 && c <= 0x39 && needsMoreDigits(at: start) {
                return
            }
            // Non-transparent framing: up to LF or NUL.
            var end = start
            while end < buffer.count && buffer[end] != 0x0A && buffer[end] != 0x00 { end += 1 }
            if end == buffer.count {
                if end - start >= maxMessage {
                    emit(start..<(start + maxMessage), frame)
                    start += maxMessage
                    continue
                }
                return
            }
            var stop = end
            if stop > start && buffer[stop - 1] == 0x0D { stop -= 1 }
            if stop - start > maxMessage {
                var piece = start
                while piece < stop {
                    let n = min(maxMessage, stop - piece)
                    emit(piece..<(piece + n), frame)
                    piece += n
                }
            } else if stop > start {
                emit(start..<stop, frame)
            }
            start = end + 1
        }
    }

    /// `<digits> ` at `start`: the length and where the message begins; nil when not (yet) a count.
    private func octetCount(at start: Int) -> (Int, Int)? {
        var k = start
        var length = 0
        while k < buffer.count, k - start < 10, buffer[k] >= 0x30, buffer[k] <= 0x39 {
            length = length * 10 + Int(buffer[k] - 0x30)
            k += 1
        }
        guard k < buffer.count, buffer[k] == 0x20, k > start else { return nil }
        return (length, k + 1)
    }

    /// An octet-counted message without the line end some senders count in it (syslog-ng's
    /// `syslog()` ends each message with LF): LF, CR LF or NUL at its end is framing, not text.
    private static func trimmingLineEnd(_ range: Range<Int>, in buffer: [UInt8]) -> Range<Int> {
        var end = range.upperBound
        if end > range.lowerBound && (buffer[end - 1] == 0x0A || buffer[end - 1] == 0x00) { end -= 1 }
        if end > range.lowerBound && buffer[end - 1] == 0x0D { end -= 1 }
        return range.lowerBound..<end
    }

    /// Digits run to the end of what has arrived: the count may continue in the next read.
    private func needsMoreDigits(at start: Int) -> Bool {
        var k = start
        while k < buffer.count, buffer[k] >= 0x30, buffer[k] <= 0x39 { k += 1 }
        return k == buffer.count && k - start < 10
    }

    private func emit(_ range: Range<Int>, _ frame: (UnsafeRawBufferPointer) -> Void) {
        buffer.withUnsafeBytes { frame(UnsafeRawBufferPointer(rebasing: $0[range])) }
    }
}
