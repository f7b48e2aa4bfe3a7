// Regula — typed parameters: the schema a component declares and the validated values it gets.

/// A parameter value after parsing.
public enum ParamValue: Sendable, Equatable, CustomStringConvertible {
    case real(Double)
    case int(Int)
    case bool(Bool)
    case string(String)

    public var description: String {
        switch self {
        case .real(let v): formatNumber(v)
        case .int(let v): String(v)
        case .bool(let v): v ? "true" : "false"
        case .string(let v): v
        }
    }
}

/// The type and domain of one parameter.
public enum ParamType: Sendable, Equatable {
    case real(min: Double = -.infinity, max: Double = .infinity, minOpen: Bool = false, maxOpen: Bool = false)
    case int(min: Int = .min, max: Int = .max)
    case bool
    case choice([String])
    /// Free text (e.g. the id of a wrapped component); validated by the component itself.
    case text

    public var name: String {
        switch self {
        case .real: "real"
        case .int: "int"
        case .bool: "bool"
        case .choice: "choice"
        case .text: "text"
        }
    }
}

/// One parameter in a component's schema.
public struct ParamSpec: Sendable {
    public let name: String
    public let type: ParamType
    /// nil: the parameter is optional and absent by default (e.g. a schedule's end point).
    public let defaultValue: ParamValue?
    public let doc: String

    public init(_ name: String, _ type: ParamType, default d: ParamValue?, _ doc: String = "") {
        self.name = name; self.type = type; self.defaultValue = d; self.doc = doc
    }

    /// A real parameter with an inclusive (or open) range.
    public static func real(_ name: String, _ d: Double?, min: Double = -.infinity, max: Double = .infinity,
                            minOpen: Bool = false, maxOpen: Bool = false, _ doc: String = "") -> ParamSpec {
        ParamSpec(name, .real(min: min, max: max, minOpen: minOpen, maxOpen: maxOpen),
                  default: d.map { .real($0) }, doc)
    }
    public static func int(_ name: String, _ d: Int?, min: Int = .min, max: Int = .max, _ doc: String = "") -> ParamSpec {
        ParamSpec(name, .int(min: min, max: max), default: d.map { .int($0) }, doc)
    }
    public static func bool(_ name: String, _ d: Bool, _ doc: String = "") -> ParamSpec {
        ParamSpec(name, .bool, default: .bool(d), doc)
    }
    public static func choice(_ name: String, _ choices: [String], _ doc: String = "") -> ParamSpec {
        ParamSpec(name, .choice(choices), default: .string(choices[0]), doc)
    }
    /// A free-text parameter (nil default: optional and absent unless given).
    public static func text(_ name: String, _ d: String?, _ doc: String = "") -> ParamSpec {
        ParamSpec(name, .text, default: d.map { .string($0) }, doc)
    }

    /// Checks (and converts) a parsed value against this spec.
    func validate(_ v: ParamValue) throws -> ParamValue {
        func bad(_ reason: String) -> RegulaError { .invalidParameter(name: name, value: v.description, reason: reason) }
        switch (type, v) {
        case (.real(let lo, let hi, let lo_, let hi_), _):
            let x: Double
            switch v {
            case .real(let d): x = d
            case .int(let i): x = Double(i)
            default: throw bad("expected a real number")
            }
            guard x.isFinite else { throw bad("must be finite") }
            if x < lo || (lo_ && x == lo) {
                throw bad("must be \(lo_ ? ">" : ">=") \(formatNumber(lo))")
            }
            if x > hi || (hi_ && x == hi) {
                throw bad("must be \(hi_ ? "<" : "<=") \(formatNumber(hi))")
            }
            return .real(x)
        case (.int(let lo, let hi), .int(let i)):
            guard i >= lo else { throw bad("must be >= \(lo)") }
            guard i <= hi else { throw bad("must be <= \(hi)") }
            return .int(i)
        case (.int, .real(let d)):
            guard d.isFinite, d == d.rounded(), abs(d) < 9e15 else { throw bad("expected an integer") }
            return try validate(.int(Int(d)))
        case (.bool, .bool): return v
        case (.bool, .int(let i)) where i == 0 || i == 1: return .bool(i == 1)
        case (.choice(let options), .string(let s)):
            guard options.contains(s) else { throw bad("must be one of \(options.joined(separator: ", "))") }
            return v
        case (.text, .string): return v
        case (.choice(let options), .int(let i)) where options.contains(String(i)):
            return .string(String(i))  // numeric choice names such as power=0 parse as integers
        default:
            throw bad("expected \(type.name)")
        }
    }
}

