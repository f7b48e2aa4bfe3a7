// Regula — the library version.

public enum RegulaInfo {
    public static let version = "0.1.0"
}
