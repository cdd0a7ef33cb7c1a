import CFuzzDriver
import TLSClientHello

/// libFuzzer entry: arbitrary bytes as the first bytes of a connection, through the ClientHello
/// reader. Beyond "never traps": a parsed hello ends inside the input and parses the same from
/// exactly its records; one byte fewer asks for more; a present SNI is non-empty lower-case
/// `[-a-z0-9_.]` without a trailing dot; tight limits give a result too.
@_cdecl("LLVMFuzzerTestOneInput")
public func fuzzTLSClientHello(_ data: UnsafePointer<UInt8>, _ size: Int) -> CInt {
    let bytes = UnsafeRawBufferPointer(start: data, count: size)
    let result = ClientHelloParser.parse(bytes)
    if case .parsed(let hello) = result {
        precondition(hello.recordBytes > 0 && hello.recordBytes <= size, "recordBytes outside the input")
        let exact = UnsafeRawBufferPointer(rebasing: bytes[..<hello.recordBytes])
        precondition(ClientHelloParser.parse(exact) == result, "same hello without the bytes after it")
        let short = UnsafeRawBufferPointer(rebasing: bytes[..<(hello.recordBytes - 1)])
        precondition(ClientHelloParser.parse(short) == .needMore, "one byte short is not needMore")
        if let name = hello.serverName {
            precondition(!name.isEmpty && name.utf8.last != UInt8(ascii: "."), "empty name or trailing dot")
            precondition(name.utf8.allSatisfy { byte in
                (byte >= UInt8(ascii: "a") && byte <= UInt8(ascii: "z")) || (byte >= UInt8(ascii: "0") && byte <= UInt8(ascii: "9"))
                    || byte == UInt8(ascii: "-") || byte == UInt8(ascii: "_") || byte == UInt8(ascii: ".")
            }, "server name outside [-a-z0-9_.]")
        }
    }
    var small = ClientHelloLimits.default
    small.maxHelloLength = 64
    small.maxRecords = 2
    _ = ClientHelloParser.parse(bytes, limits: small)
    return 0
}

/// The executable's entry (see CFuzzDriver.h): libFuzzer's driver with this target's callback.
@_cdecl("FuzzTLSClientHello_main")
public func fuzzTLSClientHelloMain(_ argc: Int32, _ argv: UnsafeMutablePointer<UnsafeMutablePointer<CChar>?>?) -> Int32 {
    var argc = argc
    var argv = argv
    return LLVMFuzzerRunDriver(&argc, &argv) { data, size in
        guard let data else { return 0 }
        return fuzzTLSClientHello(data, size)
    }
}
