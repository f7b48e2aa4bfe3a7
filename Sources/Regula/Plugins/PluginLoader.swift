// Regula — loading plugins (dlopen) and wrapping their C component tables as components.

#if canImport(Glibc)
import Glibc
#endif
import CRegulaABI
import RegulaEngine

public enum PluginLoader {
    nonisolated(unsafe) private static var loaded: Set<String> = []
    private static let mutex = Mutex()
    /// Set (non-NULL) on the thread that holds `mutex`: a plugin whose entry function calls
    /// rg_plugin_load again would otherwise relock a non-recursive mutex and hang the process.
    private static let insideKey: pthread_key_t = {
        var key = pthread_key_t()
        pthread_key_create(&key, nil)
        return key
    }()

    /// Loads a plugin library and registers its components (all or nothing). Never unloads.
    /// Returns the ids it registered (empty when the same file was loaded before).
    /// A load started from inside another plugin's entry function is refused (no deadlock).
    @discardableResult
    public static func load(_ path: String, into registry: Registry = .shared) throws -> [String] {
        guard pthread_getspecific(insideKey) == nil else {
            throw RegulaError.plugin("cannot load '\(path)' from inside another plugin's regula_plugin_entry (plugins may not load plugins)")
        }
        return try mutex.locked {
            pthread_setspecific(insideKey, UnsafeRawPointer(bitPattern: 1))
            defer { pthread_setspecific(insideKey, nil) }
            return try loadLocked(path, into: registry)
        }
    }

    private static func loadLocked(_ path: String, into registry: Registry) throws -> [String] {
        var resolved = [CChar](repeating: 0, count: Int(PATH_MAX) + 1)
        guard realpath(path, &resolved) != nil else {
            throw RegulaError.plugin("cannot load '\(path)': no such file")
        }
        let key = String(decoding: resolved.prefix(while: { $0 != 0 }).map { UInt8(bitPattern: $0) }, as: UTF8.self)
        if loaded.contains(key) { return [] }
        guard let handle = dlopen(key, RTLD_NOW | RTLD_LOCAL) else {
            throw RegulaError.plugin("cannot load '\(path)': \(dlerror().map { String(cString: $0) } ?? "dlopen failed")")
        }
        // Never dlclose: the library may hold Swift metadata or state that outlives this call.
        guard let sym = dlsym(handle, "regula_plugin_entry") else {
            throw RegulaError.plugin("'\(path)' does not export regula_plugin_entry")
        }
        let entry = unsafeBitCast(sym, to: rg_plugin_entry_fn.self)
        guard let descriptor = entry() else {
            throw RegulaError.plugin("'\(path)': regula_plugin_entry returned NULL")
        }
        let ids = try register(descriptor, origin: key, into: registry)
        loaded.insert(key)
        return ids
    }

    /// Validates an in-memory descriptor and registers its components (all or nothing).
    public static func register(_ d: UnsafePointer<rg_plugin_descriptor>, origin: String,
                                into registry: Registry = .shared) throws -> [String] {
        let desc = d.pointee
        guard desc.struct_size == UInt32(MemoryLayout<rg_plugin_descriptor>.size) else {
            throw RegulaError.plugin("\(origin): descriptor struct_size \(desc.struct_size), expected \(MemoryLayout<rg_plugin_descriptor>.size) (rebuild against this regula_plugin.h)")
        }
        guard desc.abi_version == RG_PLUGIN_ABI_VERSION else {
            throw RegulaError.plugin("\(origin): plugin ABI version \(desc.abi_version), this Regula speaks \(RG_PLUGIN_ABI_VERSION)")
        }
        let name = desc.name.map { String(cString: $0) } ?? "unnamed"
        guard desc.n_components >= 0, desc.n_components <= 10_000 else {
            throw RegulaError.plugin("\(origin): n_components \(desc.n_components) is out of range")
        }
        guard desc.n_components == 0 || desc.components != nil else {
            throw RegulaError.plugin("\(origin): components is NULL")
        }
        var entries: [Entry] = []
        for i in 0..<Int(desc.n_components) {
            entries.append(try entryFor(desc.components! + i, plugin: name, origin: origin))
        }
        try registry.register(entries)
        return entries.map(\.info.id)
    }

