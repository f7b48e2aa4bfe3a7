// Regula — what the registry holds per component: metadata, a factory, check inputs, worked values.

import RegulaEngine

/// What kind of component an id names (the first three match the plugin ABI's RG_KIND_*;
/// transforms are built-in only: the training transforms of `TransformCatalog`).
public enum Kind: String, Sendable, CaseIterable {
    case penalty, loss, map, activation, transform

    /// The C-ABI family the kind is used through (`rg_penalty_*`, `rg_loss_*`, `rg_map_*`).
    public var api: String {
        switch self {
        case .penalty: "penalty"
        case .loss: "loss"
        case .map, .activation: "map"
        case .transform: "optimizer"
        }
    }
}

/// A named array input a component declares (per-call input, or fixed constructor data).
public struct InputSpec: Sendable {
    public let name: String
    public let required: Bool
    public let doc: String
    public init(_ name: String, required: Bool = true, _ doc: String) {
        self.name = name; self.required = required; self.doc = doc
    }
}

/// Everything `describe` says about a component.
public struct ComponentInfo: Sendable {
    public var id: String
    public var kind: Kind
    public var family: String
    public var summary: String
    public var formula: String
    public var reference: String
    public var confidence: String
    /// Decisions taken where the catalogue was unclear, with their source.
    public var notes: String
    public var params: [ParamSpec]
    /// Fixed data arrays given at construction (e.g. a matrix C).
    public var data: [InputSpec]
    /// Per-call side inputs (labels, masks, ...).
    public var inputs: [InputSpec]
    /// Names a stateful component accepts in `update`.
    public var state: [ParamSpec]
    /// What the loss takes as its target ("" for none).
    public var target: String
    public var hasProx: Bool
    public var hasVJP: Bool
    /// "builtin", or the plugin's path / name.
    public var origin: String

    public init(id: String, kind: Kind, family: String, summary: String, formula: String,
                reference: String, confidence: String = "high", notes: String = "",
                params: [ParamSpec] = [], data: [InputSpec] = [], inputs: [InputSpec] = [],
                state: [ParamSpec] = [], target: String = "", hasProx: Bool = false,
                hasVJP: Bool = false, origin: String = "builtin") {
        self.id = id; self.kind = kind; self.family = family; self.summary = summary
        self.formula = formula; self.reference = reference; self.confidence = confidence
        self.notes = notes; self.params = params; self.data = data; self.inputs = inputs
        self.state = state; self.target = target; self.hasProx = hasProx; self.hasVJP = hasVJP
        self.origin = origin
    }
}

/// A random, valid input for the generic checks.
public struct Sample: Sendable {
    public var x: NDArray<Double>
    public var inputs: Inputs
    public var target: InputArray?
    public init(x: NDArray<Double>, inputs: Inputs = .none, target: InputArray? = nil) {
        self.x = x; self.inputs = inputs; self.target = target
    }
}

/// How `regula check` and the generic test exercise a component.
public struct CheckSpec: Sendable {
    /// Shapes of the main input (weights, logits, features).
    public var shapes: [[Int]]
    /// Parameters for the checks ("" = defaults; strength is forced to 1 for penalties).
    public var params: String
    /// Fixed data for construction, when the component needs some.
    public var data: [String: InputArray]
    /// A valid random sample for a shape; nil = standard normal x (and labels for losses).
    public var sample: (@Sendable (inout RNG, [Int]) -> Sample)?
    /// Relative tolerance of the finite-difference comparison.
    public var tolerance: Double
    /// Skip the finite-difference gradient check (with the reason), e.g. projections.
    public var skipGradient: String?

    public init(shapes: [[Int]] = [], params: String = "", data: [String: InputArray] = [:],
                sample: (@Sendable (inout RNG, [Int]) -> Sample)? = nil, tolerance: Double = 1e-5,
                skipGradient: String? = nil) {
        self.shapes = shapes; self.params = params; self.data = data; self.sample = sample
        self.tolerance = tolerance; self.skipGradient = skipGradient
    }
}

