import Testing
@testable import Archive

struct ByteBudgetTests {
    @Test func aBudgetRefusesWhatDoesNotFit() {
        let budget = ByteBudget(100)
        #expect(budget.reserve(60))
        #expect(!budget.reserve(41))
        #expect(budget.reserve(40))
        #expect(!budget.reserve(1))
    }
}
