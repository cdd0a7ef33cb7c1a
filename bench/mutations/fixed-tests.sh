# Issue 20: each test that was rewritten because it could not fail, run against the bug it must
# now catch (bench/mutation-check.sh bench/mutations/fixed-tests.sh).
# mutation NAME FILE PERL-SUBSTITUTION TEST-FILTER

mutation "steering cache ignores the destination address (SteeringCacheTests)" \
  Sources/Proxy/SteeringCache.swift \
  's/slot\.source == sourceAddress && slot\.destination == destinationAddress/slot.source == sourceAddress/' \
  'SteeringCacheTests'

mutation "answer gate releases at half the maximum delay (FQDNAnswerGateTests)" \
  Sources/Proxy/FQDNAnswerGate.swift \
  's/let deadline = now \+ maxDelayNs/let deadline = now + maxDelayNs \/ 2/' \
  'FQDNAnswerGateTests'

mutation "answer gate releases at once (FQDNAnswerGateTests)" \
  Sources/Proxy/FQDNAnswerGate.swift \
  's/(        held\[token\] = Held\(deadline: deadline, release: release\)\n)/        release()\n$1/' \
  'FQDNAnswerGateTests'

mutation "timers fire one deadline late (EventLoopTests, every ManualClock test)" \
  Sources/SluiceIO/EventLoop.swift \
  's/while let first = heap\.first, first\.deadline <= now \{/while let first = heap.first, first.deadline < now {/' \
  'EventLoopTests|HTTP1ConnectionErrorTests|HTTP1ConnectionTests|DNSUDPProxyTests|FQDNAnswerGateTests'

mutation "lingering close waits 3 s instead of 2 (HTTP1ConnectionTests)" \
  Sources/Proxy/HTTP1/HTTP1Connection+LocalReply.swift \
  's/arm\(ctx\.loop\.now \+ 2_000_000_000\)/arm(ctx.loop.now + 3_000_000_000)/' \
  'HTTP1ConnectionTests'

mutation "a complete close request lingers anyway (HTTP1ConnectionTests)" \
  Sources/Proxy/HTTP1/HTTP1Connection+LocalReply.swift \
  's/if down\.isEmpty && !client\.readable && requestFraming\.isFullyRead \{/if false, down.isEmpty {/' \
  'HTTP1ConnectionTests'

mutation "connect timeout doubled (HTTP1ConnectionErrorTests)" \
  Sources/Proxy/HTTP1/HTTP1Connection+Forward.swift \
  's/arm\(ctx\.loop\.now \+ ctx\.config\.connectTimeoutNs\)/arm(ctx.loop.now + 2 * ctx.config.connectTimeoutNs)/' \
  'HTTP1ConnectionErrorTests'

mutation "request timeout one nanosecond early (HTTP1ConnectionErrorTests)" \
  Sources/Proxy/HTTP1/HTTP1Connection+Forward.swift \
  's/arm\(ctx\.loop\.now \+ ctx\.config\.requestTimeoutNs\)/arm(ctx.loop.now + ctx.config.requestTimeoutNs - 1)/' \
  'HTTP1ConnectionErrorTests'

mutation "DNS forward timeout one nanosecond late (DNSUDPProxyTests)" \
  Sources/Proxy/DNSForwarder.swift \
  's/let deadline = worker\.ctx\.loop\.now \+ worker\.config\.forwardTimeoutNs/let deadline = worker.ctx.loop.now + worker.config.forwardTimeoutNs + 1/' \
  'DNSUDPProxyTests'

mutation "deadline compaction drops pending queries (DNSUDPProxyTests)" \
  Sources/Proxy/DNSForwarder.swift \
  's/order = order\[orderStart\.\.\.\]\.filter \{ pending\[\$0\.id\]\?\.deadline == \$0\.deadline \}/order = []/' \
  'DNSUDPProxyTests'

