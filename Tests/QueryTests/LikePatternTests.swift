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
}
