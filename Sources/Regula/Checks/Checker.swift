// Regula — the generic contract and gradient checks that every component passes, built-in or
// plugin: catalogue worked values, float64 central differences, prox optimality, VJPs,
// float32/float64 agreement, and rejection of bad parameters. Used by the tests and `regula check`.
// (Finite differences live here, in verification only, never in a component.)

import RegulaEngine

/// The outcome of one check.
public struct CheckResult: Sendable {
    public let component: String
    public let name: String
    public let passed: Bool
    public let detail: String
}

public struct Checker {
    public let registry: Registry
    public var seeds: [UInt64] = [1, 2, 3]
    /// Coordinates probed per finite-difference check (a random subset on large inputs).
    public var maxProbes = 48

    public init(registry: Registry = .shared) { self.registry = registry }

    /// Runs every check of one component.
    public func run(_ id: String) -> [CheckResult] {
        var out: [CheckResult] = []
        func record(_ name: String, _ body: () throws -> String?) {
            do {
                if let failure = try body() { out.append(CheckResult(component: id, name: name, passed: false, detail: failure)) }
                else { out.append(CheckResult(component: id, name: name, passed: true, detail: "")) }
            } catch {
                out.append(CheckResult(component: id, name: name, passed: false, detail: "threw: \(error)"))
            }
        }
        guard let entry = try? registry.entry(id) else {
            return [CheckResult(component: id, name: "registered", passed: false, detail: "unknown component")]
        }
        if entry.info.kind == .transform { return transformChecks(entry) }
        for (k, ex) in entry.examples.enumerated() {
            record("worked example \(k + 1) \(ex.note)") { try workedExample(entry, ex) }
        }
        let shapes = entry.check.shapes.isEmpty ? defaultShapes(entry.info.kind) : entry.check.shapes
        for shape in shapes {
            for seed in seeds {
                record("gradient \(shape) seed \(seed)") { try gradient(entry, shape: shape, seed: seed) }
            }
            record("float32 vs float64 \(shape)") { try precision(entry, shape: shape) }
            if entry.info.hasProx {
                record("prox optimality \(shape)") { try proxOptimality(entry, shape: shape) }
            }
        }
        record("bad parameters rejected") { try badParameters(entry) }
        return out
    }

    func defaultShapes(_ kind: Kind) -> [[Int]] {
        switch kind {
        case .penalty: [[4, 5], [7], [3, 2, 2]]
        case .loss: [[4, 5], [1, 3], [6, 2]]
        case .map, .activation: [[3, 5], [6], [2, 2, 4]]
        case .transform: []
        }
    }

    /// The parameters the checks construct a component with (penalties at strength 1).
    public func checkParams(_ e: Entry) -> String {
        guard e.info.kind == .penalty, !e.check.params.contains("strength=") else { return e.check.params }
        return e.check.params.isEmpty ? "strength=1" : "strength=1," + e.check.params
    }

    /// A valid random input of `shape` for a component (the entry's own sampler when it has one).
    public func sample(_ e: Entry, shape: [Int], seed: UInt64) -> Sample {
        var rng = RNG(seed: seed &* 7919 &+ 17)
        if let s = e.check.sample { return s(&rng, shape) }
        let x = NDArray<Double>(shape: shape)
        let scale = e.info.kind == .loss ? 2.0 : 1.0
        for i in 0..<x.count { x[i] = scale * rng.normal() }
        var target: InputArray? = nil
        if e.info.kind == .loss {
            let rows = x.tensor.lastAxis.rows, classes = x.tensor.lastAxis.cols
            target = .index(shape: [rows], values: (0..<rows).map { _ in rng.below(classes) })
        }
        return Sample(x: x, target: target)
    }

    // MARK: Evaluation helpers (float64 unless stated)

