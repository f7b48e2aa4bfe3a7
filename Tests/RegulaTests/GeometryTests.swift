// Edge cases and invariants of the geometry families: Cauchy–Schwarz, orthogonality, energy,
// spectral and distribution penalties.

#if canImport(Glibc)
import Glibc
#endif
import Testing
import Regula
import RegulaEngine

/// (value, gradient) of a registered penalty at x.
func evaluate(_ id: String, data: [String: InputArray] = [:], _ x: [Double], _ shape: [Int]) throws -> (Double, [Double]) {
    try evaluate(id, "strength=1", data: data, x, shape)
}

func evaluate(_ id: String, _ params: String, data: [String: InputArray] = [:],
              _ x: [Double], _ shape: [Int]) throws -> (Double, [Double]) {
    let p = try Registry.shared.penalty(id, params, data: data)
    let w = NDArray<Double>(shape: shape, x), g = NDArray<Double>(shape: shape)
    let v = try p.valueAndGradient(w.tensor, into: g.tensor)
    return (v, g.values)
}

func randomArray(_ n: Int, seed: UInt64, scale: Double = 1) -> [Double] {
    var rng = RNG(seed: seed)
    return (0..<n).map { _ in scale * rng.normal() }
}

func near(_ a: [Double], _ b: [Double], _ tol: Double = 1e-9) -> Bool {
    a.count == b.count && zip(a, b).allSatisfy { abs($0 - $1) <= tol * Swift.max(1, abs($1)) }
}

@Suite struct CauchySchwarzTests {
    @Test func zeroOnTheTargetSets() throws {
        // Rows in {−α, α}^n, {0, α}^n, {−α, 0, α}^n with a different α per row.
        let cases: [(String, [Double])] = [
            ("cs_binary", [2, -2, 2, 0.5, 0.5, -0.5]),
            ("cs_lplq", [2, -2, 2, 0.5, 0.5, -0.5]),
            ("cs_osb", [0, 3, 3, 0.2, 0, 0]),
            ("cs_ternary", [0, 3, -3, -0.2, 0, 0.2]),
        ]
        for (id, x) in cases {
            let (v, g) = try evaluate(id, x, [2, 3])
            #expect(abs(v) < 1e-12, "\(id) value \(v)")
            #expect(g.allSatisfy { abs($0) < 1e-12 }, "\(id) gradient \(g)")
        }
        // A binary row is not one-sided binary, and a ternary row is not binary.
        #expect(try evaluate("cs_osb", [2, -2, 2], [1, 3]).0 > 0)
        #expect(try evaluate("cs_binary", [0, 3, -3], [1, 3]).0 > 0)
    }

    @Test func nonNegativeOnRandomInputs() throws {
        for seed in 1...5 as ClosedRange<UInt64> {
            let x = randomArray(12, seed: seed)
            for id in ["cs_binary", "cs_osb", "cs_ternary", "cs_lplq", "cs_orthogonal"] {
                #expect(try evaluate(id, x, [3, 4]).0 >= -1e-12, "\(id)")
                #expect(try evaluate(id, x, [4, 3]).0 >= -1e-12, "\(id) tall")
            }
        }
    }

    @Test func numelNormalisationDividesByTheElementCount() throws {
        let x = randomArray(12, seed: 9)
        for id in ["cs_binary", "cs_osb", "cs_ternary", "cs_lplq", "cs_orthogonal"] {
            let (a, ga) = try evaluate(id, x, [3, 4])
            let (b, gb) = try evaluate(id, "strength=1,normalize=none", x, [3, 4])
            #expect(abs(a * 12 - b) <= 1e-12 * abs(b), "\(id)")
            #expect(near(ga.map { $0 * 12 }, gb), "\(id)")
        }
    }

