// Sobolev H^s and graph-Laplacian smoothness: Parseval, homogeneity, Laplacian identities.

import Testing
import Regula
import RegulaEngine

@Suite struct SmoothnessTests {
    @Test func sobolevIsAQuadraticFormWithParseval() throws {
        let r = randomValues(30, seed: 11)
        let meanSquare = r.reduce(0) { $0 + $1 * $1 } / 30
        for params in ["s=0", "s=2,c=0"] {   // weights ≡ 1: the mean square (Parseval)
            let (v, g) = try evalPenalty("sobolev_hs", params, r, [5, 6])
            #expect(abs(v - meanSquare) < 1e-12, "\(params)")
            for k in 0..<30 { #expect(abs(g[k] - 2 * r[k] / 30) < 1e-13) }
        }
        for params in ["", "s=0.7", "s=-1.5,c=6.283185307179586", "pad=mirror", "batch_dims=1,s=1"] {
            let (v, g) = try evalPenalty("sobolev_hs", params, r, [5, 6])
            #expect(abs(zip(r, g).reduce(0) { $0 + $1.0 * $1.1 } - 2 * v) < 1e-10 * Swift.max(1, v), "\(params)")   // ⟨r, ∇R⟩ = 2R
            let (v4, _) = try evalPenalty("sobolev_hs", params, r.map { 1e4 * $0 }, [5, 6])
            #expect(v4.isFinite && abs(v4 - 1e8 * v) < 1e-9 * v4, "\(params)")   // R(αr) = α²R(r)
        }
    }

    @Test func mirrorPaddingOfAConstantKeepsOnlyTheMean() throws {
        let (v, g) = try evalPenalty("sobolev_hs", "pad=mirror,s=-1", [Double](repeating: 3, count: 7), [7])
        #expect(abs(v - 9) < 1e-12)
        #expect(g.allSatisfy { abs($0 - 2 * 3 / 7) < 1e-12 })
    }

    @Test func laplacianIdentities() throws {
        let b = 5, c = 2
        let f = randomValues(b * c, seed: 12)
        var w = randomValues(b * b, seed: 13).map { abs($0) }
        for i in 0..<b { w[i * b + i] = 0; for j in 0..<i { w[i * b + j] = w[j * b + i] } }   // symmetric
        for j in 0..<b { w[3 * b + j] = 0; w[j * b + 3] = 0 }   // node 3 is isolated
        // Constant outputs are free (unnormalised L annihilates constants).
        let (v0, g0) = try evalPenalty("laplacian_smoothness", "", [Double](repeating: 1, count: b * c), [b, c],
                                    ["affinity": .real(shape: [b, b], values: w)])
        #expect(abs(v0) < 1e-12 && g0.allSatisfy { abs($0) < 1e-12 })
        // ½ Σ_ij W_ij ‖f_i − f_j‖² for a symmetric W.
        var half = 0.0
        for i in 0..<b { for j in 0..<b {
            var d = 0.0
            for k in 0..<c { d += (f[i * c + k] - f[j * c + k]) * (f[i * c + k] - f[j * c + k]) }
            half += 0.5 * w[i * b + j] * d
        } }
        let (v, _) = try evalPenalty("laplacian_smoothness", "", f, [b, c], ["affinity": .real(shape: [b, b], values: w)])
        #expect(abs(v - half) < 1e-12)
        // Normalised: an isolated node keeps L_ii = 1, so it contributes ‖f_3‖² and no NaN appears.
        let (vn, gn) = try evalPenalty("laplacian_smoothness", "normalize=true", f, [b, c], ["affinity": .real(shape: [b, b], values: w)])
        #expect(vn.isFinite && gn.allSatisfy(\.isFinite))
        var fIso = [Double](repeating: 0, count: b * c)
        fIso[3 * c] = 2; fIso[3 * c + 1] = -1
        let (vi, _) = try evalPenalty("laplacian_smoothness", "normalize=true", fIso, [b, c], ["affinity": .real(shape: [b, b], values: w)])
        #expect(abs(vi - 5) < 1e-12)
        // An empty batch costs 0.
        let (ve, _) = try evalPenalty("laplacian_smoothness", "", [], [0, 3], ["affinity": .real(shape: [0, 0], values: [])])
        #expect(ve == 0)
    }

    @Test func localLipschitzMatchesTheCatalogue() {
        let l = WeightedLaplacianSmoothness.localLipschitz(f: [1, 0, 0, 1, 1, 1], x: [0, 0, 1, 0, 0, 2], batch: 3)
        #expect(abs(l[0] - 2) < 1e-12 && abs(l[1] - 2) < 1e-12 && abs(l[2] - 0.5) < 1e-12)
    }
}
