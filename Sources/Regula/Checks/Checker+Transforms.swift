// Regula — the checks of registry entries of kind `transform` (the training transforms): the
// spec builds with its defaults, bad parameters are refused, and one optimizer step through it
// on a quadratic gives finite, moved parameters (or a clear refusal where the transform needs
// the model or the loss rather than gradients). Wrappers that take objective terms apart step
// through the termwise entry and must refuse a single gradient callback.

#if canImport(Glibc)
import Glibc
#endif
import RegulaEngine

extension Checker {
    func notAComponent(_ e: Entry) -> RegulaError {
        .unsupported("'\(e.info.id)' is a training transform, not a penalty, loss or map")
    }

    /// The spec of a transform with its defaults (prox_step needs the penalty it steps with).
    static func defaultSpec(_ id: String) -> String { id == "prox_step" ? "prox_step:penalty=l1,strength=0.1" : id }

    /// Builds a transform spec the way its users do: model-eval terms as graph ops by name,
    /// everything else through `TransformCatalog.make`.
    static func build(_ spec: String) throws {
        let id = TransformCatalog.split(spec).id
        if (try? TransformCatalog.info(id))?.kind == .modelEval { _ = try TransformCatalog.graphOp(spec) } else { _ = try TransformCatalog.make(spec) }
    }

    func transformChecks(_ e: Entry) -> [CheckResult] {
        let id = e.info.id
        func result(_ name: String, _ body: () throws -> String?) -> CheckResult {
            do {
                let failure = try body()
                return CheckResult(component: id, name: name, passed: failure == nil, detail: failure ?? "")
            } catch {
                return CheckResult(component: id, name: name, passed: false, detail: "threw: \(error)")
            }
        }
        return [
            result("builds with its defaults") { try Self.build(Self.defaultSpec(id)); return nil },
            result("refused by the component constructors") {
                (try? registry.make(id)) == nil ? nil : "rg_*_new would build a training transform"
            },
            result("bad parameters rejected") { try badTransformParameters(e) },
            result("one optimizer step") { try optimizerStep(e) },
        ]
    }

    func badTransformParameters(_ e: Entry) throws -> String? {
        let id = e.info.id, base = Self.defaultSpec(id)
        func rejects(_ params: String) -> Bool {
            let spec = base.contains(":") ? base + "," + params : base + ":" + params
            return (try? Self.build(spec)) == nil
        }
        return acceptsBadValue(e.info.params, rejects)
    }

    /// SGD (lr 0.1) through the transform on L(w) = ½‖w − 1‖² from a seeded random (3, 4) matrix
    /// and a bias: the parameters must stay finite and move. Transforms that act on the loss,
    /// the batch or the model must be refused by the optimizer with `unsupported` instead.
    func optimizerStep(_ e: Entry) throws -> String? {
        let slots = [ParameterSlot(name: "layer0.weight", shape: [3, 4]), ParameterSlot(name: "layer0.bias", shape: [3])]
        var rng = RNG(seed: 11)
        for s in slots { for i in 0..<s.count { s.value[i] = rng.normal() } }
        let stepper: Stepper
        do {
            stepper = try OptimizerFactory.make(optimizer: "sgd", params: "lr=0.1,momentum=0", transforms: [Self.defaultSpec(e.info.id)], slots: slots)
        } catch RegulaError.unsupported {
            let modelLevel: Set<TransformKind> = [.lossTransform, .dataTransform, .layer, .modelEval]
            return modelLevel.contains(try TransformCatalog.info(e.info.id).kind)
                ? nil : "the optimizer refused a \(e.family) transform"
        }
        let before = slots.map { Array(UnsafeBufferPointer(start: $0.value, count: $0.count)) }
        // Term 0: L(w) = ½‖w − 1‖²; term 1 (for wrappers that take terms apart): Σ sin(w).
        func evaluate(_ seeds: [Double]) -> Double {
            var loss = 0.0
            for s in slots {
                for i in 0..<s.count {
                    let d = s.value[i] - 1
                    s.grad[i] = seeds[0] * d + seeds[1] * cos(s.value[i])
                    loss += seeds[0] * 0.5 * d * d + seeds[1] * sin(s.value[i])
                }
            }
            return loss
        }
        let termwise = stepper.wrapper is TermwiseGradientWrapper
        if termwise {
            do {
                _ = try stepper.step { evaluate([1, 1]) }
                return "a wrapper that needs its terms apart accepted a single gradient callback"
            } catch GraphError.unsupported {}
        }
        for _ in 0..<3 {
            _ = try termwise ? stepper.step(terms: 2, termwise: evaluate) : stepper.step { evaluate([1, 0]) }
        }
        var moved = false
        for (s, b) in zip(slots, before) {
            for i in 0..<s.count {
                guard s.value[i].isFinite else { return "\(s.name)[\(i)] is \(s.value[i]) after three steps" }
                if s.value[i] != b[i] { moved = true }
            }
        }
        return moved ? nil : "three steps left the parameters unchanged"
    }
}

private extension Entry {
    var family: String { info.family }
}