    @Test func lplqDefaultsEqualBinaryAndZeroRowsAreSafe() throws {
        let x = randomArray(10, seed: 4) + [0, 0, 0, 0, 0]
        let (a, ga) = try evaluate("cs_binary", x, [3, 5])
        let (b, gb) = try evaluate("cs_lplq", x, [3, 5])
        #expect(abs(a - b) <= 1e-12 * abs(a))
        #expect(near(ga, gb))
        // r < p: ‖x‖^{r−p} is singular at a zero row; the gradient there is 0 and finite.
        let (v, g) = try evaluate("cs_lplq", "strength=1,p=3,q=1,r=1", x, [3, 5])
        #expect(v.isFinite && g.allSatisfy { $0.isFinite })
        #expect(g[10...].allSatisfy { $0 == 0 })
        #expect(throws: (any Error).self) { try Registry.shared.penalty("cs_lplq", "q=4,p=2") }
        #expect(throws: (any Error).self) { try Registry.shared.penalty("cs_lplq", "q=3,p=3") }
    }

    @Test func eigvecVanishesOnEigenvectorsAndChecksC() throws {
        let c: InputArray = .real(shape: [2, 2], values: [2, 1, 1, 2])  // eigenvectors (1,1), (1,−1)
        let (v, g) = try evaluate("cs_eigvec", data: ["C": c], [3, 3, -0.5, 0.5], [2, 2])
        #expect(abs(v) < 1e-12 && g.allSatisfy { abs($0) < 1e-12 })
        #expect(try evaluate("cs_eigvec", data: ["C": c], [1, 0], [1, 2]).0 > 0)
        #expect(throws: (any Error).self) {
            try Registry.shared.penalty("cs_eigvec", data: ["C": .real(shape: [2, 2], values: [1, 2, 0, 1])])
        }
        #expect(throws: (any Error).self) { try Registry.shared.penalty("cs_eigvec") }
        #expect(throws: (any Error).self) { try evaluate("cs_eigvec", data: ["C": c], [1, 2, 3], [1, 3]) }
    }

    @Test func orthogonalVanishesOnScaledOrthogonalMatrices() throws {
        // 3·(rotation) and a wide matrix with orthogonal rows of equal norm, and its transpose.
        let s = 0.6, co = 0.8
        for (x, shape) in [([3 * co, -3 * s, 3 * s, 3 * co], [2, 2]), ([2, 0, 0, 0, 0, 2], [2, 3]), ([2, 0, 0, 0, 0, 2], [3, 2])] {
            let (v, g) = try evaluate("cs_orthogonal", x, shape)
            #expect(abs(v) < 1e-12 && g.allSatisfy { abs($0) < 1e-12 }, "\(shape)")
        }
        #expect(try evaluate("cs_orthogonal", [1, 0, 0, 2], [2, 2]).0 > 0)
    }
}

@Suite struct OrthogonalityFamilyTests {
    @Test func cosineEdgeCases() throws {
        // One vector: 0. Orthogonal rows: 0. A zero row contributes 0 and gets gradient 0.
        #expect(try evaluate("cosine_orthogonality", [1, 2, 3], [1, 3]).0 == 0)
        #expect(try evaluate("cosine_orthogonality", [1, 0, 0, 0, 1, 0], [2, 3]).0 == 0)
        let (v, g) = try evaluate("cosine_orthogonality", [1, 2, 0, 0, 0, 0, 0, 1, 1], [3, 3])
        // Pairs: (0,1) 0, (0,2) 2/√10, (1,2) 0 → mean over 3 pairs.
        #expect(abs(v - 0.01 * (2 / 10.0.squareRoot()) / 3) < 1e-12)
        #expect(g[3...5].allSatisfy { $0 == 0 })
    }

    @Test func cosineInputsIsUnitsOfTheTranspose() throws {
        let x = randomArray(12, seed: 3)
        var t = [Double](repeating: 0, count: 12)
        for i in 0..<3 { for j in 0..<4 { t[j * 3 + i] = x[i * 4 + j] } }
        let (a, ga) = try evaluate("cosine_orthogonality", "strength=1,over=inputs", x, [3, 4])
        let (b, gb) = try evaluate("cosine_orthogonality", t, [4, 3])
        #expect(abs(a - b) < 1e-14)
        var gbt = [Double](repeating: 0, count: 12)
        for i in 0..<3 { for j in 0..<4 { gbt[i * 4 + j] = gb[j * 3 + i] } }
        #expect(near(ga, gbt, 1e-12))
    }

