// Regula — wrappers around another registered loss: flooding.

import RegulaEngine

/// Flooding: keeps the reduced training loss near a flood level b by gradient ascent below it.
/// ```
/// L = inner loss reduced over the batch (mean, or sum),  L̃ = |L − b| + b
/// ∇L̃ = sign(L − b) ∇L   (sign(0) = 0: a zero gradient exactly at the flood level, as torch's abs'(0))
/// ```
/// - Parameters: `b` ≥ 0, the flood level (required: chosen by validation, no default);
///   `loss`, the id of any registered loss (default `softmax_cross_entropy`, plugins included);
///   `loss_params`, the inner loss's parameters as `name:value` items separated by `;` (the `,`
///   and `=` belong to flooding's own parameter string; `name=value` items are accepted too), e.g.
///   `loss_params=label_smoothing:0.1;ignore_index:3` (Python: `loss_params="label_smoothing:0.1"`).
///   `reduction` is flooding's and is passed to the inner loss: `mean` (the paper's mini-batch
///   mean) or `sum`; `none` is refused (flooding acts on the reduced loss), and so is a `reduction`
///   inside `loss_params`. Inner losses that need side inputs, fixed data or state updates cannot be
///   wrapped (refused at construction: flooding declares none of them).
///   Per-sample output: the inner loss's per-sample values (not flooded).
/// - Reference: Ishida, Yamane, Sakai, Niu, Sugiyama, "Do We Need Zero Training Loss After Achieving
///   Zero Training Error?", ICML 2020. Catalogue: losses §22.
public struct Flooding: Loss {
    public static let id = "flooding"
    public let b: Double
    public let inner: LossInstance

    public init(b: Double, inner: LossInstance) { self.b = b; self.inner = inner }

    public func evaluate(_ z: Tensor<Double>, target: InputArray?, _ inputs: Inputs, reduction: Reduction,
                         perSample: UnsafeMutableBufferPointer<Double>, into g: Tensor<Double>) throws -> Double {
        let l = try inner.impl.evaluate(z, target: target, inputs, reduction: reduction, perSample: perSample, into: g)
        let sign: Double = l > b ? 1 : (l < b ? -1 : 0)
        for k in 0..<g.count { g[k] *= sign }
        return abs(l - b) + b
    }

    /// Builds the inner loss from `loss` and `loss_params` (";"-separated items).
    static func make(_ p: Params) throws -> Flooding {
        guard let b = p.optionalReal("b") else {
            throw RegulaError.invalidParameter(name: "b", value: "unset", reason: "flooding needs the flood level b (no default)")
        }
        let reduction: Reduction = try p.choice("reduction")
        guard reduction != .none else {
            throw RegulaError.invalidParameter(name: "reduction", value: "none", reason: "flooding acts on the reduced loss: mean or sum")
        }
        let id = try p.string("loss")
        var text = ""
        if case .string(let s)? = p.all["loss_params"] {
            // Items "name:value" or "name=value", separated by ';' (',' and '=' belong to flooding's
            // own parameter string, and the Python binding refuses them inside a value).
            text = s.split(separator: ";").map { item -> String in
                guard !item.contains("="), let colon = item.firstIndex(of: ":") else { return String(item) }
                return item[..<colon] + "=" + item[item.index(after: colon)...]
            }.joined(separator: ",")
        }
        let info = try Registry.shared.info(id)
        guard info.kind == .loss else {
            throw RegulaError.invalidParameter(name: "loss", value: id, reason: "'\(id)' is a \(info.kind.rawValue), not a loss")
        }
        if let need = info.inputs.first(where: \.required) ?? nil {
            throw RegulaError.invalidParameter(name: "loss", value: id, reason: "flooding cannot pass the input '\(need.name)' that '\(id)' needs")
        }
        if !info.state.isEmpty {
            throw RegulaError.invalidParameter(name: "loss", value: id, reason: "'\(id)' keeps state that flooding cannot update")
        }
        if try ParamParser.parse(text).contains(where: { $0.0 == "reduction" }) {
            throw RegulaError.invalidParameter(name: "loss_params", value: text, reason: "set reduction on flooding, not on the inner loss")
        }
        let full = text.isEmpty ? "reduction=\(reduction.rawValue)" : text + ",reduction=\(reduction.rawValue)"
        return Flooding(b: b, inner: try Registry.shared.loss(id, full))
    }
}

extension Registry {
    static let wrappers: [Entry] = [
        .loss("flooding", family: "wrappers",
              summary: "flooding: |L − b| + b on the reduced loss of any registered loss (ascent below the flood level b)",
              formula: "L̃ = |L − b| + b; ∇L̃ = sign(L − b) ∇L (0 at L = b)",
              reference: "Do We Need Zero Training Loss After Achieving Zero Training Error? (Ishida et al., ICML 2020)",
              notes: "Inner loss by id (`loss`), its parameters in `loss_params` as name:value items separated by ';' "
                + "(e.g. label_smoothing:0.1;ignore_index:3; name=value also accepted); flooding's reduction "
                + "(mean or sum) is the inner loss's. Inner losses needing side inputs, data or state are refused. "
                + "Per-sample output = the inner per-sample losses. Target as the inner loss's.",
              target: "as the inner loss",
              params: [.real("b", nil, min: 0, "flood level b (required)"),
                       .text("loss", "softmax_cross_entropy", "id of the wrapped loss"),
                       .text("loss_params", nil, "parameters of the wrapped loss: name:value items separated by ';'")],
              check: CheckSpec(params: "b=20"),
              examples: [
                WorkedExample("L = 0.349012 below b = 0.5: ascent", params: "b=0.5", x: [2, 1, -1], shape: [1, 3],
                              target: .index(shape: [1], values: [0]), value: 0.650988,
                              gradient: [0.294615, -0.259496, -0.035119]),
                WorkedExample("L above b = 0.2: descent", params: "b=0.2", x: [2, 1, -1], shape: [1, 3],
                              target: .index(shape: [1], values: [0]), value: 0.349012,
                              gradient: [-0.294615, 0.259496, 0.035119]),
                WorkedExample("inner parameters", params: "b=0.2,loss=softmax_cross_entropy,loss_params=label_smoothing:0.1",
                              x: [2, 1, -1], shape: [1, 3], target: .index(shape: [1], values: [0]), value: 0.482346,
                              gradient: [-0.227949, 0.226163, 0.001786]),
              ]) { p in try Flooding.make(p) },
    ]
}
