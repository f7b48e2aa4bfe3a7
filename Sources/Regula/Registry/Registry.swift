// Regula — the thread-safe registry of components: built-ins and plugins share one namespace.

#if canImport(Glibc)
import Glibc
#endif
import RegulaEngine

public final class Registry: @unchecked Sendable {
    /// The process-wide registry: built-ins, then the plugins of REGULA_PLUGIN_PATH.
    public static let shared: Registry = {
        let r = Registry()
        do { try r.register(Registry.builtins) } catch {
            fatalError("built-in registry is inconsistent: \(error)")  // a bug caught by every test
        }
        r.startupErrors = PluginLoader.loadPluginPath(into: r)
        return r
    }()

    private let lock = ReadWriteLock()
    private var entries: [String: Entry] = [:]
    private var sortedIds: [String] = []
    /// Messages of plugins in REGULA_PLUGIN_PATH that failed to load at start-up.
    public private(set) var startupErrors: [String] = []

    public init() {}

    private func read<R>(_ body: () throws -> R) rethrows -> R { try lock.reading(body) }
    private func write<R>(_ body: () throws -> R) rethrows -> R { try lock.writing(body) }

    /// Registers entries all or nothing: an id already present, or twice in `list`, refuses all.
    public func register(_ list: [Entry]) throws {
        try write {
            var seen = Set<String>()
            for e in list {
                try Self.validateId(e.info.id)
                if entries[e.info.id] != nil || !seen.insert(e.info.id).inserted {
                    throw RegulaError.plugin("component id '\(e.info.id)' is already registered")
                }
                var names = Set<String>()
                for p in e.info.params.map(\.name) + e.info.data.map(\.name) + e.info.inputs.map(\.name)
                    where !names.insert(p).inserted {
                    throw RegulaError.plugin("'\(e.info.id)' declares '\(p)' twice")
                }
            }
            for e in list { entries[e.info.id] = e }
            sortedIds = entries.keys.sorted()
        }
    }

    static func validateId(_ id: String) throws {
        guard !id.isEmpty, id.count <= 64,
              id.utf8.allSatisfy({ ($0 >= 97 && $0 <= 122) || ($0 >= 48 && $0 <= 57) || $0 == 95 }),
              let f = id.utf8.first, f >= 97 && f <= 122 else {
            throw RegulaError.plugin("component id '\(id)' must be lowercase snake_case (a-z, 0-9, _), starting with a letter")
        }
    }

    /// Sorted ids, optionally of one kind.
    public func ids(kind: Kind? = nil) -> [String] {
        read { kind == nil ? sortedIds : sortedIds.filter { entries[$0]?.info.kind == kind } }
    }

    public func entry(_ id: String) throws -> Entry {
        guard let e = read({ entries[id] }) else { throw RegulaError.unknownComponent(id) }
        return e
    }

    public func info(_ id: String) throws -> ComponentInfo { try entry(id).info }

    // MARK: Making instances

    /// Validates a parameter string and fixed data against the schema and builds the component.
    public func make(_ id: String, params text: String = "", data: [String: InputArray] = [:]) throws
        -> (Entry, Params, AnyComponent) {
        let e = try entry(id)
        let parsed = try ParamParser.parse(text)
        return try make(e, parsed, data: data)
    }

    public func make(_ e: Entry, _ parsed: [(String, ParamValue)], data: [String: InputArray]) throws
        -> (Entry, Params, AnyComponent) {
        let info = e.info
        var values: [String: ParamValue] = [:]
        for s in info.params { if let d = s.defaultValue { values[s.name] = d } }
        let known = info.params.map(\.name) + info.data.map(\.name)
        for (name, v) in parsed {
            guard let spec = info.params.first(where: { $0.name == name }) else {
                throw RegulaError.unknownParameter(component: info.id, name: name, known: known)
            }
            values[name] = try spec.validate(v)
        }
        for name in data.keys where !info.data.contains(where: { $0.name == name }) {
            throw RegulaError.unknownParameter(component: info.id, name: name, known: known)
        }
        for d in info.data where d.required && data[d.name] == nil {
            throw RegulaError.invalidArgument("'\(info.id)' needs the data array '\(d.name)' (\(d.doc))")
        }
        let params = Params(component: info.id, values: values, data: data)
        return (e, params, try e.make(params))
    }

    public func penalty(_ id: String, _ params: String = "", data: [String: InputArray] = [:]) throws -> PenaltyInstance {
        let (e, p, c) = try make(id, params: params, data: data)
        guard case .penalty(let impl) = c else { throw RegulaError.invalidArgument("'\(id)' is a \(e.info.kind.rawValue), not a penalty") }
        return try PenaltyInstance(info: e.info, params: p, impl: impl)
    }

    public func loss(_ id: String, _ params: String = "", data: [String: InputArray] = [:]) throws -> LossInstance {
        let (e, p, c) = try make(id, params: params, data: data)
        guard case .loss(let impl) = c else { throw RegulaError.invalidArgument("'\(id)' is a \(e.info.kind.rawValue), not a loss") }
        return try LossInstance(info: e.info, params: p, impl: impl)
    }

    public func map(_ id: String, _ params: String = "", data: [String: InputArray] = [:]) throws -> MapInstance {
        let (e, p, c) = try make(id, params: params, data: data)
        guard case .map(let impl) = c else { throw RegulaError.invalidArgument("'\(id)' is a \(e.info.kind.rawValue), not a map") }
        return MapInstance(info: e.info, params: p, impl: impl)
    }
}
