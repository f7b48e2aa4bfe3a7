// Regula engine — one-pass elementwise kernels with Double accumulation.

/// φ and φ' of an elementwise function, for the specialised one-pass kernels below: a concrete
/// conformer is inlined into the loop (a closure argument would cost a call per element).
public protocol PointwiseFunction {
    /// (φ(x), φ'(x)).
    func phi(_ x: Double) -> (Double, Double)
    /// (φ, φ') on 8 lanes. The default calls `phi` per lane; simple penalties override it with
    /// vector code so the kernel runs at memory speed.
    func phi8(_ x: SIMD8<Double>) -> (SIMD8<Double>, SIMD8<Double>)
}

extension PointwiseFunction {
    @inlinable
    public func phi8(_ x: SIMD8<Double>) -> (SIMD8<Double>, SIMD8<Double>) {
        var v = SIMD8<Double>(), d = SIMD8<Double>()
        for l in 0..<8 { (v[l], d[l]) = phi(x[l]) }
        return (v, d)
    }
}

/// A closure as a `PointwiseFunction`.
@usableFromInline struct ClosureFunction: PointwiseFunction {
    @usableFromInline let phi: (Double) -> (Double, Double)
    @inlinable init(phi: @escaping (Double) -> (Double, Double)) { self.phi = phi }
    @inlinable func phi(_ x: Double) -> (Double, Double) { phi(x) }
}

/// A scalar proximal map x ↦ prox_{tφ}(x), for the specialised `Kernels.prox`.
public protocol PointwiseProx {
    func proxScalar(_ v: Double, t: Double) -> Double
}

extension Kernels {
    /// One pass over `x`: `g[i] = scale · φ'(x[i])`, returns `scale · Σ φ(x[i])` (Double sums,
    /// 8 lane accumulators per chunk, chunks combined in order: deterministic).
    /// Generic over the function type so that `f.phi` is inlined into the loop.
    @inlinable
    public static func valueAndGradient<T: Scalar, F: PointwiseFunction>(
        _ x: UnsafePointer<T>, _ g: UnsafeMutablePointer<T>, count: Int, scale: Double, _ f: F
    ) -> Double {
        var partial = (0.0, 0.0, 0.0, 0.0, 0.0, 0.0, 0.0, 0.0)
        Parallel.chunks(count) { chunk, range in
            // 8 lanes at a time: load (T → Double), φ8, accumulate per lane, store scale·φ'.
            var acc = SIMD8<Double>()
            var i = range.lowerBound
            let end = range.upperBound
            while i + 8 <= end {
                let xv = SIMD8<Double>(UnsafeRawPointer(x + i).loadUnaligned(as: SIMD8<T>.self))
                let (v, d) = f.phi8(xv)
                acc += v
                UnsafeMutableRawPointer(g + i).storeBytes(of: SIMD8<T>(scale * d), as: SIMD8<T>.self)
                i += 8
            }
            var tail = 0.0
            while i < end {
                let (v, d) = f.phi(x[i].double)
                tail += v; g[i] = T(scale * d); i += 1
            }
            withUnsafeMutableBytes(of: &partial) {
                $0.assumingMemoryBound(to: Double.self)[chunk] = acc.sum() + tail
            }
        }
        let s = withUnsafeBytes(of: &partial) { p in
            p.assumingMemoryBound(to: Double.self).reduce(0, +)
        }
        return scale * s
    }

    /// `out[i] = prox_{tφ}(x[i])`; `out` may alias `x`. Specialised like valueAndGradient.
    @inlinable
    public static func prox<T: Scalar, F: PointwiseProx>(_ x: UnsafePointer<T>, _ out: UnsafeMutablePointer<T>,
                                                       count: Int, t: Double, _ f: F) {
        Parallel.chunks(count) { _, range in
            for i in range { out[i] = T(f.proxScalar(x[i].double, t: t)) }
        }
    }

    /// The same one pass with φ given as a closure (a call per element: prefer a
    /// `PointwiseFunction` conformer on hot paths).
    @inlinable
    public static func valueAndGradient<T: Scalar>(
        _ x: UnsafePointer<T>, _ g: UnsafeMutablePointer<T>, count: Int, scale: Double,
        _ phi: (Double) -> (Double, Double)
    ) -> Double {
        withoutActuallyEscaping(phi) { phi in
            valueAndGradient(x, g, count: count, scale: scale, ClosureFunction(phi: phi))
        }
    }

    /// `out[i] = f(x[i])` (computed in Double); `out` may alias `x`.
    @inlinable
    public static func map<T: Scalar>(_ x: UnsafePointer<T>, _ out: UnsafeMutablePointer<T>,
                                      count: Int, _ f: (Double) -> Double) {
        Parallel.chunks(count) { _, range in
            for i in range { out[i] = T(f(x[i].double)) }
        }
    }

