/// Limits on what a query may ask for, each with why it was chosen.
public enum QueryLimits {
    /// Parentheses and NOTs nested inside each other in `--where`. Parsing and evaluation recurse
    /// once per level, so this bounds their stack use (a few hundred bytes a level, far below the
    /// 512 KiB of the smallest worker-thread stack); DuckDB's own default is 1,000 expression
    /// levels. No hand-written condition comes near it.
    public static let maxNesting = 256
}
