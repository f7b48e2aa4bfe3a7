// Regula engine — OpenBLAS's own thread count (callers that run models in parallel set it to 1)
// and how long its idle workers spin.

#if canImport(Glibc)
import Glibc
#endif
import COpenBLAS

extension BLAS {
    /// Threads OpenBLAS uses inside one call. Runs that are already parallel (one model per
    /// thread) should set 1: nested BLAS threads oversubscribe the cores and contend on locks.
    public static var threads: Int {
        get { Int(openblas_get_num_threads()) }
        set { openblas_set_num_threads(Int32(Swift.max(1, newValue))) }
    }

    /// Makes OpenBLAS's idle workers sleep soon after a call instead of spinning for long. By
    /// default they spin (sched_yield in a loop) for 2^28 cycles, about 0.1 s, after every call:
    /// a whole core burnt while the engine's own loops (activations, conversions, the optimizer
    /// update) run between matrix products, on the same cores. An idle 100 ms after one sgemm
    /// burnt 100 ms of CPU by default and 0.1 ms with a short spin; sgemm speed is unchanged.
    ///
    /// Sets OPENBLAS_THREAD_TIMEOUT=19 (2^19 cycles, about 0.2 ms: long enough to bridge the
    /// matrix products of one small step, short enough to leave the cores to the optimizer),
    /// re-reads OpenBLAS's environment and stops its thread pool, which restarts with the new
    /// setting at the next threaded call. Medians of `regula bench train` on 2 cores, timeout
    /// 28 (default) / 19 / 4: 784-1024-1024-10 MLP float32 products 29.7 / 27.3 / 27.7 ms,
    /// digits 64-512-10 341 / 327 / 430 µs. Runs once per process; does nothing when the user set
    /// OPENBLAS_THREAD_TIMEOUT or the library lacks these entry points (resolved at run time).
    /// Call it before other threads run BLAS work (the CLI does at start, the C ABI on first use).
    public static func sleepWhenIdle() { _ = idleSetting }

    private static let idleSetting: Bool = {
        // The loaded OpenBLAS by its soname (under a host that loaded libregula RTLD_LOCAL,
        // OpenBLAS is not in the global symbol scope), else the global scope.
        let lib = dlopen("libopenblas.so.0", RTLD_LAZY | RTLD_NOLOAD) ?? dlopen("libopenblas.so", RTLD_LAZY | RTLD_NOLOAD)
        guard getenv("OPENBLAS_THREAD_TIMEOUT") == nil,
              let read = dlsym(lib, "openblas_read_env"), let stop = dlsym(lib, "blas_thread_shutdown_") else { return false }
        setenv("OPENBLAS_THREAD_TIMEOUT", "19", 0)
        unsafeBitCast(read, to: (@convention(c) () -> Void).self)()
        _ = unsafeBitCast(stop, to: (@convention(c) () -> Int32).self)()
        return true
    }()
}