    static func entryFor(_ t: UnsafePointer<rg_component_table>, plugin: String, origin: String) throws -> Entry {
        let table = t.pointee
        guard table.struct_size == UInt32(MemoryLayout<rg_component_table>.size) else {
            throw RegulaError.plugin("\(origin): component table struct_size \(table.struct_size), expected \(MemoryLayout<rg_component_table>.size)")
        }
        guard let idp = table.id else { throw RegulaError.plugin("\(origin): a component has no id") }
        let id = String(cString: idp)
        try Registry.validateId(id)
        func need(_ ok: Bool, _ what: String) throws {
            if !ok { throw RegulaError.plugin("\(origin): component '\(id)' has no \(what) function") }
        }
        try need(table.create != nil, "create"); try need(table.destroy != nil, "destroy")
        try need(table.eval != nil, "eval")
        guard let kind: Kind = [RG_KIND_PENALTY: .penalty, RG_KIND_LOSS: .loss, RG_KIND_MAP: .map][table.kind] else {
            throw RegulaError.plugin("\(origin): component '\(id)' has unknown kind \(table.kind)")
        }
        guard table.n_params >= 0, table.n_params <= 256, table.n_params == 0 || table.params != nil else {
            throw RegulaError.plugin("\(origin): component '\(id)' has a bad parameter list")
        }
        var specs: [ParamSpec] = []
        for k in 0..<Int(table.n_params) {
            let s = table.params![k]
            guard let np = s.name else { throw RegulaError.plugin("\(origin): '\(id)' parameter \(k) has no name") }
            let pname = String(cString: np)
            let doc = s.doc.map { String(cString: $0) } ?? ""
            guard !pname.isEmpty, pname != "strength", pname != "reduction" else {
                throw RegulaError.plugin("\(origin): '\(id)' may not declare parameter '\(pname)'")
            }
            guard !s.min_value.isNaN, !s.max_value.isNaN, s.min_value <= s.max_value,
                  s.default_value >= s.min_value, s.default_value <= s.max_value else {
                throw RegulaError.plugin("\(origin): '\(id)' parameter '\(pname)' has an inconsistent range or default")
            }
            switch s.type {
            case RG_PARAM_REAL: specs.append(.real(pname, s.default_value, min: s.min_value, max: s.max_value, doc))
            case RG_PARAM_INT:
                guard s.default_value == s.default_value.rounded() else {
                    throw RegulaError.plugin("\(origin): '\(id)' integer parameter '\(pname)' has a fractional default")
                }
                // Int(Double) traps outside Int's range (found by fuzz_descriptor): the default
                // must be an exact integer (|x| <= 2^53) and finite bounds as well.
                let exact = 9007199254740992.0
                func representable(_ x: Double) -> Bool { x.isFinite && abs(x) <= exact }
                guard representable(s.default_value),
                      !s.min_value.isFinite || representable(s.min_value),
                      !s.max_value.isFinite || representable(s.max_value) else {
                    throw RegulaError.plugin("\(origin): '\(id)' integer parameter '\(pname)' has a default or bound beyond ±2^53")
                }
                specs.append(.int(pname, Int(s.default_value),
                                  min: s.min_value.isFinite ? Int(s.min_value) : .min,
                                  max: s.max_value.isFinite ? Int(s.max_value) : .max, doc))
            case RG_PARAM_BOOL: specs.append(.bool(pname, s.default_value != 0, doc))
            default: throw RegulaError.plugin("\(origin): '\(id)' parameter '\(pname)' has unknown type \(s.type)")
            }
        }
        let summary = table.summary.map { String(cString: $0) } ?? "plugin component"
        let formula = table.formula.map { String(cString: $0) } ?? ""
        let reference = table.reference.map { String(cString: $0) } ?? ""
        let schema = specs, ref = TablePointer(table: t)
        let make: @Sendable (Params) throws -> PluginComponent = { p in
            var values: [Double] = []
            for s in schema {
                switch p.all[s.name] {
                case .real(let v)?: values.append(v)
                case .int(let v)?: values.append(Double(v))
                case .bool(let v)?: values.append(v ? 1 : 0)
                default: values.append(0)
                }
            }
            return try PluginComponent(table: ref.table, id: id, params: values)
        }
        switch kind {
        case .penalty:
            var e = Entry.penalty(id, family: "plugin:\(plugin)", summary: summary, formula: formula,
                                  reference: reference, confidence: "plugin", strength: 1, params: specs,
                                  prox: table.prox != nil) { try make($0) }
            e.info.origin = origin
            return e
        case .loss:
            var e = Entry.loss(id, family: "plugin:\(plugin)", summary: summary, formula: formula,
                               reference: reference, confidence: "plugin", params: specs) { try make($0) }
            e.info.origin = origin
            return e
        default:
            var e = Entry.map(id, family: "plugin:\(plugin)", summary: summary, formula: formula,
                              reference: reference, confidence: "plugin", params: specs,
                              vjp: table.vjp != nil) { try make($0) }
            e.info.origin = origin
            return e
        }
    }

