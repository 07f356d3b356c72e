/// Every number that the on-disk format fixes, in one place, each with the reason for its value.
/// `docs/segment-format.md` is the contract these constants implement.
public enum FormatConstants {
    /// First four bytes of every segment. A fixed, printable tag so `file`/`xxd` users recognise it.
    public static let headerMagic: [UInt8] = Array("SEG1".utf8)
    /// Last four bytes of a sealed segment: a reader checks it before trusting the footer length.
    public static let trailerMagic: [UInt8] = Array("SEGF".utf8)
    /// First four bytes of every block frame: lets a reader recover blocks without the footer.
    public static let blockMagic: [UInt8] = Array("BLK1".utf8)
    /// The version this code writes by default, and the newest it reads.
    public static let formatVersion: UInt16 = 2
    /// The oldest version this code reads (and can still write, for readers that know no newer one).
    public static let oldestFormatVersion: UInt16 = 1
    /// Bound on the columns a block makes from paths inside json and extra values: enough for
    /// OpenTelemetry attributes and Kubernetes labels, few enough that a block's table stays small.
    public static let defaultMaxShreddedColumns = 256
    /// Hard bound on shredded columns a block may hold; `u16` chunk indexes with room to spare.
    public static let maxShreddedColumns = 4_096

    /// Magic (4) + version (2) + flags (2) + header length (4).
    public static let headerPreambleSize = 12
    /// Magic (4) + body length (4) + body crc (4).
    public static let blockFrameSize = 12
    /// column (2) + encoding (1) + codec (1) + flags (1) + reserved (1) + value count, raw, stored, crc (4 × 4).
    public static let chunkHeaderSize = 22
    /// Footer crc (4) + footer length (4) + trailing magic (4).
    public static let footerTrailerSize = 12

    /// Default rows per block: large enough that per-block overhead vanishes and codecs see long runs,
    /// small enough that decoding one block of one column stays in L2 cache (64 Ki × 8 bytes = 512 KiB).
    public static let defaultBlockRows = 65_536
    /// Hard bound on rows per block, checked by readers, so a damaged count cannot demand huge buffers.
    public static let maxBlockRows = 1 << 20
    /// A block is also closed once its records took this many bytes of input, so wide text records
    /// keep blocks (and a reader's memory) bounded.
    public static let maxBlockRawBytes = 32 << 20
    /// Bound on one record line: a writer refuses a longer one. With `maxBlockRawBytes` it bounds
    /// a block: a record that would take a block past that bound starts the next one, so a block
    /// holds at most 32 MiB of values, or one record.
    public static let maxRecordBytes = 64 << 20
    /// Bound on columns in a schema: a log schema with more is a mistake.
    public static let maxColumns = 4_096
    /// Bound on a field name, in bytes.
    public static let maxNameBytes = 255
    /// Bound on one string value, in bytes.
    public static let maxValueBytes = 64 << 20
    /// Bound on the decompressed size of a string, json or extra chunk. A writer cannot go past it:
    /// the values' bytes are at most a block's 32 MiB or one record's 64 MiB (`maxRecordBytes`), their varint lengths
    /// at most 4 bytes a value (a value is under 2^28 bytes), dictionary codes at most 4 bytes a row,
    /// and the two bitmaps 128 KiB each at 1,048,576 rows: under 73 MiB. A reader refuses more, so a
    /// crafted length cannot make it allocate more than this for one chunk.
    public static let maxChunkRawBytes = 80 << 20
    /// Bound on the decompressed bytes of all of one block's chunks, bitmaps aside: integer values
    /// take at most 10 bytes each (a varint) for at least 3 bytes of input (`1,` and a key's quote),
    /// strings at most their input plus lengths; four times a record's bound bounds both.
    public static let maxBlockValueBytes = 4 * maxRecordBytes
    /// No codec here expands more than ~1032:1 (zlib's best case), so a raw length beyond this
    /// multiple of the stored length (plus slack for tiny chunks) marks corruption.
    public static let maxExpansionRatio = 1_100
    public static let expansionSlack = 1_024
    /// String min/max stats longer than this are cut, so footers stay small for long text.
    public static let maxStatBytes = 64
}
