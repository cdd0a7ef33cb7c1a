# Issue 19, bodies by splice: bugs the unit tests (and scenario 53) must catch.
# mutation NAME FILE PERL-SUBSTITUTION TEST-FILTER [SCENARIO]

mutation "a splice may take bytes past a Content-Length body's end (HTTP1SpliceEmbeddedTests, MessageFramingTests)" \
  Sources/Proxy/HTTP1/MessageFraming.swift \
  's/case \.length\(let remaining\): return max\(0, remaining\)/case .length: return Int.max/' \
  'HTTP1SpliceEmbeddedTests|MessageFramingTests' 53_bulk

mutation "skipped chunk data is not followed by its CRLF (ChunkedScannerTests, HTTP1SpliceEmbeddedTests)" \
  Sources/HTTP1/ChunkedScanner.swift \
  's/remaining &-= k\n        if remaining == 0 \{ state = \.dataCR \}/remaining &-= k\n        if remaining == 0 { state = .size }/' \
  'ChunkedScannerTests|HTTP1SpliceEmbeddedTests' 53_bulk

mutation "bytes in the pipe are not drained before the response ends (HTTP1SpliceEmbeddedTests)" \
  Sources/Proxy/HTTP1/HTTP1Connection+Response.swift \
  's/if io\.piped > 0 \{ return drainResponsePipe\(\) \}/if false { return drainResponsePipe() }/' \
  'HTTP1SpliceEmbeddedTests' 53_bulk

mutation "a short drain keeps the socket writable (SplicePipeTests)" \
  Sources/SluiceIO/SplicePipe.swift \
  's/case \.progress\(let n\): if n < before \{ writable = false \}/case .progress: break/' \
  'SplicePipeTests' 53_bulk

mutation "a pipe holding bytes goes back to the pool (SplicePipePoolTests)" \
  Sources/Proxy/SplicePipePool.swift \
  's/if pipe\.isEmpty \{\n            idle\.append\(pipe\)/if true {\n            idle.append(pipe)/' \
  'SplicePipePoolTests'

mutation "the client's connection stays open after an until-close body (HTTP1SpliceEmbeddedTests, HTTP1ConnectionTests)" \
  Sources/Proxy/HTTP1/HTTP1Connection+Response.swift \
  's/if !clientKeepAlive \|\| response\.framing == \.untilClose \{/if !clientKeepAlive {/' \
  'HTTP1SpliceEmbeddedTests|testUntilCloseResponseIsRelayedExactly' 53_bulk
