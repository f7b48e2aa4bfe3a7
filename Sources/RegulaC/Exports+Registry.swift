// Regula C ABI — version, registry and errors.

#if canImport(Glibc)
import Glibc
#endif
import CRegulaABI
import Regula
import RegulaEngine

let versionString: UnsafeMutablePointer<CChar> = strdup(RegulaInfo.version)!

@_cdecl("rg_version")
public func rg_version() -> UnsafePointer<CChar> { ensureGlobals(); return UnsafePointer(versionString) }

@_cdecl("rg_abi_version")
public func rg_abi_version() -> Int32 { REGULA_ABI_VERSION }

@_cdecl("rg_last_error")
public func rg_last_error() -> UnsafePointer<CChar> { ensureGlobals(); return currentError() }

/// Component ids as C strings that live for the process (ids are never removed).
final class IdStrings: @unchecked Sendable {
    static let shared = IdStrings()
    private let mutex = Mutex()
    private var strings: [String: UnsafeMutablePointer<CChar>] = [:]
    func get(_ id: String) -> UnsafePointer<CChar> {
        mutex.locked {
            if let p = strings[id] { return UnsafePointer(p) }
            let p = strdup(id)!
            strings[id] = p
            return UnsafePointer(p)
        }
    }
}

@_cdecl("rg_component_count")
public func rg_component_count(_ count: UnsafeMutablePointer<Int64>?) -> rg_status {
    guarded {
        guard let count else { throw nullError("count") }
        count.pointee = Int64(Registry.shared.ids().count)
    }
}

@_cdecl("rg_component_id")
public func rg_component_id(_ index: Int64, _ id: UnsafeMutablePointer<UnsafePointer<CChar>?>?) -> rg_status {
    guarded {
        guard let id else { throw nullError("id") }
        let ids = Registry.shared.ids()
        guard index >= 0, index < Int64(ids.count) else {
            throw RegulaError.invalidArgument("index \(index) is out of range [0, \(ids.count))")
        }
        id.pointee = IdStrings.shared.get(ids[Int(index)])
    }
}

/// Creates the thread-local key of rg_describe (called once, see `createGlobals`).
func warmDescribe() { _ = describeKey }

private let describeKey: pthread_key_t = {
    var key = pthread_key_t()
    pthread_key_create(&key) { free($0) }
    return key
}()

@_cdecl("rg_describe")
public func rg_describe(_ id: UnsafePointer<CChar>?, _ json: UnsafeMutablePointer<UnsafePointer<CChar>?>?) -> rg_status {
    guarded {
        let name = try string(id, "id")
        guard let json else { throw nullError("json") }
        let text = try Registry.shared.info(name).json
        let old = pthread_getspecific(describeKey)
        let p = strdup(text)
        pthread_setspecific(describeKey, p)
        free(old)
        json.pointee = UnsafePointer(p)
    }
}

@_cdecl("rg_plugin_load")
public func rg_plugin_load(_ path: UnsafePointer<CChar>?) -> rg_status {
    guarded { try PluginLoader.load(try string(path, "path")) }
}

@_cdecl("rg_plugin_register")
public func rg_plugin_register(_ d: UnsafePointer<rg_plugin_descriptor>?) -> rg_status {
    guarded {
        guard let d else { throw nullError("descriptor") }
        _ = try PluginLoader.register(d, origin: "in-memory descriptor")
    }
}