    /// Loads every `*.so` in the directories of REGULA_PLUGIN_PATH (':'-separated).
    /// Returns the messages of the plugins that failed; the others stay registered.
    static func loadPluginPath(into registry: Registry) -> [String] {
        guard let raw = getenv("REGULA_PLUGIN_PATH") else { return [] }
        var errors: [String] = []
        for dir in String(cString: raw).split(separator: ":") where !dir.isEmpty {
            guard let d = opendir(String(dir)) else { errors.append("REGULA_PLUGIN_PATH: cannot open '\(dir)'"); continue }
            var names: [String] = []
            while let ent = readdir(d) {
                let name = withUnsafeBytes(of: ent.pointee.d_name) { raw in
                    String(decoding: raw.prefix(while: { $0 != 0 }), as: UTF8.self)
                }
                if name.hasSuffix(".so") { names.append(name) }
            }
            closedir(d)
            for name in names.sorted() {
                do { try load("\(dir)/\(name)", into: registry) } catch { errors.append("\(error)") }
            }
        }
        return errors
    }
}

/// A plugin's component table: static storage that is never unloaded, so safe to share.
struct TablePointer: @unchecked Sendable { let table: UnsafePointer<rg_component_table> }

/// One plugin component instance: owns the plugin's state object, converts arrays to float64.
final class PluginComponent: ProximalPenalty, Loss, OutputMap, @unchecked Sendable {
    let table: UnsafePointer<rg_component_table>
    let id: String
    let state: UnsafeMutableRawPointer?

    init(table: UnsafePointer<rg_component_table>, id: String, params: [Double]) throws {
        self.table = table; self.id = id
        var s: UnsafeMutableRawPointer? = nil
        let rc = params.withUnsafeBufferPointer { p in
            table.pointee.create(table.pointee.user_data, p.baseAddress, Int32(params.count), &s)
        }
        if rc != 0 { throw RegulaError.callback("plugin component '\(id)' failed in create (status \(rc))") }
        state = s
    }

    deinit { table.pointee.destroy(state) }

    func fail(_ what: String, _ rc: Int32) -> RegulaError {
        var msg = "plugin component '\(id)' failed in \(what) (status \(rc))"
        if let em = table.pointee.error_message, let text = em(state) { msg += ": \(String(cString: text))" }
        return .callback(msg)
    }

    func check(_ out: Tensor<Double>, _ what: String) throws {
        if let i = Kernels.firstNonFinite(out.data, count: out.count) {
            throw RegulaError.callback("plugin component '\(id)' returned a non-finite \(what) at index \(i)")
        }
    }

    // MARK: Penalty

    func valueAndGradient(_ w: Tensor<Double>, _ inputs: Inputs, scale: Double, into g: Tensor<Double>) throws -> Double {
        var value = 0.0
        let rc = withArrays(w, g) { x, o in table.pointee.eval(state, x, nil, &value, o) }
        if rc != 0 { throw fail("eval", rc) }
        guard value.isFinite else { throw RegulaError.callback("plugin component '\(id)' returned a non-finite value") }
        try check(g, "gradient")
        if scale != 1 { for i in 0..<g.count { g[i] *= scale } }
        return scale * value
    }

