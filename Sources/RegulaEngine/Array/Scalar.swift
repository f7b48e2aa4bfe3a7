// Regula engine — element types: float32 and float64, computed through Double.

/// The floating-point element types Regula stores: `Float` and `Double`.
/// Kernels load a `Scalar`, compute and accumulate in `Double`, and store back.
public protocol Scalar: BinaryFloatingPoint, SIMDScalar, Sendable {
    static var dtype: DType { get }
    @inlinable var double: Double { get }
    @inlinable init(_ d: Double)
}

extension Float: Scalar {
    public static var dtype: DType { .float32 }
    @inlinable public var double: Double { Double(self) }
}

extension Double: Scalar {
    public static var dtype: DType { .float64 }
    @inlinable public var double: Double { self }
}

/// Element type tags (values match the C ABI's RG_FLOAT32 ... RG_INT64).
public enum DType: Int32, Sendable, CustomStringConvertible {
    case float32 = 0, float64 = 1, int32 = 2, int64 = 3

    public var description: String {
        switch self {
        case .float32: "float32"
        case .float64: "float64"
        case .int32: "int32"
        case .int64: "int64"
        }
    }
}
