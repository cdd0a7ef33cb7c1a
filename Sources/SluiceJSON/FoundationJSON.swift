// The measurement variant of issue 13: the same `JSON` API on FoundationEssentials'
// JSONEncoder/JSONDecoder, compiled only with `-DSLUICE_FOUNDATION_JSON` (`make bench-json`
// builds it into .build-json and compares the agent's peak RSS with the default build).
// docs/performance.md has the figure and the decision.
#if SLUICE_FOUNDATION_JSON
    import FoundationEssentials

    enum FoundationJSON {
        static func encode<T: Encodable>(_ value: T, sortedKeys: Bool, pretty: Bool) throws(JSONError) -> [UInt8] {
            let encoder = JSONEncoder()
            var formatting: JSONEncoder.OutputFormatting = [.withoutEscapingSlashes]
            if sortedKeys { formatting.insert(.sortedKeys) }
            if pretty { formatting.insert(.prettyPrinted) }
            encoder.outputFormatting = formatting
            do {
                return Array(try encoder.encode(value))
            } catch {
                throw jsonError(error, foreign: nil)
            }
        }

        static func decode<T: Decodable>(_ type: T.Type, from bytes: [UInt8]) throws(JSONError) -> T {
            do {
                return try JSONDecoder().decode(type, from: Data(bytes))
            } catch {
                throw jsonError(error, foreign: nil)
            }
        }
    }
#endif
