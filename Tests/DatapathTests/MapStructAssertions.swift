import XCTest

/// Checks one C map struct's equality and hash: `base` stays equal (same hash) under each change
/// in `ignored` (padding, reserved bytes) and becomes different under each change in `counted`
/// (every field the map compares).
func assertMapStruct<T: Hashable>(
    _ base: T, ignored: [(inout T) -> Void] = [], counted: [(inout T) -> Void], file: StaticString = #filePath,
    line: UInt = #line
) {
    for (i, change) in ignored.enumerated() {
        var other = base
        change(&other)
        XCTAssertEqual(base, other, "ignored change \(i)", file: file, line: line)
        XCTAssertEqual(base.hashValue, other.hashValue, "ignored change \(i)", file: file, line: line)
    }
    for (i, change) in counted.enumerated() {
        var other = base
        change(&other)
        XCTAssertNotEqual(base, other, "counted change \(i)", file: file, line: line)
    }
    XCTAssertEqual(Set([base, base]).count, 1)
}
