// The conversion scratch pool: buffers are reused, distinct while lent, and safe across threads.

import Testing
import RegulaEngine
#if canImport(Glibc)
import Glibc
#endif

@Suite struct ScratchPoolTests {
    @Test func lentBuffersAreDistinctAndComeBack() {
        let pool = ScratchPool()
        var first: (UnsafeMutablePointer<Double>, UnsafeMutablePointer<Double>)? = nil
        pool.withBuffers(1000) { a, b in
            #expect(a != b)
            a[999] = 1; b[999] = 2
            first = (a, b)
        }
        pool.withBuffers(500) { a, b in  // smaller requests reuse the returned buffers
            #expect(Set([a, b]) == Set([first!.0, first!.1]))
        }
    }

    @Test func concurrentUsersNeverShareABuffer() {
        let pool = ScratchPool()
        let threads = 8
        nonisolated(unsafe) var failures = 0
        let lock = Mutex()
        Parallel.chunks(threads, minimum: 2) { _, range in  // one chunk per worker
            for t in range {
                for round in 0..<200 {
                    pool.withBuffers(64 + round % 7) { a, b in
                        let mark = Double(t * 1000 + round)
                        for i in 0..<64 { a[i] = mark; b[i] = -mark }
                        sched_yield()
                        for i in 0..<64 where a[i] != mark || b[i] != -mark { lock.locked { failures += 1 } }
                    }
                }
            }
        }
        #expect(failures == 0)
    }
}