    func prox(_ v: Tensor<Double>, t: Double, _ inputs: Inputs, into out: Tensor<Double>) throws {
        guard let prox = table.pointee.prox else { throw RegulaError.unsupported("'\(id)' has no prox") }
        let rc = withArrays(v, out) { x, o in prox(state, x, t, o) }
        if rc != 0 { throw fail("prox", rc) }
        try check(out, "prox")
    }

    // MARK: Loss (the plugin returns the sum; Regula reduces)

    func evaluate(_ z: Tensor<Double>, target: InputArray?, _ inputs: Inputs, reduction: Reduction,
                  perSample: UnsafeMutableBufferPointer<Double>, into g: Tensor<Double>) throws -> Double {
        let (rows, classes) = z.lastAxis
        let t = try rowTargets(rows: rows, classes: classes, target: target)
        var tv = t.labels.map { $0.map(Double.init) } ?? t.reals ?? []
        let tshape: [Int64] = t.labels != nil ? [Int64(rows)] : [Int64(rows), Int64(classes)]
        var value = 0.0
        let rc = tv.withUnsafeMutableBufferPointer { tb in
            tshape.withUnsafeBufferPointer { ts in
                var ta = rg_array(data: UnsafeMutableRawPointer(tb.baseAddress), dtype: RG_FLOAT64,
                                  ndim: Int32(tshape.count), shape: ts.baseAddress, strides: nil)
                return withArrays(z, g) { x, o in table.pointee.eval(state, x, &ta, &value, o) }
            }
        }
        if rc != 0 { throw fail("eval", rc) }
        guard value.isFinite else { throw RegulaError.callback("plugin component '\(id)' returned a non-finite loss") }
        try check(g, "gradient")
        // Per-sample values are not part of the plugin ABI: report the mean share per row.
        for i in 0..<rows { perSample[i] = value / Double(rows) }
        guard reduction == .mean else { return value }
        guard rows > 0 else { throw RegulaError.invalidArgument("mean over an empty batch") }
        for i in 0..<g.count { g[i] /= Double(rows) }
        return value / Double(rows)
    }

    // MARK: Map

    func forward(_ x: Tensor<Double>, _ inputs: Inputs, into y: Tensor<Double>) throws {
        let rc = withArrays(x, y) { a, o in table.pointee.eval(state, a, nil, nil, o) }
        if rc != 0 { throw fail("eval", rc) }
        try check(y, "output")
    }

    func vjp(_ x: Tensor<Double>, cotangent: Tensor<Double>, _ inputs: Inputs, into gx: Tensor<Double>) throws {
        guard let vjp = table.pointee.vjp else { throw RegulaError.unsupported("'\(id)' has no VJP") }
        let rc = withArrays(x, gx) { a, o in
            withArray(cotangent) { c in vjp(state, a, c, o) }
        }
        if rc != 0 { throw fail("vjp", rc) }
        try check(gx, "VJP")
    }
}

/// rg_array views of contiguous float64 tensors for a call into C.
func withArray<R>(_ t: Tensor<Double>, _ body: (UnsafePointer<rg_array>) -> R) -> R {
    let shape = t.shape.map(Int64.init)
    return shape.withUnsafeBufferPointer { s in
        var a = rg_array(data: UnsafeMutableRawPointer(t.data), dtype: RG_FLOAT64, ndim: Int32(shape.count),
                         shape: s.baseAddress, strides: nil)
        return body(&a)
    }
}

func withArrays<R>(_ x: Tensor<Double>, _ out: Tensor<Double>,
                   _ body: (UnsafePointer<rg_array>, UnsafeMutablePointer<rg_array>) -> R) -> R {
    withArray(x) { xa in
        let shape = out.shape.map(Int64.init)
        return shape.withUnsafeBufferPointer { s in
            var o = rg_array(data: UnsafeMutableRawPointer(out.data), dtype: RG_FLOAT64, ndim: Int32(shape.count),
                             shape: s.baseAddress, strides: nil)
            return body(xa, &o)
        }
    }
}