/// A worked example from the catalogue: inputs and the numbers the component must reproduce.
public struct WorkedExample: Sendable {
    public var note: String
    public var params: String
    public var data: [String: InputArray]
    public var x: NDArray<Double>
    public var inputs: Inputs
    public var target: InputArray?
    public var value: Double?
    public var gradient: [Double]?
    /// (step, expected prox) for penalties.
    public var prox: (step: Double, result: [Double])?
    /// Expected forward output for maps.
    public var output: [Double]?
    /// (cotangent, expected VJP) for maps.
    public var vjp: (cotangent: [Double], result: [Double])?
    public var tolerance: Double

    public init(_ note: String = "", params: String = "", data: [String: InputArray] = [:],
                x: [Double], shape: [Int], inputs: Inputs = .none, target: InputArray? = nil,
                value: Double? = nil, gradient: [Double]? = nil,
                prox: (step: Double, result: [Double])? = nil, output: [Double]? = nil,
                vjp: (cotangent: [Double], result: [Double])? = nil, tolerance: Double = 1e-5) {
        self.note = note; self.params = params; self.data = data
        self.x = NDArray(shape: shape, x); self.inputs = inputs; self.target = target
        self.value = value; self.gradient = gradient; self.prox = prox; self.output = output
        self.vjp = vjp; self.tolerance = tolerance
    }
}

/// One registered component.
public struct Entry: Sendable {
    public var info: ComponentInfo
    public var make: @Sendable (Params) throws -> AnyComponent
    public var check: CheckSpec
    public var examples: [WorkedExample]

    public init(info: ComponentInfo, check: CheckSpec = CheckSpec(), examples: [WorkedExample] = [],
                make: @escaping @Sendable (Params) throws -> AnyComponent) {
        self.info = info; self.make = make; self.check = check; self.examples = examples
    }

    /// A penalty entry; `strength` (with this default) is added to the schema.
    public static func penalty(
        _ id: String, family: String, summary: String, formula: String, reference: String,
        confidence: String = "high", notes: String = "", strength: Double,
        params: [ParamSpec] = [], data: [InputSpec] = [], inputs: [InputSpec] = [], state: [ParamSpec] = [],
        prox: Bool = false, check: CheckSpec = CheckSpec(), examples: [WorkedExample] = [],
        make: @escaping @Sendable (Params) throws -> any Penalty
    ) -> Entry {
        let info = ComponentInfo(
            id: id, kind: .penalty, family: family, summary: summary, formula: formula,
            reference: reference, confidence: confidence, notes: notes,
            params: [.real("strength", strength, min: 0, "multiplies value and gradient; prox uses step·strength")] + params,
            data: data, inputs: inputs, state: state, hasProx: prox)
        return Entry(info: info, check: check, examples: examples) { .penalty(try make($0)) }
    }

    /// A loss entry; `reduction` is added to the schema.
    public static func loss(
        _ id: String, family: String, summary: String, formula: String, reference: String,
        confidence: String = "high", notes: String = "", target: String = "labels (batch,) or probabilities (batch, classes)",
        params: [ParamSpec] = [], data: [InputSpec] = [], inputs: [InputSpec] = [], state: [ParamSpec] = [],
        check: CheckSpec = CheckSpec(), examples: [WorkedExample] = [],
        make: @escaping @Sendable (Params) throws -> any Loss
    ) -> Entry {
        let info = ComponentInfo(
            id: id, kind: .loss, family: family, summary: summary, formula: formula,
            reference: reference, confidence: confidence, notes: notes,
            params: params + [.choice("reduction", ["mean", "sum", "none"], "batch reduction")],
            data: data, inputs: inputs, state: state, target: target)
        return Entry(info: info, check: check, examples: examples) { .loss(try make($0)) }
    }

    /// An output-map (or activation) entry.
    public static func map(
        _ id: String, kind: Kind = .map, family: String, summary: String, formula: String,
        reference: String, confidence: String = "high", notes: String = "", params: [ParamSpec] = [],
        data: [InputSpec] = [], inputs: [InputSpec] = [], state: [ParamSpec] = [], vjp: Bool = true,
        check: CheckSpec = CheckSpec(), examples: [WorkedExample] = [],
        make: @escaping @Sendable (Params) throws -> any OutputMap
    ) -> Entry {
        let info = ComponentInfo(
            id: id, kind: kind, family: family, summary: summary, formula: formula,
            reference: reference, confidence: confidence, notes: notes, params: params,
            data: data, inputs: inputs, state: state, hasVJP: vjp)
        return Entry(info: info, check: check, examples: examples) { .map(try make($0)) }
    }
}
