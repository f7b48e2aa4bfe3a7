// Regula engine — the StableMax score s(x) (shared by the stablemax map and its cross-entropy).

extension Kernels {
    /// The StableMax score and its derivative (Prieto et al., "Grokking at the Edge of Numerical
    /// Stability", 2025): `s(x) = x + 1` for x ≥ 0, `1/(1 − x)` for x < 0;
    /// `s'(x) = 1` for x ≥ 0, `1/(1 − x)² = s(x)²` for x < 0.
    /// - Stability: each branch is evaluated only on its own side (never `where(x<0, 1/(1−x), x+1)`
    ///   on both, whose unused branch overflows at x = 1 in float32 and gives inf·0 = NaN).
    ///   No exp: linear growth, so |x| = 1e4 is harmless.
    @inlinable
    public static func stablemaxScore(_ x: Double) -> (value: Double, derivative: Double) {
        if x >= 0 { return (x + 1, 1) }
        let s = 1 / (1 - x)
        return (s, s * s)
    }
}
