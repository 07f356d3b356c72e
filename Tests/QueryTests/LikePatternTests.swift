import Testing
@testable import Query

struct LikePatternTests {
    func matches(_ pattern: String, _ value: String, ci: Bool = false) -> Bool {
        Array(value.utf8).withUnsafeBufferPointer { LikePattern(pattern, caseInsensitive: ci).matches($0) }
    }

    @Test func wildcardsMatchAsInSQL() {
        #expect(matches("abc", "abc") && !matches("abc", "abcd"))
        #expect(matches("ab%", "abxyz") && !matches("ab%", "xab"))
        #expect(matches("%yz", "abxyz") && !matches("%yz", "yza"))
        #expect(matches("%exception%", "java.io.IOException: an exception here"))
        #expect(!matches("%exception%", "java.io.IOException"))
        #expect(matches("a_c", "abc") && matches("a_c", "a\u{e9}c") && !matches("a_c", "ac"))
        #expect(matches("%a%b%c%", "xxaxxbxxcxx") && !matches("%a%b%c%", "cba"))
        #expect(matches("%", "") && matches("", "") && !matches("_", ""))
    }

    @Test func ilikeFoldsCase() {
        #expect(matches("%exception%", "java.io.IOException", ci: true))
        #expect(matches("CAF\u{c9}%", "caf\u{e9} au lait", ci: true))
        #expect(!matches("%exception%", "nothing", ci: true))
    }

    @Test func requiredPrefixIsOnlyForCaseSensitivePatterns() {
        #expect(LikePattern("ab%", caseInsensitive: false).requiredPrefix == Array("ab".utf8))
        #expect(LikePattern("ab_c%", caseInsensitive: false).requiredPrefix == Array("ab".utf8))
        #expect(LikePattern("%ab", caseInsensitive: false).requiredPrefix == nil)
        #expect(LikePattern("ab%", caseInsensitive: true).requiredPrefix == nil)
    }

    /// Each `_` is one character of the value: 'İ' (U+0130) lower-cases to one character, not
    /// Swift's two ('i' and a combining dot), so '_stanbul' matches and '__stanbul' does not.
    @Test func ilikeFoldsEachCharacterToOne() {
        #expect(matches("_stanbul", "\u{130}stanbul", ci: true))
        #expect(!matches("__stanbul", "\u{130}stanbul", ci: true))
        #expect(matches("istanbul", "\u{130}STANBUL", ci: true))
        #expect(matches("%\u{130}%", "xi", ci: true))
        // A combining mark is a character of its own, as in DuckDB.
        #expect(matches("e_", "e\u{301}", ci: true) && !matches("_", "e\u{301}", ci: true))
    }

    /// Many `%` signs cost one pass per segment, not one try per way of placing them.
    @Test func manyWildcardsMatchWithoutBacktracking() {
        let a = String(repeating: "a", count: 300)
        #expect(!matches(String(repeating: "%a", count: 20) + "%b", a))
        #expect(matches(String(repeating: "%a", count: 20) + "%b", a + "b"))
        #expect(!matches("% % % % % %z", String(repeating: " ", count: 250)))
        #expect(matches("%a_c%a_c", "xabcyadcazc"))
        #expect(!matches("%a_c%a_c", "xabcyadcazcq"))
        #expect(matches("_%_", "ab") && !matches("_%_", "a"))
        #expect(matches("%\u{e9}_", "caf\u{e9}\u{e9}") && matches("a%", "a") && matches("%%%", ""))
    }
}
