# The bugs issue 20 names, each of which `make test` must catch (bench/mutation-check.sh).
# mutation NAME FILE PERL-SUBSTITUTION TEST-FILTER [SCENARIO]

mutation "policy decision inverted (an HTTP rule that matches denies)" \
  Sources/Policy/HTTPPortPolicy.swift \
  's/for candidate in rules where candidate\.rule\.matches\(request\)/for candidate in rules where !candidate.rule.matches(request)/' \
  'HTTPPortPolicyTests|HTTP1ConnectionTests|HTTP1ConnectionDecideTests|HTTP2ConnectionTests|HTTPDecisionTests' 01_demo

mutation "response flow not written" \
  Sources/Proxy/HTTP/HTTPFlowRecorder.swift \
  's/(            c\.isReply = true\n)/$1            if c.isReply == true { continue }\n/' \
  'HTTP1Connection|HTTP2ConnectionTests|HTTPFlowRecorderTests' 01_demo

mutation "DNS answer released before the fqdn map write" \
  Sources/Proxy/DNSWorker.swift \
  's/if let gate, let service, summary\.rcode == \.noError/if false, let gate, let service, summary.rcode == .noError/' \
  'FQDNAnswerGateTests|DNSUDPProxyTests|DNSStreamConnectionTests' 23_tofqdns

mutation "403 body changed" \
  Sources/Proxy/ProxyConfig.swift \
  's/accessDeniedMessage: String = "Access denied"/accessDeniedMessage: String = "Access Denied"/' \
  'HTTP1Connection|HTTP2ConnectionTests|LocalReplyTests' 01_demo

mutation "upstream connect timeout never fires" \
  Sources/Proxy/HTTP1/HTTP1Connection.swift \
  's/case \.connecting:\n            upstreamFailed\(PeerClose\(side: \.upstream, errno: ETIMEDOUT\)\)/case .connecting:\n            break/' \
  'HTTP1ConnectionErrorTests'

mutation "DNS forward timeout never fires" \
  Sources/Proxy/DNSForwarder.swift \
  's/if let entry = pending\[id\], entry\.deadline == deadline \{/if let entry = pending[id], entry.deadline == deadline, false {/' \
  'DNSUDPProxyTests'
