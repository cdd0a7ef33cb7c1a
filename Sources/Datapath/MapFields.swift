/// The meaningful fields of a C map key or value (`bpf/include/sluice_maps.h`), widened to 64
/// bits: the one equality and hash of every map struct. Swift synthesizes neither for an imported
/// C struct, and padding must never count, so each struct names its fields once
/// (`mapFields`) and `MapStruct` does the rest.
public struct MapFields: Hashable, Sendable {
    let fields: (UInt64, UInt64, UInt64, UInt64, UInt64)

    /// Up to five integer fields, in declaration order.
    @inline(__always)
    init(
        _ a: some FixedWidthInteger, _ b: some FixedWidthInteger = 0 as UInt8, _ c: some FixedWidthInteger = 0 as UInt8,
        _ d: some FixedWidthInteger = 0 as UInt8, _ e: some FixedWidthInteger = 0 as UInt8
    ) {
        fields = (UInt64(a), UInt64(b), UInt64(c), UInt64(d), UInt64(e))
    }

    public static func == (lhs: MapFields, rhs: MapFields) -> Bool { lhs.fields == rhs.fields }

    public func hash(into hasher: inout Hasher) {
        hasher.combine(fields.0)
        hasher.combine(fields.1)
        hasher.combine(fields.2)
        hasher.combine(fields.3)
        hasher.combine(fields.4)
    }
}

/// A C map struct compared and hashed by its `mapFields` (padding ignored).
public protocol MapStruct: Hashable {
    var mapFields: MapFields { get }
}

extension MapStruct {
    public static func == (lhs: Self, rhs: Self) -> Bool { lhs.mapFields == rhs.mapFields }
    public func hash(into hasher: inout Hasher) { hasher.combine(mapFields) }
}