/// Validated parameters of one component instance: every schema entry has a value (or is an
/// absent optional), and fixed data arrays are owned copies.
public struct Params: Sendable {
    public let component: String
    var values: [String: ParamValue]
    var data: [String: InputArray]

    init(component: String, values: [String: ParamValue], data: [String: InputArray]) {
        self.component = component; self.values = values; self.data = data
    }

    func missing(_ name: String) -> RegulaError {
        .internal("'\(component)' read undeclared parameter '\(name)'")
    }

    public func real(_ name: String) throws -> Double {
        switch values[name] {
        case .real(let v): return v
        case .int(let v): return Double(v)
        default: throw missing(name)
        }
    }
    public func optionalReal(_ name: String) -> Double? {
        if case .real(let v) = values[name] { return v }
        return nil
    }
    public func int(_ name: String) throws -> Int {
        guard case .int(let v) = values[name] else { throw missing(name) }
        return v
    }
    public func optionalInt(_ name: String) -> Int? {
        if case .int(let v) = values[name] { return v }
        return nil
    }
    public func bool(_ name: String) throws -> Bool {
        guard case .bool(let v) = values[name] else { throw missing(name) }
        return v
    }
    public func string(_ name: String) throws -> String {
        guard case .string(let v) = values[name] else { throw missing(name) }
        return v
    }
    /// A choice parameter decoded into an enum whose raw values are the choices.
    public func choice<E: RawRepresentable>(_ name: String, as: E.Type = E.self) throws -> E where E.RawValue == String {
        guard let e = E(rawValue: try string(name)) else { throw missing(name) }
        return e
    }
    /// Fixed data (a constructor array such as a matrix C), nil when not given.
    public func array(_ name: String) -> InputArray? { data[name] }

    /// All values, for describe and round trips.
    public var all: [String: ParamValue] { values }
}

/// Shortest round-trip text of a Double without Foundation ("0.1", "1e-05", "inf").
public func formatNumber(_ x: Double) -> String {
    if x == x.rounded(), abs(x) < 1e15 { return String(Int(x)) }
    return "\(x)"
}

// MARK: Parsing "name=value,name=value" (the only place parameters arrive as text)

enum ParamParser {
    /// Splits and parses a parameter string. Values: numbers, true/false, or bare words.
    static func parse(_ text: String) throws -> [(String, ParamValue)] {
        var out: [(String, ParamValue)] = []
        for rawItem in text.split(separator: ",", omittingEmptySubsequences: false) {
            let item = rawItem.trimmingSpaces()
            if item.isEmpty {
                if text.trimmingSpaces().isEmpty { continue }
                throw RegulaError.invalidArgument("parameter string '\(text)' has an empty item")
            }
            guard let eq = item.firstIndex(of: "=") else {
                throw RegulaError.invalidArgument("parameter '\(item)' has no '=' (expected name=value)")
            }
            let name = String(item[..<eq]).trimmingSpaces()
            let valueText = String(item[item.index(after: eq)...]).trimmingSpaces()
            guard !name.isEmpty, name.allSatisfy({ $0.isLetter || $0.isNumber || $0 == "_" }) else {
                throw RegulaError.invalidArgument("bad parameter name '\(name)'")
            }
            guard !valueText.isEmpty else {
                throw RegulaError.invalidParameter(name: name, value: "", reason: "empty value")
            }
            if out.contains(where: { $0.0 == name }) {
                throw RegulaError.invalidArgument("parameter '\(name)' is given twice")
            }
            out.append((name, parseValue(valueText)))
        }
        return out
    }

    static func parseValue(_ s: String) -> ParamValue {
        switch s.lowercased() {
        case "true": return .bool(true)
        case "false": return .bool(false)
        default: break
        }
        if let i = Int(s) { return .int(i) }
        if let d = Double(s) { return .real(d) }
        return .string(s)
    }
}

extension StringProtocol {
    func trimmingSpaces() -> String {
        var s = Substring(self)
        while let f = s.first, f == " " || f == "\t" || f == "\n" { s.removeFirst() }
        while let l = s.last, l == " " || l == "\t" || l == "\n" { s.removeLast() }
        return String(s)
    }
}
