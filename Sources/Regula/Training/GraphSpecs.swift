// Regula — graph nodes from text specs ("normal:std=0.02", "dropout:p=0.1", "entmax15",
// "group_lasso:strength=1e-3"): initializers, noise layers, activations and component ops for
// the graph C ABI and other text front ends. Specs are parsed here, never in the engine.

import RegulaEngine

/// The noise layers of the engine's graph, as a spec names them.
public enum NoiseSpec: Equatable, Sendable {
    case dropout(p: Double)
    case gaussianNoise(sigma: Double)
    case gaussianDropout(p: Double)
    case quantNoise(bits: Int, uniformNoise: Bool)
}

/// An activation spec: one of the engine's built-in activations, or a registered map/activation.
public enum ActivationSpec {
    case builtin(Activation)
    case map(MapOp)
}

public enum GraphSpecs {
    /// Parameters of the initializers ("zeros", "constant:value=1", "normal:std=0.02", ...).
    static let initializers: [(id: String, params: [ParamSpec])] = [
        ("zeros", []),
        ("constant", [.real("value", 0, "the constant")]),
        ("normal", [.real("std", 0.02, min: 0, "standard deviation")]),
        ("uniform", [.real("bound", 0.1, min: 0, "b of U(−b, b)")]),
        ("kaiming_normal", []), ("kaiming_uniform", []), ("xavier_normal", []), ("xavier_uniform", []),
    ]

    /// Parameters of the noise layers ("dropout:p=0.1", "quant_noise:bits=4,uniform_noise=true").
    static let noises: [(id: String, params: [ParamSpec])] = [
        ("dropout", [.real("p", 0.5, min: 0, max: 1, maxOpen: true, "drop rate")]),
        ("gaussian_noise", [.real("sigma", 0.1, min: 0, "σ of the additive noise")]),
        ("gaussian_dropout", [.real("p", 0.5, min: 0, max: 1, maxOpen: true, "rate whose variance the noise matches")]),
        ("quant_noise", [.int("bits", 8, min: 2, max: 24, "bits of the symmetric per-tensor grid"),
                         .bool("uniform_noise", false, "train with U(−s/2, s/2) noise instead of fake quantisation")]),
    ]

    /// Looks `spec`'s id up in `table` (else an invalid `what`) and validates its parameters.
    static func parse(_ spec: String, _ table: [(id: String, params: [ParamSpec])], _ what: String) throws -> (String, Params) {
        let (id, text) = TransformCatalog.split(spec)
        guard let entry = table.first(where: { $0.id == id }) else {
            throw RegulaError.invalidParameter(name: what, value: id, reason: "must be one of \(table.map(\.id).joined(separator: ", "))")
        }
        var values: [String: ParamValue] = [:]
        for s in entry.params { if let d = s.defaultValue { values[s.name] = d } }
        for (name, v) in try ParamParser.parse(text) {
            guard let s = entry.params.first(where: { $0.name == name }) else {
                throw RegulaError.unknownParameter(component: id, name: name, known: entry.params.map(\.name))
            }
            values[name] = try s.validate(v)
        }
        return (id, Params(component: id, values: values, data: [:]))
    }

    /// An initializer spec.
    public static func initializer(_ spec: String) throws -> Initializer {
        let (id, p) = try parse(spec, initializers, "init")
        switch id {
        case "zeros": return .zeros
        case "constant": return .constant(try p.real("value"))
        case "normal": return .normal(std: try p.real("std"))
        case "uniform": return .uniform(bound: try p.real("bound"))
        case "kaiming_normal": return .kaimingNormal
        case "kaiming_uniform": return .kaimingUniform
        case "xavier_normal": return .xavierNormal
        default: return .xavierUniform
        }
    }

    /// A noise-layer spec.
    public static func noise(_ spec: String) throws -> NoiseSpec {
        let (id, p) = try parse(spec, noises, "noise")
        switch id {
        case "dropout": return .dropout(p: try p.real("p"))
        case "gaussian_noise": return .gaussianNoise(sigma: try p.real("sigma"))
        case "gaussian_dropout": return .gaussianDropout(p: try p.real("p"))
        default: return .quantNoise(bits: try p.int("bits"), uniformNoise: try p.bool("uniform_noise"))
        }
    }

    /// An activation: relu, gelu, tanh, identity (the engine's), or any registered map or
    /// activation id with its parameters ("entmax15", "ash:k=2").
    public static func activation(_ spec: String) throws -> ActivationSpec {
        let (id, text) = TransformCatalog.split(spec)
        if let a = Activation(rawValue: id) {
            guard text.trimmingSpaces().isEmpty else {
                throw RegulaError.unknownParameter(component: id, name: (try? ParamParser.parse(text).first?.0) ?? text, known: [])
            }
            return .builtin(a)
        }
        let kind = try Registry.shared.info(id).kind
        guard kind == .map || kind == .activation else {
            throw RegulaError.invalidArgument("'\(id)' is a \(kind.rawValue), not a map or activation: build it with an op node")
        }
        return .map(try mapOp(id, text))
    }