    /// (value, gradient) of a penalty or loss at x; for maps, ⟨c, f(x)⟩ and its gradient Jᵀc.
    func objective(_ e: Entry, params: String, data: [String: InputArray], _ s: Sample, _ x: NDArray<Double>,
                   cotangent: NDArray<Double>?) throws -> (Double, NDArray<Double>) {
        let g = NDArray<Double>(shape: x.shape)
        switch e.info.kind {
        case .penalty:
            let p = try registry.penalty(e.info.id, params, data: data)
            return (try p.valueAndGradient(x.tensor, s.inputs, into: g.tensor), g)
        case .loss:
            let l = try registry.loss(e.info.id, params, data: data)
            return (try l.evaluate(x.tensor, target: s.target, s.inputs, into: g.tensor), g)
        case .map, .activation:
            let m = try registry.map(e.info.id, params, data: data)
            let y = NDArray<Double>(shape: x.shape)
            try m.forward(x.tensor, s.inputs, into: y.tensor)
            let c = cotangent!
            var v = 0.0
            for i in 0..<y.count { v += c[i] * y[i] }
            if e.info.hasVJP { try m.vjp(x.tensor, cotangent: c.tensor, s.inputs, into: g.tensor) }
            return (v, g)
        case .transform: throw notAComponent(e)
        }
    }

    static func close(_ a: Double, _ b: Double, _ tol: Double) -> Bool {
        abs(a - b) <= tol * Swift.max(1, abs(b))
    }

    func compare(_ got: [Double], _ want: [Double], _ what: String, _ tol: Double) -> String? {
        guard got.count == want.count else { return "\(what): \(got.count) values, expected \(want.count)" }
        for i in 0..<got.count where !Self.close(got[i], want[i], tol) {
            return "\(what)[\(i)] = \(got[i]), expected \(want[i])"
        }
        return nil
    }

    // MARK: The checks

    func workedExample(_ e: Entry, _ ex: WorkedExample) throws -> String? {
        let s = Sample(x: ex.x, inputs: ex.inputs, target: ex.target)
        let params = e.info.kind == .penalty && !ex.params.contains("strength=")
            ? (ex.params.isEmpty ? "strength=1" : "strength=1," + ex.params) : ex.params
        switch e.info.kind {
        case .penalty, .loss:
            let (v, g) = try objective(e, params: params, data: ex.data, s, ex.x, cotangent: nil)
            if let want = ex.value, !Self.close(v, want, ex.tolerance) { return "value \(v), expected \(want)" }
            if let want = ex.gradient, let f = compare(g.values, want, "gradient", ex.tolerance) { return f }
            if let (step, want) = ex.prox {
                let p = try registry.penalty(e.info.id, params, data: ex.data)
                let out = NDArray<Double>(shape: ex.x.shape)
                try p.prox(ex.x.tensor, step: step, ex.inputs, into: out.tensor)
                if let f = compare(out.values, want, "prox", ex.tolerance) { return f }
            }
        case .map, .activation:
            let m = try registry.map(e.info.id, params, data: ex.data)
            if let want = ex.output {
                let y = NDArray<Double>(shape: ex.x.shape)
                try m.forward(ex.x.tensor, ex.inputs, into: y.tensor)
                if let f = compare(y.values, want, "output", ex.tolerance) { return f }
            }
            if let (cot, want) = ex.vjp {
                let gx = NDArray<Double>(shape: ex.x.shape)
                try m.vjp(ex.x.tensor, cotangent: NDArray(shape: ex.x.shape, cot).tensor, ex.inputs, into: gx.tensor)
                if let f = compare(gx.values, want, "vjp", ex.tolerance) { return f }
            }
        case .transform: throw notAComponent(e)
        }
        return nil
    }

