// Regula — the one error type of the components layer; the C ABI maps each case to a status.

public enum RegulaError: Error, Sendable, CustomStringConvertible, Equatable {
    case unknownComponent(String)
    case unknownParameter(component: String, name: String, known: [String])
    case invalidParameter(name: String, value: String, reason: String)
    case invalidArgument(String)
    case shape(String)
    case dtype(String)
    case nonFinite(what: String, index: Int)
    case unsupported(String)
    case plugin(String)
    case callback(String)
    case `internal`(String)

    public var description: String {
        switch self {
        case .unknownComponent(let id): "unknown component '\(id)'"
        case .unknownParameter(let c, let n, let known):
            "'\(c)' has no parameter or input '\(n)'" + (known.isEmpty ? " (it takes none)"
                : " (it takes: \(known.joined(separator: ", ")))")
        case .invalidParameter(let n, let v, let r): "parameter '\(n)' = \(v): \(r)"
        case .invalidArgument(let m): m
        case .shape(let m): "shape: \(m)"
        case .dtype(let m): "dtype: \(m)"
        case .nonFinite(let what, let i): "\(what) has a non-finite value (NaN or inf) at flat index \(i)"
        case .unsupported(let m): m
        case .plugin(let m): "plugin: \(m)"
        case .callback(let m): "callback: \(m)"
        case .internal(let m): "internal error: \(m)"
        }
    }
}
