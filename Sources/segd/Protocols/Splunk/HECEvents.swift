import NDJSON
import SegmentFormat

/// Splunk HTTP Event Collector bodies into NDJSON records of the built-in `hec` stream's shape:
/// `time`, `host`, `source`, `sourcetype`, `event` (a string event as it is, any other event as
/// its JSON text) and `fields` (the indexed fields, an object, or null).
///
/// `/services/collector/event` takes event objects one after another, with or without whitespace
/// between them; `/services/collector/raw` takes text, one event per line. An event's `index`
/// (else the request's `?index=`) names its stream: the records come back grouped by it. A bad
/// event refuses the whole request with HEC's own code and the event's number, and nothing is
/// stored (HEC clients do not resend a refused batch, so none of it is stored twice).
enum HECEvents {
    /// The request's defaults for events that do not say (`?host=`, `?source=`, `?sourcetype=`,
    /// `?index=`, and for raw bodies `?time=`).
    struct Defaults {
        var host: String?
        var source: String?
        var sourcetype: String?
        var index: String?
        var time: Int64?
    }

    /// The events for one index: their records, and the number (0-based, in the request) of
    /// each, for `invalid-event-number`.
    final class Batch {
        let index: String?
        let records = NDJSONRecords()
        private(set) var events: [Int] = []

        init(index: String?) {
            self.index = index
        }

        var firstEvent: Int { events.first ?? 0 }

        func added(event number: Int) {
            events.append(number)
        }
    }

    static func transcodeEvents(_ body: UnsafeRawBufferPointer, defaults: Defaults, receivedAt now: Int64) throws(HECError) -> [Batch] {
        guard let base = body.baseAddress?.assumingMemoryBound(to: UInt8.self) else { throw HECError(.noData) }
        var s = JSONScanner(base, count: body.count)
        var batches: [Batch] = []
        var number = 0
        while true {
            s.skipSpace()
            if s.atEnd { break }
            do throws(HECError) {
                let event = try Event(&s)
                let index = event.index ?? defaults.index
                let batch: Batch
                if let existing = batches.first(where: { $0.index == index }) {
                    batch = existing
                } else {
                    batch = Batch(index: index)
                    batches.append(batch)
                }
                event.write(to: batch.records, defaults: defaults, now: now)
                batch.added(event: number)
            } catch {
                var error = error
                error.invalidEventNumber = number
                throw error
            }
            number += 1
        }
        guard number > 0 else { throw HECError(.noData) }
        return batches
    }

    static func transcodeRaw(_ body: UnsafeRawBufferPointer, defaults: Defaults, receivedAt now: Int64) throws(HECError) -> [Batch] {
        let batch = Batch(index: defaults.index)
        let records = batch.records
        NDJSONLines.forEach(body) { line, _ in
            batch.added(event: records.count)
            records.beginRecord()
            records.key("time")
            records.timestamp(defaults.time ?? now)
            writeMetadata(host: nil, source: nil, sourcetype: nil, defaults: defaults, to: records)
            records.key("event")
            records.text(line)
            records.key("fields")
            records.null()
            records.endRecord()
            return true
        }
        guard records.count > 0 else { throw HECError(.noData) }
        return [batch]
    }

    fileprivate static func writeMetadata(host: UnsafeRawBufferPointer?, source: UnsafeRawBufferPointer?, sourcetype: UnsafeRawBufferPointer?,
                                          defaults: Defaults, to records: NDJSONRecords) {
        func field(_ name: StaticString, _ value: UnsafeRawBufferPointer?, _ fallback: String?) {
            records.key(name)
            if let value {
                records.escapedString(value)
            } else if let fallback {
                records.text(fallback)
            } else {
                records.null()
            }
        }
        field("host", host, defaults.host)
        field("source", source, defaults.source)
        field("sourcetype", sourcetype, defaults.sourcetype)
    }

    /// One event object, as ranges of the body.
    private struct Event {
        var time: Int64?
        var host: UnsafeRawBufferPointer?
        var source: UnsafeRawBufferPointer?
        var sourcetype: UnsafeRawBufferPointer?
        var index: String?
        var event: UnsafeRawBufferPointer?
        var eventIsString = false
        var fields: UnsafeRawBufferPointer?

        init(_ s: inout JSONScanner) throws(HECError) {
            var time: Int64?
            var host, source, sourcetype, event, fields: UnsafeRawBufferPointer?
            var index: String?
            var eventIsString = false
            var problem: HECError?
            do throws(JSONScanner.Failure) {
                try s.forEachMember { s, key throws(JSONScanner.Failure) in
                    if key.is("event") {
                        if s.current == UInt8(ascii: "\"") {
                            let text = try s.rawString()
                            event = text.content
                            eventIsString = true
                        } else if s.current == UInt8(ascii: "n") {
                            try s.literal("null")
                        } else {
                            event = try s.rawValue()
                        }
                    } else if key.is("time") {
                        if try s.takeNull() { return }
                        let at = s.i
                        let raw = s.current == UInt8(ascii: "\"") ? try s.rawString().content : try s.rawValue()
                        guard let p = raw.baseAddress?.assumingMemoryBound(to: UInt8.self),
                              let ns = EpochTimestamp.nanoseconds(p, count: raw.count, unit: .seconds) else {
                            throw JSONScanner.Failure(message: "\"time\" must be seconds since the epoch, like 1714564800.25", offset: at)
                        }
                        time = ns
                    } else if key.is("host") || key.is("source") || key.is("sourcetype") {
                        if try s.takeNull() { return }
                        let value = try s.rawString().content
                        if key.is("host") { host = value } else if key.is("source") { source = value } else { sourcetype = value }
                    } else if key.is("index") {
                        if try s.takeNull() { return }
                        index = try s.string()
                    } else if key.is("fields") {
                        if try s.takeNull() { return }
                        guard s.current == UInt8(ascii: "{") else {
                            problem = HECError(.indexedFields)
                            return try s.skipValue()
                        }
                        fields = try s.rawValue()
                    } else {
                        try s.skipValue()
                    }
                }
            } catch {
                throw HECError(.invalidDataFormat, detail: "\(error.message) (at byte \(error.offset) of the body)")
            }
            if let problem { throw problem }
            guard let event else { throw HECError(.eventRequired) }
            if eventIsString && event.isEmpty { throw HECError(.eventBlank) }
            self.time = time
            self.host = host
            self.source = source
            self.sourcetype = sourcetype
            self.index = index
            self.event = event
            self.eventIsString = eventIsString
            self.fields = fields
        }

        func write(to records: NDJSONRecords, defaults: Defaults, now: Int64) {
            records.beginRecord()
            records.key("time")
            records.timestamp(time ?? now)
            HECEvents.writeMetadata(host: host, source: source, sourcetype: sourcetype, defaults: defaults, to: records)
            records.key("event")
            if let event {
                if eventIsString { records.escapedString(event) } else { records.text(event) }
            }
            records.key("fields")
            if let fields { records.json(fields) } else { records.null() }
            records.endRecord()
        }
    }
}
