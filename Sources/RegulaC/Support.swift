// Regula C ABI — shared machinery: the thread-local error, status mapping, live handles.
// Every @_cdecl body validates pointers first, runs the Swift work in do/catch, maps errors.

#if canImport(Glibc)
import Glibc
#endif
import CRegulaABI
import Regula
import RegulaEngine

// MARK: Thread-local last error

private let errorKey: pthread_key_t = {
    var key = pthread_key_t()
    pthread_key_create(&key) { free($0) }
    return key
}()
private let emptyMessage: UnsafeMutablePointer<CChar> = strdup("")!

func setError(_ message: String) {
    let old = pthread_getspecific(errorKey)
    pthread_setspecific(errorKey, strdup(message))
    free(old)
}

func currentError() -> UnsafePointer<CChar> {
    if let p = pthread_getspecific(errorKey) { return UnsafePointer(p.assumingMemoryBound(to: CChar.self)) }
    return UnsafePointer(emptyMessage)
}

// MARK: Errors → status codes

func status(for error: Error) -> rg_status {
    if let g = error as? GraphError {
        switch g {
        case .shape: return RG_ERR_SHAPE
        case .feed: return RG_ERR_INVALID_ARGUMENT
        case .value: return RG_ERR_PARAMETER
        case .io: return RG_ERR_IO
        case .unsupported: return RG_ERR_UNSUPPORTED
        }
    }
    guard let e = error as? RegulaError else { return RG_ERR_INTERNAL }
    switch e {
    case .unknownComponent: return RG_ERR_UNKNOWN_ID
    case .unknownParameter: return RG_ERR_UNKNOWN_PARAMETER
    case .invalidParameter: return RG_ERR_PARAMETER
    case .invalidArgument: return RG_ERR_INVALID_ARGUMENT
    case .shape: return RG_ERR_SHAPE
    case .dtype: return RG_ERR_DTYPE
    case .nonFinite: return RG_ERR_NONFINITE
    case .unsupported: return RG_ERR_UNSUPPORTED
    case .plugin: return RG_ERR_PLUGIN
    case .callback: return RG_ERR_CALLBACK
    case .internal: return RG_ERR_INTERNAL
    }
}

/// Errors of the boundary itself that are not component errors.
struct ABIError: Error {
    let status: rg_status
    let message: String
}

// MARK: First use

/// The library's lazily created globals, created once under glibc's pthread_once before any
/// entry point runs. Swift's own `swift_once` on Linux locks a PI futex keyed by a thread id it
/// caches per thread (swiftlang/swift include/swift/Threading/Impl/Linux/ulock.h); in a child
/// made by fork() the main thread keeps its parent's id, and two threads of the child racing to
/// create the same global could hang for good (seen in hostile_test's thread cases). glibc's
/// pthread_once is fork-aware, so racing first calls wait there and swift_once runs uncontended.
nonisolated(unsafe) private var firstUse = pthread_once_t()
private func createGlobals() {
    _ = Registry.shared
    _ = Handles.shared
    _ = IdStrings.shared
    _ = errorKey
    _ = emptyMessage
    _ = versionString
    warmDescribe()
    _ = Parallel.workers
    _ = ScratchPool.shared
    BLAS.sleepWhenIdle()  // before the library's first BLAS call
}

func ensureGlobals() { pthread_once(&firstUse, createGlobals) }

/// Runs an entry point body: any thrown error becomes a status and rg_last_error's message.
@inline(__always)
func guarded(_ body: () throws -> Void) -> rg_status {
    ensureGlobals()
    do {
        try body()
        return RG_OK
    } catch let e as ABIError {
        setError(e.message); return e.status
    } catch {
        setError("\(error)"); return status(for: error)
    }
}

func nullError(_ what: String) -> ABIError { ABIError(status: RG_ERR_NULL, message: "\(what) is NULL") }

/// A required C string argument, decoded (invalid UTF-8 is repaired, never trusted).
func string(_ p: UnsafePointer<CChar>?, _ what: String) throws -> String {
    guard let p else { throw nullError(what) }
    return String(cString: p)
}

// MARK: Live handles

/// Handles are objects kept alive by this table; a handle is the object's address. A freed,
/// foreign or mistyped pointer is looked up, never dereferenced, and reported as
/// RG_ERR_INVALID_HANDLE.
final class Handles: @unchecked Sendable {
    static let shared = Handles()
    private let mutex = Mutex()
    private var live: [UnsafeMutableRawPointer: AnyObject] = [:]

    func make(_ object: AnyObject) -> UnsafeMutableRawPointer {
        let p = Unmanaged.passUnretained(object).toOpaque()
        mutex.locked { live[p] = object }
        return p
    }

    func get<T: AnyObject>(_ p: UnsafeMutableRawPointer?, as: T.Type, _ what: String) throws -> T {
        guard let p else { throw nullError(what) }
        guard let object = mutex.locked({ live[p] }) as? T else {
            throw ABIError(status: RG_ERR_INVALID_HANDLE, message: "\(what) is not a live \(what) handle")
        }
        return object
    }

    func free<T: AnyObject>(_ p: UnsafeMutableRawPointer?, as: T.Type, _ what: String) throws {
        guard let p else { return }
        let removed: AnyObject? = mutex.locked {
            guard live[p] is T else { return nil }
            return live.removeValue(forKey: p)
        }
        guard removed != nil else {
            throw ABIError(status: RG_ERR_INVALID_HANDLE, message: "\(what) is not a live \(what) handle (double free?)")
        }
    }
}
