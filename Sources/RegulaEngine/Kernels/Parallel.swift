// Regula engine — splitting a loop over the machine's cores above a size threshold.

#if canImport(Glibc)
import Glibc
#endif

public enum Parallel {
    /// Elements below which a loop runs on the calling thread alone.
    public static let threshold = 1 << 18

    /// Worker threads used above the threshold (the core count, at most 8).
    public static let workers: Int = {
        let n = Int(sysconf(Int32(_SC_NPROCESSORS_ONLN)))
        return Swift.max(1, Swift.min(n, 8))
    }()

    /// At most this many workers split a loop (1...workers; `regula bench --threads` sets it
    /// together with OpenBLAS's thread count). Set it before work starts, not during.
    nonisolated(unsafe) public static var limit: Int = workers {
        didSet { limit = Swift.max(1, Swift.min(limit, workers)) }
    }

    /// Runs `body(chunk, range)` over `0..<count` split into contiguous chunks, one per worker
    /// when `count >= threshold`. Chunk `c` always covers the same range for a given count, so
    /// results combined in chunk order are deterministic.
    public static func chunks(_ count: Int, minimum: Int = threshold,
                              _ body: (Int, Range<Int>) -> Void) {
        let parts = count >= minimum ? Swift.min(limit, Swift.max(1, count / (minimum / 2))) : 1
        if parts <= 1 { body(0, 0..<count); return }
        let size = (count + parts - 1) / parts
        withoutActuallyEscaping(body) { body in
            let job = Job(body: body, size: size, count: count)
            var threads = [pthread_t]()
            threads.reserveCapacity(parts - 1)
            let box = Unmanaged.passRetained(job)
            for c in 1..<parts {
                var t = pthread_t()
                let arg = UnsafeMutablePointer<Int>.allocate(capacity: 2)
                arg[0] = Int(bitPattern: box.toOpaque()); arg[1] = c
                if pthread_create(&t, nil, { raw in
                    let a = raw!.assumingMemoryBound(to: Int.self)
                    let job = Unmanaged<Job>.fromOpaque(UnsafeRawPointer(bitPattern: a[0])!)
                        .takeUnretainedValue()
                    job.run(a[1]); a.deallocate(); return nil
                }, arg) == 0 {
                    threads.append(t)
                } else {
                    arg.deallocate(); job.run(c)  // no thread available: do it here
                }
            }
            job.run(0)
            for t in threads { pthread_join(t, nil) }
            box.release()
        }
    }

    private final class Job {
        let body: (Int, Range<Int>) -> Void
        let size: Int, count: Int
        init(body: @escaping (Int, Range<Int>) -> Void, size: Int, count: Int) {
            self.body = body; self.size = size; self.count = count
        }
        func run(_ c: Int) {
            let lo = c * size
            body(c, lo..<Swift.min(count, lo + size))
        }
    }
}

/// 8 lanes from memory of any alignment.
@inlinable @inline(__always)
func load8<T: SIMDScalar>(_ p: UnsafePointer<T>) -> SIMD8<T> { UnsafeRawPointer(p).loadUnaligned(as: SIMD8<T>.self) }

@inlinable @inline(__always)
func load8<T: SIMDScalar>(_ p: UnsafeMutablePointer<T>) -> SIMD8<T> { UnsafeRawPointer(p).loadUnaligned(as: SIMD8<T>.self) }

/// 8 lanes to memory of any alignment.
@inlinable @inline(__always)
func store8<T: SIMDScalar>(_ v: SIMD8<T>, _ p: UnsafeMutablePointer<T>) { UnsafeMutableRawPointer(p).storeBytes(of: v, as: SIMD8<T>.self) }

extension Parallel {
    /// Runs `body(row, scratch)` for every row of a (rows, cols) matrix, rows split over the
    /// workers above the size threshold; each chunk owns one scratch of `cols` doubles,
    /// allocated once per chunk (not per row).
    public static func rows(_ rows: Int, cols: Int, _ body: (Int, UnsafeMutablePointer<Double>) -> Void) {
        chunks(rows, minimum: Swift.max(2, threshold / Swift.max(cols, 1))) { _, range in
            let scratch = UnsafeMutablePointer<Double>.allocate(capacity: Swift.max(cols, 1))
            defer { scratch.deallocate() }
            for i in range { body(i, scratch) }
        }
    }
}