    @Test func groupOrthogonalityReducesToSoftOrthogonality() throws {
        let x = randomArray(12, seed: 5)
        let soft = try evaluate("soft_orthogonality", x, [4, 3])
        // inter with one group (c_out = 4 = min_num_filters), and intra with group size 1.
        let inter = try evaluate("group_orthogonality", x, [4, 3])
        let intra = try evaluate("group_orthogonality", "strength=1,reg_type=intra,num_groups=4,min_num_filters=1", x, [4, 3])
        for r in [inter, intra] {
            #expect(abs(r.0 - soft.0) <= 1e-12 * soft.0)
            #expect(near(r.1, soft.1))
        }
    }

    @Test func groupOrthogonalityEdgeCases() throws {
        // Fewer filters than min_num_filters: skipped. Not divisible into G groups: an error.
        let (v, g) = try evaluate("group_orthogonality", [1, 2, 3, 4, 5, 6], [3, 2])
        #expect(v == 0 && g.allSatisfy { $0 == 0 })
        #expect(throws: (any Error).self) { try evaluate("group_orthogonality", randomArray(18, seed: 1), [9, 2]) }
        // Intra sets take the j-th filter of every block: rows {0, 4} … {3, 7} for G = 2, s = 4.
        let x = randomArray(16, seed: 8)
        let (intra, _) = try evaluate("group_orthogonality", "strength=1,reg_type=intra,num_groups=2", x, [8, 2])
        var expected = 0.0
        for j in 0..<4 {
            expected += try evaluate("soft_orthogonality", Array(x[(2 * j)..<(2 * j + 2)] + x[(2 * j + 8)..<(2 * j + 10)]), [2, 2]).0
        }
        #expect(abs(intra - expected) <= 1e-12 * expected)
    }

    @Test func sorsaIsTheSquareRootOfSoftOrthogonality() throws {
        for shape in [[3, 5], [5, 3], [4, 4]] {
            let x = randomArray(shape[0] * shape[1], seed: 11)
            let (r, gr) = try evaluate("sorsa_orthonormal", x, shape)
            let (s, gs) = try evaluate("soft_orthogonality", x, shape)
            #expect(abs(r * r - s) <= 1e-12 * s)
            #expect(near(gr, gs.map { $0 / (2 * r) }, 1e-12))
        }
        // Exactly orthonormal rows: value 0 and gradient 0 (not NaN).
        let (v, g) = try evaluate("sorsa_orthonormal", [0, 1, 0, 0, 0, 1], [2, 3])
        #expect(v == 0 && g.allSatisfy { $0 == 0 })
    }
}

@Suite struct EnergyTests {
    @Test func powerNamesParseAsChoices() throws {
        for p in ["0", "1", "2", "a0", "a1", "a2"] { _ = try Registry.shared.penalty("hyperspherical_energy", "power=\(p)") }
        #expect(throws: (any Error).self) { try Registry.shared.penalty("hyperspherical_energy", "power=3") }
        #expect(throws: (any Error).self) { try Registry.shared.penalty("hyperspherical_energy", "power=1.5") }
    }

    @Test func degenerateNeuronsStayFinite() throws {
        // Duplicate neurons (δ → 0), antipodal ones (c = −1), zero rows, a single neuron.
        let x: [Double] = [1, 2, 1, 2, -1, -2, 0, 0]
        for power in ["0", "1", "2", "a0", "a1", "a2"] {
            for half in [false, true] {
                let (v, g) = try evaluate("hyperspherical_energy", "strength=1,power=\(power),half=\(half)", x, [4, 2])
                #expect(v.isFinite && g.allSatisfy { $0.isFinite }, "power \(power) half \(half)")
            }
        }
        #expect(try evaluate("hyperspherical_energy", [1, 2, 3], [1, 3]).0 == 0)
        #expect(try evaluate("hyperspherical_energy", "strength=1,half=true", [1, 2, 3], [1, 3]).0.isFinite)
    }