    /// y[i] += a · x[i] (a backward pass adding a saved gradient into an accumulator), or
    /// y[i] = a · x[i] without `accumulate`: 8 lanes at a time, split across the cores above the
    /// threshold; rounding is that of the scalar loop.
    public static func addScaled(_ a: Double, _ x: UnsafePointer<Double>, into y: UnsafeMutablePointer<Double>, count: Int,
                                 accumulate: Bool = true) {
        Parallel.chunks(count) { _, r in
            var i = r.lowerBound
            while i + 8 <= r.upperBound {
                let v = a * load8(x + i)
                store8(accumulate ? load8(y + i) + v : v, y + i)
                i += 8
            }
            while i < r.upperBound { y[i] = accumulate ? y[i] + a * x[i] : a * x[i]; i += 1 }
        }
    }

    /// Σ x[i]² in Double.
    @inlinable
    public static func sumOfSquares<T: Scalar>(_ x: UnsafePointer<T>, count: Int) -> Double {
        var a0 = 0.0, a1 = 0.0, a2 = 0.0, a3 = 0.0
        var i = 0
        while i + 4 <= count {
            let v0 = x[i].double, v1 = x[i + 1].double, v2 = x[i + 2].double, v3 = x[i + 3].double
            a0 += v0 * v0; a1 += v1 * v1; a2 += v2 * v2; a3 += v3 * v3
            i += 4
        }
        while i < count { let v = x[i].double; a0 += v * v; i += 1 }
        return (a0 + a1) + (a2 + a3)
    }

    /// Σ x[i] in Double.
    @inlinable
    public static func sum<T: Scalar>(_ x: UnsafePointer<T>, count: Int) -> Double {
        var a0 = 0.0, a1 = 0.0, a2 = 0.0, a3 = 0.0
        var i = 0
        while i + 4 <= count {
            a0 += x[i].double; a1 += x[i + 1].double; a2 += x[i + 2].double; a3 += x[i + 3].double
            i += 4
        }
        while i < count { a0 += x[i].double; i += 1 }
        return (a0 + a1) + (a2 + a3)
    }

    /// Σ x[i]·y[i] in Double.
    @inlinable
    public static func dot<T: Scalar>(_ x: UnsafePointer<T>, _ y: UnsafePointer<T>, count: Int) -> Double {
        var a0 = 0.0, a1 = 0.0
        var i = 0
        while i + 2 <= count {
            a0 += x[i].double * y[i].double; a1 += x[i + 1].double * y[i + 1].double
            i += 2
        }
        if i < count { a0 += x[i].double * y[i].double }
        return a0 + a1
    }

    /// Index of the first NaN or infinity, or nil (split over threads for large inputs).
    @inlinable
    public static func firstNonFinite<T: Scalar>(_ x: UnsafePointer<T>, count: Int) -> Int? {
        var found = (Int.max, Int.max, Int.max, Int.max, Int.max, Int.max, Int.max, Int.max)
        Parallel.chunks(count) { chunk, range in
            var i = range.lowerBound
            var hit = Int.max
            scan: while i < range.upperBound {
                let end = Swift.min(i + 256, range.upperBound)
                // x·0 is 0 for finite x and NaN otherwise: 8 lanes at a time, one branch per 256.
                var acc = SIMD8<T>()
                var k = i
                while k + 8 <= end {
                    acc += UnsafeRawPointer(x + k).loadUnaligned(as: SIMD8<T>.self) * 0
                    k += 8
                }
                var tail: T = 0
                while k < end { tail += x[k] * 0; k += 1 }
                if !(acc.sum() + tail).isFinite {
                    for k in i..<end where !x[k].isFinite { hit = k; break scan }
                }
                i = end
            }
            withUnsafeMutableBytes(of: &found) { $0.assumingMemoryBound(to: Int.self)[chunk] = hit }
        }
        let first = withUnsafeBytes(of: &found) { $0.assumingMemoryBound(to: Int.self).min()! }
        return first == Int.max ? nil : first
    }

    /// |x| per lane (clears the sign bits).
    @inlinable @inline(__always) public static func abs(_ x: SIMD8<Double>) -> SIMD8<Double> {
        let bits = unsafeBitCast(x, to: SIMD8<UInt64>.self) & 0x7FFF_FFFF_FFFF_FFFF
        return unsafeBitCast(bits, to: SIMD8<Double>.self)
    }

    /// sign per lane, sign(0) = 0: ±1.0 from the sign bit, masked to 0 where x == 0.
    @inlinable @inline(__always) public static func sign(_ x: SIMD8<Double>) -> SIMD8<Double> {
        let bits = unsafeBitCast(x, to: SIMD8<UInt64>.self)
        let one = (bits & 0x8000_0000_0000_0000) | 0x3FF0_0000_0000_0000
        let nonzero = unsafeBitCast(x .!= 0, to: SIMD8<UInt64>.self)  // all ones or zero per lane
        return unsafeBitCast(one & nonzero, to: SIMD8<Double>.self)
    }

    /// sign with sign(0) = 0.
    @inlinable @inline(__always) public static func sign(_ x: Double) -> Double { x > 0 ? 1 : (x < 0 ? -1 : 0) }
}

/// Namespace of the engine's kernels (one softmax, one log-sum-exp, one norm: variants are
/// parameters, not copies).
public enum Kernels {}