    func gradient(_ e: Entry, shape: [Int], seed: UInt64) throws -> String? {
        if let why = e.check.skipGradient { _ = why; return nil }
        if (e.info.kind == .map || e.info.kind == .activation) && !e.info.hasVJP { return nil }
        let params = checkParams(e)
        let s = sample(e, shape: shape, seed: seed)
        var rng = RNG(seed: seed &+ 1000)
        var cot: NDArray<Double>? = nil
        if e.info.kind == .map || e.info.kind == .activation {
            let c = NDArray<Double>(shape: s.x.shape)
            for i in 0..<c.count { c[i] = rng.normal() }
            cot = c
        }
        let (_, g) = try objective(e, params: params, data: e.check.data, s, s.x, cotangent: cot)
        let n = s.x.count
        var probes = Array(0..<n)
        if n > maxProbes { probes = (0..<maxProbes).map { _ in rng.below(n) } }
        var worst = 0.0, worstAt = -1, scale = 1.0
        var fds: [(Int, Double)] = []
        for i in probes {
            let x = NDArray<Double>(shape: s.x.shape, s.x.values)
            let h = 1e-6 * Swift.max(1, abs(x[i]))
            x[i] = s.x[i] + h
            let (fp, _) = try objective(e, params: params, data: e.check.data, s, x, cotangent: cot)
            x[i] = s.x[i] - h
            let (fm, _) = try objective(e, params: params, data: e.check.data, s, x, cotangent: cot)
            let fd = (fp - fm) / (2 * h)
            fds.append((i, fd)); scale = Swift.max(scale, abs(fd))
        }
        for (i, fd) in fds {
            let err = abs(g[i] - fd) / scale
            if err > worst { worst = err; worstAt = i }
        }
        if worst > e.check.tolerance {
            return "gradient[\(worstAt)] = \(g[worstAt]), central difference \(fds.first { $0.0 == worstAt }!.1) (relative error \(worst))"
        }
        return nil
    }

    func precision(_ e: Entry, shape: [Int]) throws -> String? {
        let params = checkParams(e)
        let s = sample(e, shape: shape, seed: 99)
        let x32 = s.x.converted(to: Float.self)
        let tol = 2e-4
        switch e.info.kind {
        case .penalty:
            let p = try registry.penalty(e.info.id, params, data: e.check.data)
            let g64 = NDArray<Double>(shape: shape), g32 = NDArray<Float>(shape: shape)
            let v64 = try p.valueAndGradient(s.x.tensor, s.inputs, into: g64.tensor)
            let v32 = try p.valueAndGradient(x32.tensor, s.inputs, into: g32.tensor)
            // The float32 input is a rounded copy: compare against float64 at the rounded point.
            let g64r = NDArray<Double>(shape: shape)
            let v64r = try p.valueAndGradient(x32.converted(to: Double.self).tensor, s.inputs, into: g64r.tensor)
            _ = (v64, g64)
            if !Self.close(v32, v64r, tol) { return "float32 value \(v32) vs float64 \(v64r)" }
            let gscale = Swift.max(1, g64r.values.map(abs).max() ?? 1)
            for i in 0..<g32.count where abs(Double(g32[i]) - g64r[i]) > tol * gscale {
                return "float32 gradient[\(i)] \(g32[i]) vs float64 \(g64r[i])"
            }
        case .loss:
            let l = try registry.loss(e.info.id, params, data: e.check.data)
            let g32 = NDArray<Float>(shape: shape), g64 = NDArray<Double>(shape: shape)
            let v32 = try l.evaluate(x32.tensor, target: s.target, s.inputs, into: g32.tensor)
            let v64 = try l.evaluate(x32.converted(to: Double.self).tensor, target: s.target, s.inputs, into: g64.tensor)
            if !Self.close(v32, v64, tol) { return "float32 value \(v32) vs float64 \(v64)" }
            for i in 0..<g32.count where abs(Double(g32[i]) - g64[i]) > tol * Swift.max(1, abs(g64[i])) {
                return "float32 gradient[\(i)] \(g32[i]) vs float64 \(g64[i])"
            }
        case .map, .activation:
            let m = try registry.map(e.info.id, params, data: e.check.data)
            let y32 = NDArray<Float>(shape: shape), y64 = NDArray<Double>(shape: shape)
            try m.forward(x32.tensor, s.inputs, into: y32.tensor)
            try m.forward(x32.converted(to: Double.self).tensor, s.inputs, into: y64.tensor)
            for i in 0..<y32.count where abs(Double(y32[i]) - y64[i]) > tol * Swift.max(1, abs(y64[i])) {
                return "float32 output[\(i)] \(y32[i]) vs float64 \(y64[i])"
            }
        case .transform: throw notAComponent(e)
        }
        return nil
    }