    @Test func invariantToNeuronOrderAndSpreadingLowersEnergy() throws {
        let x = randomArray(15, seed: 6)
        let perm = Array(x[10..<15] + x[0..<5] + x[5..<10])
        for power in ["0", "2", "a1"] {
            let a = try evaluate("hyperspherical_energy", "strength=1,power=\(power)", x, [3, 5]).0
            let b = try evaluate("hyperspherical_energy", "strength=1,power=\(power)", perm, [3, 5]).0
            #expect(abs(a - b) <= 1e-12 * abs(a))
        }
        // Two orthogonal neurons have lower energy than two at 45°.
        let spread = try evaluate("hyperspherical_energy", "strength=1,power=1", [1, 0, 0, 1], [2, 2]).0
        let close = try evaluate("hyperspherical_energy", "strength=1,power=1", [1, 0, 1, 1], [2, 2]).0
        #expect(spread < close)
    }
}

@Suite struct SpectralTests {
    @Test func nuclearGradientAtRepeatedSingularValues() throws {
        // W = 2·Q with Q orthogonal: every σ = 2, the SVD basis is arbitrary, but U Vᵀ = Q.
        let s = 0.6, c = 0.8
        let q: [Double] = [c, -s, 0, s, c, 0, 0, 0, 1]
        let (v, g) = try evaluate("nuclear_norm", q.map { 2 * $0 }, [3, 3])
        #expect(abs(v - 6) < 1e-12)
        #expect(near(g, q, 1e-12))
        // Rank deficient: the zero singular value is dropped from U_r V_rᵀ.
        let (v2, g2) = try evaluate("nuclear_norm", [3, 0, 0, 0, 0, 0], [2, 3])
        #expect(abs(v2 - 3) < 1e-12 && near(g2, [1, 0, 0, 0, 0, 0], 1e-12))
    }

    @Test func svtOfRepeatedSingularValuesShrinksUniformly() throws {
        let p = try Registry.shared.penalty("nuclear_norm", "strength=1")
        let x = NDArray<Double>(shape: [3, 3], [2, 0, 0, 0, 2, 0, 0, 0, 0.5])
        let out = NDArray<Double>(shape: [3, 3])
        try p.prox(x.tensor, step: 1, into: out.tensor)
        #expect(near(out.values, [1, 0, 0, 0, 1, 0, 0, 0, 0], 1e-12))
        try p.prox(x.tensor, step: 3, into: out.tensor)
        #expect(out.values.allSatisfy { abs($0) < 1e-12 })
    }

    @Test func spectralTargetMatchesTheSVD() throws {
        for shape in [[4, 6], [6, 4], [5, 5]] {
            let x = randomArray(shape[0] * shape[1], seed: 21)
            let s1 = try LAPACK.svd(x, rows: shape[0], cols: shape[1]).s[0]
            for k in [1.0, 2.0, 3.0] {
                let v = try evaluate("spectral_norm_target", "strength=1,k=\(k)", x, shape).0
                let want = (pow(s1, k) - 1) * (pow(s1, k) - 1)
                #expect(abs(v - want) <= 1e-10 * want)
            }
        }
        // Repeated top singular value: σ_1 is still exact.
        #expect(abs(try evaluate("spectral_norm_target", [2, 0, 0, 2], [2, 2]).0 - 9) < 1e-12)
    }

    @Test func biasModes() throws {
        let b: [Double] = [0.6, -0.8]  // ‖b‖ = 1
        #expect(abs(try evaluate("spectral_norm_target", "strength=1,bias_mode=target", b, [2]).0) < 1e-15)
        let (v, g) = try evaluate("spectral_norm_target", "strength=1,bias_mode=none", b, [2])
        #expect(v == 0 && g == [0, 0])
        let (l2, gl2) = try evaluate("spectral_norm_target", "strength=1,k=1", [0, 0], [2])
        #expect(l2 == 0 && gl2 == [0, 0])
        // A one-row matrix is a matrix, not a bias: (‖w‖² − 1)² with k = 2.
        #expect(abs(try evaluate("spectral_norm_target", [0.5, -0.5], [1, 2]).0 - 0.25) < 1e-12)
    }
}

