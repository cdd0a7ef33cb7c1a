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