    /// p = prox_{tR}(v) must beat nearby points and v itself on F(x) = t R(x) + ½‖x − v‖².
    func proxOptimality(_ e: Entry, shape: [Int]) throws -> String? {
        let params = checkParams(e)
        let p = try registry.penalty(e.info.id, params, data: e.check.data)
        for (seed, step) in [(5 as UInt64, 0.1), (6, 1.0), (7, 0.0)] {
            let s = sample(e, shape: shape, seed: seed)
            let v = s.x
            let out = NDArray<Double>(shape: shape)
            try p.prox(v.tensor, step: step, s.inputs, into: out.tensor)
            let t = step * p.strength
            func F(_ x: NDArray<Double>) throws -> Double {
                var d = 0.0
                for i in 0..<x.count { d += (x[i] - v[i]) * (x[i] - v[i]) }
                let r = t == 0 ? 0 : try p.value(x.tensor, s.inputs) / p.strength
                return t * r + 0.5 * d
            }
            let fp = try F(out)
            if step == 0 {
                if let f = compare(out.values, v.values, "prox with step 0", 1e-12) { return f }
                continue
            }
            var rng = RNG(seed: seed &+ 77)
            for trial in 0..<24 {
                let eps = trial < 8 ? 1e-4 : (trial < 16 ? 1e-2 : 0.3)
                let x = NDArray<Double>(shape: shape, out.values)
                for i in 0..<x.count { x[i] += eps * rng.normal() }
                let fx = try F(x)
                if fx < fp - 1e-9 * Swift.max(1, abs(fp)) {
                    return "prox (step \(step)) is not optimal: F(p) = \(fp) but a point at distance ~\(eps) gives \(fx)"
                }
            }
            if try F(v) < fp - 1e-9 * Swift.max(1, abs(fp)) { return "prox worse than v itself" }
        }
        return nil
    }

    /// What a schema accepts that it should refuse (an unknown name, values outside each
    /// parameter's domain), as a message; nil when `rejects` refuses them all.
    func acceptsBadValue(_ params: [ParamSpec], _ rejects: (String) -> Bool) -> String? {
        if !rejects("no_such_parameter=1") { return "accepted an unknown parameter" }
        for spec in params {
            switch spec.type {
            case .real(let lo, let hi, _, _):
                if lo.isFinite && !rejects("\(spec.name)=\(lo - 1 - abs(lo))") { return "accepted \(spec.name) below its minimum" }
                if hi.isFinite && !rejects("\(spec.name)=\(hi + 1 + abs(hi))") { return "accepted \(spec.name) above its maximum" }
                if !rejects("\(spec.name)=nan") { return "accepted \(spec.name)=nan" }
            case .int(let lo, let hi):
                if lo > Int.min && !rejects("\(spec.name)=\(lo - 1)") { return "accepted \(spec.name) below its minimum" }
                if hi < Int.max && !rejects("\(spec.name)=\(hi + 1)") { return "accepted \(spec.name) above its maximum" }
            case .choice:
                if !rejects("\(spec.name)=not_a_choice") { return "accepted \(spec.name)=not_a_choice" }
            case .bool:
                if !rejects("\(spec.name)=maybe") { return "accepted \(spec.name)=maybe" }
            case .text:
                if !rejects("\(spec.name)=1") { return "accepted a number for the text parameter \(spec.name)" }
            }
        }
        return nil
    }

    func badParameters(_ e: Entry) throws -> String? {
        let id = e.info.id
        func rejects(_ params: String) -> Bool {
            (try? registry.make(id, params: params, data: e.check.data)) == nil
        }
        if let accepted = acceptsBadValue(e.info.params, rejects) { return accepted }
        // Shapes: a gradient buffer of the wrong shape must be refused.
        if e.info.kind == .penalty, let p = try? registry.penalty(id, checkParams(e), data: e.check.data) {
            let w = NDArray<Double>(shape: [2, 3]), g = NDArray<Double>(shape: [3, 2])
            if (try? p.valueAndGradient(w.tensor, .none, into: g.tensor)) != nil { return "accepted a gradient of the wrong shape" }
        }
        return nil
    }
}