@Suite struct DistributionTests {
    @Test func wassersteinIgnoresWhichWeightHoldsWhichValue() throws {
        let x = randomArray(12, seed: 2)
        let initial: InputArray = .real(shape: [12], values: Array(x.reversed()))
        let (v, g) = try evaluate("wasserstein_init", data: ["init": initial], x, [3, 4])
        #expect(v == 0 && g.allSatisfy { $0 == 0 })
        // Ties: the value does not depend on the tie-break and the gradient is deterministic.
        let tied: InputArray = .real(shape: [4], values: [0, 0, 1, 2])
        let (tv, tg) = try evaluate("wasserstein_init", data: ["init": tied], [1, 1, 1, 1], [4])
        #expect(abs(tv - 0.75) < 1e-15)  // sorted differences (1, 1, 0, −1)
        #expect(tg == [0.5, 0.5, 0, -0.5])
        #expect(throws: (any Error).self) { try evaluate("wasserstein_init", data: ["init": tied], [1, 2, 3], [3]) }
        #expect(throws: (any Error).self) { try Registry.shared.penalty("wasserstein_init") }
    }

    @Test func kurtosisIsShiftAndScaleInvariantAndFiniteAtLargeScale() throws {
        let x = randomArray(16, seed: 12)
        let a = try evaluate("activation_kurtosis", "strength=1,eps=0", x, [2, 8]).0
        let b = try evaluate("activation_kurtosis", "strength=1,eps=0", x.map { 1e4 * $0 + 3 }, [2, 8]).0
        #expect(abs(a - b) <= 1e-10 * a)
        let (v, g) = try evaluate("kure_weight_kurtosis", x.map { 1e4 * $0 }, [4, 4])
        #expect(v.isFinite && g.allSatisfy { $0.isFinite })
        // Constant rows: κ = 0 and gradient 0.
        let (c, gc) = try evaluate("activation_kurtosis", [3, 3, 3, 3, 1, 2, 3, 10], [2, 4])
        #expect(abs(c - 2.2304 / 2) < 1e-6 && gc[0..<4].allSatisfy { $0 == 0 })
    }

    @Test func activationKurtosisUsesTheLastAxis() throws {
        // (2, 2, 4) tokens are the 4 rows of length 4, not 2 rows of length 8.
        let x = randomArray(16, seed: 14)
        let a = try evaluate("activation_kurtosis", x, [2, 2, 4]).0
        let b = try evaluate("activation_kurtosis", x, [4, 4]).0
        #expect(a == b)
    }
}

let geometryIds = ["cs_binary", "cs_osb", "cs_ternary", "cs_lplq", "cs_eigvec", "cs_orthogonal",
                   "cosine_orthogonality", "group_orthogonality", "sorsa_orthonormal", "hyperspherical_energy",
                   "nuclear_norm", "spectral_norm_target", "wasserstein_init", "kure_weight_kurtosis",
                   "activation_kurtosis"]

@Suite struct GeometryRegistryTests {
    @Test func emptyInputsGiveZero() throws {
        let data: [String: [String: InputArray]] = [
            "cs_eigvec": ["C": .real(shape: [3, 3], values: [1, 0, 0, 0, 2, 0, 0, 0, 3])],
            "wasserstein_init": ["init": .real(shape: [0], values: [])],
        ]
        for id in geometryIds {
            for shape in [[0, 3], [3, 0], [0]] where !(id == "cs_eigvec" && shape != [0, 3]) {
                let (v, g) = try evaluate(id, data: data[id] ?? [:], [], shape)
                #expect(v == 0 && g.isEmpty, "\(id) \(shape): \(v)")
            }
        }
    }

    @Test func everyGeometryIdIsRegisteredAndChecked() {
        for id in geometryIds {
            let results = Checker().run(id)
            // Worked examples + (3 seeds + float32) per shape + bad parameters, at least.
            #expect(results.count >= 10, "\(id): only \(results.count) checks")
            #expect(results.allSatisfy { $0.passed }, "\(id): \(results.filter { !$0.passed }.map(\.detail))")
        }
    }
}
