// Regula — describing components: JSON for the bindings, Markdown for docs/catalogue.md.

extension ComponentInfo {
    /// The JSON object `rg_describe` and `regula describe --json` return.
    public var json: String {
        func s(_ x: String) -> String { jsonString(x) }
        func value(_ v: ParamValue?) -> String {
            switch v {
            case .real(let d)?: return d.isFinite ? formatNumber(d) : "null"
            case .int(let i)?: return String(i)
            case .bool(let b)?: return b ? "true" : "false"
            case .string(let t)?: return s(t)
            case nil: return "null"
            }
        }
        func bound(_ d: Double) -> String { d.isFinite ? formatNumber(d) : "null" }
        let params = self.params.map { p -> String in
            var lo = "null", hi = "null", choices = "null"
            switch p.type {
            case .real(let a, let b, _, _): lo = bound(a); hi = bound(b)
            case .int(let a, let b):
                lo = a == .min ? "null" : String(a); hi = b == .max ? "null" : String(b)
            case .choice(let c): choices = "[" + c.map(s).joined(separator: ",") + "]"
            case .bool, .text: break
            }
            var open = ""
            if case .real(_, _, let lo_, let hi_) = p.type { open = ",\"min_exclusive\":\(lo_),\"max_exclusive\":\(hi_)" }
            return "{\"name\":\(s(p.name)),\"type\":\(s(p.type.name)),\"default\":\(value(p.defaultValue)),\"min\":\(lo),\"max\":\(hi)\(open),\"choices\":\(choices),\"doc\":\(s(p.doc))}"
        }
        func inputs(_ list: [InputSpec]) -> String {
            "[" + list.map { "{\"name\":\(s($0.name)),\"required\":\($0.required),\"doc\":\(s($0.doc))}" }.joined(separator: ",") + "]"
        }
        let state = "[" + self.state.map { "{\"name\":\(s($0.name)),\"type\":\(s($0.type.name)),\"doc\":\(s($0.doc))}" }.joined(separator: ",") + "]"
        return "{\"id\":\(s(id)),\"kind\":\(s(kind.rawValue)),\"family\":\(s(family)),\"summary\":\(s(summary)),"
            + "\"formula\":\(s(formula)),\"reference\":\(s(reference)),\"confidence\":\(s(confidence)),"
            + "\"notes\":\(s(notes)),\"params\":[\(params.joined(separator: ","))],\"data\":\(inputs(data)),"
            + "\"inputs\":\(inputs(self.inputs)),\"state\":\(state),\"target\":\(s(target)),"
            + "\"has_prox\":\(hasProx),\"has_vjp\":\(hasVJP),\"origin\":\(s(origin))}"
    }

    /// One section of docs/catalogue.md.
    public var markdown: String {
        var out = "### `\(id)`\n\n\(summary)\n\n"
        out += "- kind: \(kind.rawValue) · family: \(family) · confidence: \(confidence)"
        if kind == .penalty { out += " · prox: \(hasProx ? "yes" : "no")" }
        if kind == .map || kind == .activation { out += " · VJP: \(hasVJP ? "yes" : "no")" }
        out += "\n- formula: `\(formula)`\n- reference: \(reference)\n"
        if !params.isEmpty {
            out += "- parameters: " + params.map { p in
                "`\(p.name)` = \(p.defaultValue?.description ?? "unset") (\(p.type.name)\(rangeText(p.type)))"
            }.joined(separator: ", ") + "\n"
        }
        if !data.isEmpty { out += "- data: " + data.map { "`\($0.name)`\($0.required ? "" : " (optional)"): \($0.doc)" }.joined(separator: "; ") + "\n" }
        if !inputs.isEmpty { out += "- inputs: " + inputs.map { "`\($0.name)`\($0.required ? "" : " (optional)"): \($0.doc)" }.joined(separator: "; ") + "\n" }
        if !state.isEmpty { out += "- state: " + state.map { "`\($0.name)`" }.joined(separator: ", ") + "\n" }
        if !notes.isEmpty { out += "- decisions: \(notes)\n" }
        return out + "\n"
    }
}

func rangeText(_ t: ParamType) -> String {
    switch t {
    case .real(let lo, let hi, let lo_, let hi_):
        if !lo.isFinite && !hi.isFinite { return "" }
        return ", " + (lo.isFinite ? (lo_ ? "(" : "[") + formatNumber(lo) : "(-inf") + ", "
            + (hi.isFinite ? formatNumber(hi) + (hi_ ? ")" : "]") : "inf)")
    case .int(let lo, let hi):
        if lo == .min && hi == .max { return "" }
        return ", [" + (lo == .min ? "-inf" : String(lo)) + ", " + (hi == .max ? "inf" : String(hi)) + "]"
    case .choice(let c): return ": " + c.joined(separator: " | ")
    case .bool, .text: return ""
    }
}

/// A JSON string literal.
public func jsonString(_ s: String) -> String {
    var out = "\""
    for u in s.unicodeScalars {
        switch u {
        case "\"": out += "\\\""
        case "\\": out += "\\\\"
        case "\n": out += "\\n"
        case "\r": out += "\\r"
        case "\t": out += "\\t"
        default:
            if u.value < 0x20 {
                let hex = String(u.value, radix: 16)
                out += "\\u" + String(repeating: "0", count: 4 - hex.count) + hex
            } else { out.unicodeScalars.append(u) }
        }
    }
    return out + "\""
}

extension Registry {
    /// docs/catalogue.md: every registered component, grouped by kind and family.
    public func markdownCatalogue() -> String {
        var out = "# Regula component catalogue\n\n"
        out += "Generated from the registry by `regula describe --all --markdown`; do not edit by hand.\n\n"
        let all = ids().compactMap { try? info($0) }
        out += "| kind | count |\n|---|---|\n"
        for k in Kind.allCases { let n = all.filter { $0.kind == k }.count; if n > 0 { out += "| \(k.rawValue) | \(n) |\n" } }
        out += "\n"
        for k in Kind.allCases {
            let ofKind = all.filter { $0.kind == k }
            if ofKind.isEmpty { continue }
            out += "## \(k.rawValue)\n\n"
            for info in ofKind.sorted(by: { ($0.family, $0.id) < ($1.family, $1.id) }) { out += info.markdown }
        }
        return out
    }
}
