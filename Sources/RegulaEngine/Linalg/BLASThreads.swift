// Regula engine — OpenBLAS's own thread count (callers that run models in parallel set it to 1).

import COpenBLAS

extension BLAS {
    /// Threads OpenBLAS uses inside one call. Runs that are already parallel (one model per
    /// thread) should set 1: nested BLAS threads oversubscribe the cores and contend on locks.
    public static var threads: Int {
        get { Int(openblas_get_num_threads()) }
        set { openblas_set_num_threads(Int32(Swift.max(1, newValue))) }
    }
}