mutation "a refused query writes a second flow (DNSUDPProxyTests)" \
  Sources/Proxy/DNSFlowRecorder.swift \
  's/(    func request\(_ query: DNSQuery, verdict: Flow\.Verdict\) \{\n)/$1        if verdict == .dropped { request(query, verdict: .error) }\n/' \
  'DNSUDPProxyTests'

mutation "an HTTP/2 connection that sent GOAWAY goes silent instead of closing (HTTP2Peer)" \
  Sources/Proxy/HTTP2/HTTP2Connection.swift \
  's/if !isClosed && !session\.isAlive && output\.isEmpty \{ close\(\) \}/if !isClosed \&\& !session.isAlive \&\& output.isEmpty { }/' \
  'HTTP2ConnectionTests'

mutation "JSONError equality always true (JSONContainerTests)" \
  Sources/SluiceJSON/JSONValue.swift \
  's/(    public var description: String \{ message \}\n)/$1    public static func == (a: JSONError, b: JSONError) -> Bool { true }\n/' \
  'JSONContainerTests'

mutation "JSON parser accepts raw control characters in strings (JSONParserTests, Foundation as oracle)" \
  Sources/SluiceJSON/JSONParser.swift \
  's/            if byte < 0x20 \{/            if byte < 0x20 \&\& byte != 0x09 \&\& byte != 0x0A {/' \
  'JSONParserTests.testMutatedDocumentsAgreeWithFoundation'

mutation "a denied first request opens an upstream connection anyway (HTTP1ConnectionTests, UpstreamServer.connectionsSoFar)" \
  Sources/Proxy/HTTP1/HTTP1Connection+Decide.swift \
  's/(        reply\(status: 403, close: )/        if !server.isOpen { connectUpstream() }\n$1/' \
  'HTTP1ConnectionTests.testDeniedFirstRequestOpensNoUpstreamConnection'

mutation "the reply generator never adds OPT (DNSReplyTests: every shape compared)" \
  Tests/DNSTests/DNSReplyTests.swift \
  's/            if Bool\.random\(using: &generator\) \{\n                message\.opt/            if false {\n                message.opt/' \
  'DNSReplyTests'

mutation "the subject generator never builds a matching subject (RegexTests: both answers exercised)" \
  Tests/PolicyTests/RegexTests.swift \
  's/var s = Bool\.random\(using: &generator\) \? base : \[\]/var s: [UInt8] = [0x0A]/' \
  'RegexTests'

mutation "SRV priority and weight read swapped (DNSWireFixtureTests, bytes from dnsmasq)" \
  Sources/DNS/RData.swift \
  's/rdata = \.srv\(priority: priority, weight: weight,/rdata = .srv(priority: weight, weight: priority,/' \
  'DNSWireFixtureTests|DNSParserTests|DNSSerializerTests'

mutation "the tc model lets the most specific entry win over a deny (TCDecisionModelTests, BPF_PROG_RUN)" \
  Tests/SluiceTestSupport/TCDecisionModel.swift \
  's/if actions\.contains\(\.deny\) \{ return "deny-181" \}/if actions.first == .deny { return "deny-181" }/' \
  'TCDecisionModelTests|DatapathEntriesTests|BlogPolicyTests|L3L4ExamplesTests'

mutation "the agent's JSON writer leaves a tab raw (EndpointDirectoryTests: written by SluiceJSON, read by Foundation)" \
  Sources/SluiceJSON/JSONWriter.swift \
  's/case 0x09: append\("\\\\t"\)/case 0x09: append("\\t")/' \
  'EndpointDirectoryTests|StateFileCodecTests'

mutation "the agent reads state.json's hostIfIndex from another key (StateFileCodecTests)" \
  Sources/SluiceAPI/SandboxState+Decoding.swift \
  's/hostIfIndex = try c\.decodeIfPresent\(Int\.self, forKey: \.hostIfIndex\) \?\? 0/hostIfIndex = try c.decodeIfPresent(Int.self, forKey: .id) ?? 0/' \
  'StateFileCodecTests'
