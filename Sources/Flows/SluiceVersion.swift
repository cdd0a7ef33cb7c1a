/// The version `sluice version`, `sluice status` and the flows' `emitter` report.
public enum SluiceVersion {
    /// Semantic version of this source tree.
    public static let current = "0.15.0"
}
