// Power iteration for the top singular triplet, against LAPACK's SVD.

import Testing
import RegulaEngine

@Suite struct PowerIterationTests {
    func random(_ m: Int, _ n: Int, seed: UInt64) -> [Double] {
        var rng = RNG(seed: seed)
        return (0..<(m * n)).map { _ in rng.normal() }
    }

    @Test(arguments: [(5, 3), (3, 5), (6, 6), (1, 4), (4, 1)])
    func matchesLAPACK(_ shape: (Int, Int)) throws {
        let (m, n) = shape
        let a = random(m, n, seed: UInt64(m * 10 + n))
        let (u, s, vt) = try LAPACK.svd(a, rows: m, cols: n)
        let r = Swift.min(m, n)
        let t = a.withUnsafeBufferPointer { PowerIteration.topSingular($0.baseAddress!, rows: m, cols: n) }
        #expect(abs(t.sigma - s[0]) <= 1e-10 * s[0])
        // Singular vectors agree up to a common sign: A v = σ u and |⟨u, u_svd⟩| = 1.
        var du = 0.0, dv = 0.0
        for i in 0..<m { du += t.u[i] * u[i * r] }
        for j in 0..<n { dv += t.v[j] * vt[j] }
        #expect(abs(abs(du) - 1) < 1e-8 && abs(abs(dv) - 1) < 1e-8)
        #expect(du * dv > 0)
    }

    @Test func zeroMatrixGivesZero() {
        let a = [Double](repeating: 0, count: 6)
        let t = a.withUnsafeBufferPointer { PowerIteration.topSingular($0.baseAddress!, rows: 2, cols: 3) }
        #expect(t.sigma == 0)
        #expect(t.u.allSatisfy { $0 == 0 } && t.v.allSatisfy { $0 == 0 })
    }

    @Test func catalogueExample() {
        let a: [Double] = [3, 0, 4, 5]
        let t = a.withUnsafeBufferPointer { PowerIteration.topSingular($0.baseAddress!, rows: 2, cols: 2) }
        #expect(abs(t.sigma - 6.708203932499369) < 1e-12)
    }
}
