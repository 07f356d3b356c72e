import Foundation
import NDJSON
import Testing
@testable import Ingest

/// The node-wide buffer bound (issue 13): full buffers make a request wait for room, not fail;
/// every stream draws from one bound; one tenant cannot take the room of another.
struct BufferBudgetTests {
    @Test func aRequestWaitsForRoomInFullBuffersInsteadOfFailing() async throws {
        let budget = BufferBudget(limit: 100, tenantLimit: 100, wait: 5_000_000_000)
        #expect(await budget.reserve(80, tenant: "t") == nil)
        async let waiting = budget.reserve(50, tenant: "t")
        try await Task.sleep(for: .milliseconds(50))
        budget.release(80, tenant: "t")
        #expect(await waiting == nil, "admitted once the first batch's bytes were released")
        #expect(budget.current == 50)
    }

    @Test func aRequestThatWaitedTooLongGets503AndTheOrderIsKept() async throws {
        let budget = BufferBudget(limit: 100, tenantLimit: 100, wait: 100_000_000)
        #expect(await budget.reserve(100, tenant: "t") == nil)
        let started = ContinuousClock.now
        #expect(await budget.reserve(10, tenant: "t") == .buffersFull)
        #expect(ContinuousClock.now - started >= .milliseconds(90))
        #expect(await budget.reserve(101, tenant: "t") == .buffersFull, "a batch larger than the bound never waits")
    }

    @Test func everyStreamOfTheNodeDrawsFromOneBound() async throws {
        var f = try StreamFixture(blockRows: 1_000_000)
        let body = StreamFixture.body(0..<30)
        f.options.maxBufferedBytes = 2 * BufferReservation.bytes(forBody: body.count) + 10  // two requests fill the node
        f.options.maxTenantBufferedBytes = f.options.maxBufferedBytes
        f.options.admissionWait = 200_000_000
        let tenant = try await f.openTenant()
        let app = try #require(await tenant.store("app"))
        let other = try #require(await tenant.store("other"))
        for store in [app, other] {
            let batch = try body.withUnsafeBytes { raw throws(RecordError) in try store.prepare(raw, idempotencyKey: nil, now: 0) }
            try await store.commit(batch)
        }
        let third = try body.withUnsafeBytes { raw throws(RecordError) in try other.prepare(raw, idempotencyKey: nil, now: 0) }
        await #expect(throws: StoreRefusal.buffersFull) { try await other.commit(third) }
        _ = await tenant.shutdown()
    }

    @Test func aRequestLargerThanItsTenantsShareGoesAloneInsteadOfBeingRefused() async throws {
        var f = try StreamFixture(blockRows: 1_000_000)
        f.options.maxBufferedBytes = 2_000
        f.options.maxTenantBufferedBytes = 2_000
        let opened = try await f.open()
        let body = StreamFixture.body(0..<100)
        #expect(BufferReservation.bytes(forBody: body.count) > 2_000)
        let batch = try body.withUnsafeBytes { raw throws(RecordError) in try opened.store.prepare(raw, idempotencyKey: nil, now: 0) }
        try await opened.store.commit(batch)
        #expect(opened.store.buffered == 2_000, "charged the whole share")
        #expect(await opened.shutdown())
    }

    @Test func roomTakenBeforeParsingIsGivenBackByEveryFailure() async throws {
        var f = try StreamFixture(blockRows: 1_000_000)
        f.options.maxBufferedBytes = 10_000
        let opened = try await f.open()
        let bad = Array(#"{"ts": 5}"#.utf8)
        let reservation = try await opened.store.reserve(bodyBytes: bad.count)
        #expect(opened.store.buffered > 0)
        let parsed: RecordError? = bad.withUnsafeBytes { raw in
            do throws(RecordError) {
                _ = try opened.store.prepare(raw, idempotencyKey: nil, now: 0, reservation: reservation)
                return nil
            } catch {
                return error
            }
        }
        #expect(parsed != nil, "the body is refused")
        _ = try await opened.store.reserve(bodyBytes: 100)  // dropped unused
        #expect(opened.store.buffered == 0, "a parse error and a dropped reservation both give their room back")
        _ = await opened.shutdown()
    }

    @Test func aTenantAtItsShareHoldsBackOnlyItself() async throws {
        let budget = BufferBudget(limit: 100, tenantLimit: 50, wait: 5_000_000_000)
        #expect(await budget.reserve(50, tenant: "flood") == nil)
        async let flooding = budget.reserve(10, tenant: "flood")
        try await Task.sleep(for: .milliseconds(50))
        let started = ContinuousClock.now
        #expect(await budget.reserve(40, tenant: "steady") == nil, "the other tenant's room is there")
        #expect(ContinuousClock.now - started < .seconds(1), "and it did not wait behind the flood")
        budget.release(50, tenant: "flood")
        #expect(await flooding == nil)
        #expect(await budget.reserve(51, tenant: "steady") == .buffersFull, "more than a tenant's share never fits")
    }
}