    /// A map node whose component needs no per-call inputs (a graph node has none to give it).
    static func mapOp(_ id: String, _ text: String) throws -> MapOp {
        let m = try Registry.shared.map(id, text)
        if let need = m.info.inputs.first(where: \.required) {
            throw RegulaError.unsupported("map '\(id)' needs the per-call input '\(need.name)', which a graph node cannot supply")
        }
        return try MapOp(m)
    }

    /// A registered component as a graph op, by spec "id" or "id:params": a loss (inputs: scores,
    /// target), a map or activation (input: x), a penalty (x, then one input per name of
    /// `inputNames`, which must be the penalty's declared per-call inputs), or a transform with a
    /// graph form (`TransformCatalog.graphOp`). `inputs` is the number of input nodes given.
    public static func op(_ spec: String, inputs: Int, inputNames: [String]) throws -> GraphOp {
        let (id, text) = TransformCatalog.split(spec)
        let kind = try Registry.shared.info(id).kind
        guard kind == .penalty || inputNames.isEmpty else {
            throw RegulaError.invalidArgument("input names are for penalties; '\(id)' is a \(kind.rawValue)")
        }
        func count(_ n: Int, _ what: String) throws {
            guard inputs == n else { throw RegulaError.shape("\(kind.rawValue) '\(id)' takes \(what), got \(inputs) input nodes") }
        }
        switch kind {
        case .loss:
            try count(2, "2 inputs (scores, target)")
            let l = try Registry.shared.loss(id, text)
            if let need = l.info.inputs.first(where: \.required) {
                throw RegulaError.unsupported("loss '\(id)' needs the per-call input '\(need.name)', which a graph node cannot supply")
            }
            return try LossOp(l)
        case .map, .activation:
            try count(1, "1 input")
            return try mapOp(id, text)
        case .penalty:
            try count(1 + inputNames.count, "1 input plus one per input name (\(inputNames.count))")
            let p = try Registry.shared.penalty(id, text)
            var seen = Set<String>()
            for name in inputNames {
                guard p.info.inputs.contains(where: { $0.name == name }) else {
                    throw RegulaError.unknownParameter(component: id, name: name, known: p.info.inputs.map(\.name))
                }
                guard seen.insert(name).inserted else { throw RegulaError.invalidArgument("input name '\(name)' is given twice") }
            }
            if let need = p.info.inputs.first(where: { $0.required && !seen.contains($0.name) }) {
                throw RegulaError.invalidArgument("penalty '\(id)' needs the input '\(need.name)' (\(need.doc)): name it in input_names")
            }
            return PenaltyOp(p, inputNames: inputNames)
        case .transform:
            return try TransformCatalog.graphOp(spec)
        }
    }
}

/// The mean or sum of every value of a node as a scalar node (an objective term such as
/// IGNITE's surrogate batch mean G_B = (1/|B|) Σ f(x)). Accumulated in Double.
/// ```
/// y = c · Σ_i x_i,  c = 1/n (mean) or 1 (sum);  ∂y/∂x_i = c
/// ```
public final class ReduceOp: GraphOp {
    public let mean: Bool
    public var label: String { mean ? "mean" : "sum" }
    public init(mean: Bool) { self.mean = mean }

    /// "mean" or "sum".
    public convenience init(_ how: String) throws {
        switch how {
        case "mean": self.init(mean: true)
        case "sum": self.init(mean: false)
        default: throw RegulaError.invalidParameter(name: "reduction", value: how, reason: "must be mean or sum")
        }
    }

    public func outputShape(_ inputs: [NodeShape]) throws -> NodeShape {
        guard inputs.count == 1 else { throw GraphError.shape("\(label) takes one input") }
        return .scalar
    }

    public func forward(_ inputs: [Tensor<Double>], into out: Tensor<Double>, training: Bool) throws {
        let x = inputs[0]
        var s = 0.0
        for i in 0..<x.count { s += x[i] }
        out[0] = mean && x.count > 0 ? s / Double(x.count) : s
    }

    public func backward(_ inputs: [Tensor<Double>], output: Tensor<Double>, outGrad: Tensor<Double>,
                         into inputGrads: [Tensor<Double>?]) throws {
        guard let g = inputGrads[0], g.count > 0 else { return }
        let c = outGrad[0] * (mean ? 1 / Double(g.count) : 1)
        for i in 0..<g.count { g[i] += c }
    }
}
