import ArgumentParser
import CMalloc

/// `segcat`: packs NDJSON into segments, decodes them back, shows what is inside, and checks them.
@main
struct Segcat: ParsableCommand {
    static func main() {
        // Decoding allocates and frees a few large buffers per block. By default glibc maps and unmaps
        // each one, so every block pays for fresh page faults (half the run time of a full decode, in
        // system time); keeping freed memory in the heap lets the next block reuse it.
        _ = mallopt(M_MMAP_THRESHOLD, 1 << 30)
        _ = mallopt(M_TRIM_THRESHOLD, 1 << 30)
        main(nil)
    }

    static let configuration = CommandConfiguration(
        commandName: "segcat",
        abstract: "Pack, decode, inspect and verify compressed columnar log segments.",
        discussion: """
        With no subcommand, segcat decodes its arguments like `segcat cat`.

        Exit status: 0 success; 1 the input is bad (an invalid record, a damaged segment: each is \
        reported on stderr); 2 a file or schema could not be used; 64 the command line is wrong.
        Output to a pipe that closes early (segcat x.seg | head) ends quietly with status 0.
        """,
        subcommands: [CatCommand.self, PackCommand.self, InfoCommand.self, VerifyCommand.self, SchemaCommand.self],
        defaultSubcommand: CatCommand.self
    )
}
