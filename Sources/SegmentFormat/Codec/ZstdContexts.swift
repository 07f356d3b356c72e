#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif
import CZstd

/// One zstd compression and one decompression context per thread, made on first use and kept
/// until the thread ends: creating a context costs more than decompressing a small chunk, and a
/// level-19 compression context is large. Blocks are encoded and decoded on many threads at once,
/// and a context must never be used by two at a time, hence one per thread.
final class ZstdContexts {
    private let compression: OpaquePointer
    private let decompression: OpaquePointer

    private init?() {
        guard let c = ZSTD_createCCtx() else { return nil }
        guard let d = ZSTD_createDCtx() else {
            ZSTD_freeCCtx(c)
            return nil
        }
        compression = c
        decompression = d
    }

    deinit {
        ZSTD_freeCCtx(compression)
        ZSTD_freeDCtx(decompression)
    }

    private static let key: pthread_key_t = {
        var key = pthread_key_t()
        // The destructor releases the thread's contexts when it ends.
        pthread_key_create(&key) { pointer in
            guard let pointer else { return }
            Unmanaged<ZstdContexts>.fromOpaque(pointer).release()
        }
        return key
    }()

    /// This thread's contexts; nil only when zstd cannot allocate one (out of memory).
    static var current: ZstdContexts? {
        if let existing = pthread_getspecific(key) {
            return Unmanaged<ZstdContexts>.fromOpaque(existing).takeUnretainedValue()
        }
        guard let made = ZstdContexts() else { return nil }
        pthread_setspecific(key, Unmanaged.passRetained(made).toOpaque())
        return made
    }

    /// A zstd frame of `count` bytes at `src`, or nil when compression fails.
    func compress(_ src: UnsafeRawPointer, _ count: Int, level: Int32) -> [UInt8]? {
        let capacity = ZSTD_compressBound(count)
        var failed = false
        let out = [UInt8](unsafeUninitializedCapacity: capacity) { buf, n in
            let written = ZSTD_compressCCtx(compression, buf.baseAddress, capacity, src, count, level)
            failed = ZSTD_isError(written) != 0
            n = failed ? 0 : written
        }
        return failed ? nil : out
    }

    /// Decompresses into `capacity` bytes at `dst`; returns the size produced or a zstd error code.
    func decompress(_ src: UnsafeRawPointer, _ count: Int, into dst: UnsafeMutableRawPointer, _ capacity: Int) -> Int {
        ZSTD_decompressDCtx(decompression, dst, capacity, src, count)
    }
}
