/// The outcome of one attempt to parse a message head.
public enum HeadResult: Equatable, Sendable {
    /// The head is complete; the `RequestHead`/`ResponseHead` passed in is filled.
    case complete
    /// The bytes so far are a valid prefix; call again with more bytes (from the same start).
    /// The head passed in holds partial, unspecified contents.
    case needMore
    /// The bytes can never become a valid head.
    case error(ParseError)
}
