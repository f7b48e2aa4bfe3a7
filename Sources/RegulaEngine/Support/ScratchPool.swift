// Regula engine — reusable float64 scratch for whole-tensor conversions.

#if canImport(Glibc)
import Glibc
#endif

/// Float64 buffers reused across calls. Converting a float32 tensor of tens of MB into a fresh
/// allocation costs a page fault per 4 kB page on every call (glibc serves such sizes with
/// mmap); in this VM that made a float32 stablemax on (4096, 1000) take 77 ms against 15 ms in
/// float64. A buffer is taken for the duration of a call and given back; the pool keeps at
/// most `maxRetained` bytes, dropping its largest buffers first. Thread-safe; contents are
/// not cleared (callers overwrite them).
public final class ScratchPool: @unchecked Sendable {
    public static let shared = ScratchPool()
    public static let maxRetained = 1 << 28
    private let lock = Mutex()
    private var free: [(pointer: UnsafeMutablePointer<Double>, capacity: Int)] = []

    public init() {}

    /// Runs `body` with two buffers of `count` doubles each.
    public func withBuffers<R>(_ count: Int, _ body: (UnsafeMutablePointer<Double>, UnsafeMutablePointer<Double>) throws -> R) rethrows -> R {
        let a = take(count), b = take(count)
        defer { give(a); give(b) }
        return try body(a.pointer, b.pointer)
    }

    private func take(_ count: Int) -> (pointer: UnsafeMutablePointer<Double>, capacity: Int) {
        let n = Swift.max(count, 1)
        let found: (pointer: UnsafeMutablePointer<Double>, capacity: Int)? = lock.locked {
            // the smallest free buffer that fits
            guard let i = free.indices.filter({ free[$0].capacity >= n }).min(by: { free[$0].capacity < free[$1].capacity }) else { return nil }
            return free.remove(at: i)
        }
        return found ?? (UnsafeMutablePointer<Double>.allocate(capacity: n), n)
    }

    private func give(_ buffer: (pointer: UnsafeMutablePointer<Double>, capacity: Int)) {
        let dropped: [UnsafeMutablePointer<Double>] = lock.locked {
            free.append(buffer)
            free.sort { $0.capacity < $1.capacity }
            var out: [UnsafeMutablePointer<Double>] = []
            while free.reduce(0, { $0 + $1.capacity * 8 }) > Self.maxRetained, let last = free.popLast() { out.append(last.pointer) }
            return out
        }
        for p in dropped { p.deallocate() }
    }
}
