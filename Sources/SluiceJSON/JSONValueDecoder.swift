/// A `Decoder` over a value SluiceJSON has already parsed. `JSON.decode` hands one to every
/// `init(from:)`; a type made of many small nested values (the policy node trees of `sluice
/// apply`: 60,000 nodes for 10,000 rules) may convert `jsonValue` itself instead of asking for a
/// container per value, which is where the decoding time went.
public protocol JSONValueDecoder: Decoder {
    /// The value being decoded.
    var jsonValue: JSONValue { get }
}

extension JSONDecoderImpl: JSONValueDecoder {
    var jsonValue: JSONValue { value }
}

/// An `Encoder` that takes a whole value at once: SluiceJSON's encoder is one. A type made of
/// many small nested values may build its `JSONValue` itself instead of asking for a container
/// per value (`JSON.encode` of 10,000 rules' node trees spent most of its time in containers).
public protocol JSONValueEncoder: Encoder {
    /// Makes `value` what this encoder encoded.
    func encode(jsonValue value: JSONValue)
}

extension JSONEncoderImpl: JSONValueEncoder {
    func encode(jsonValue value: JSONValue) { root = .value(value) }
}
