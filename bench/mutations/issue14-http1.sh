# Issue 14, HTTP/1 timeouts and upgrades: bugs the unit tests (and scenarios 50/51) must catch.
# mutation NAME FILE PERL-SUBSTITUTION TEST-FILTER [SCENARIO]

mutation "each read extends the request head deadline: a slowloris is never cut off (HTTP1ConnectionTimeoutTests)" \
  Sources/Proxy/HTTP1/HTTP1Connection+RequestHead.swift \
  's/if !headDeadlineArmed && \(state == \.readingHead \|\| state == \.detecting\) \{ armHeadDeadline\(\) \}/if state == .readingHead || state == .detecting { armHeadDeadline() }/' \
  'HTTP1ConnectionTimeoutTests' 50_http1

mutation "an unsolicited 101 is relayed and becomes a tunnel (HTTP1ConnectionTunnelTests)" \
  Sources/Proxy/HTTP1/HTTP1Connection+Response.swift \
  's/if response\.status == 101 && !upgradeAccepted\(\) \{/if false {/' \
  'HTTP1ConnectionTunnelTests' 51_http1

mutation "an upstream 101 for h2c is tunnelled (HTTP1ConnectionTunnelTests)" \
  Sources/Proxy/HTTP1/HTTP1Connection+Tunnel.swift \
  's/offered\.allSatisfy \{ \$0 != UpgradeTokens\.h2c && asked\.contains\(\$0\) \}/offered.allSatisfy { asked.contains(\$0) }/' \
  'HTTP1ConnectionTunnelTests' 51_http1

mutation "a denied h2c upgrade is switched anyway (HTTP1ConnectionTunnelTests)" \
  Sources/Proxy/HTTP1/HTTP1Connection+Decide.swift \
  's/if head\.upgradeH2C && verdict\.allowed, let upgrade/if head.upgradeH2C, let upgrade/' \
  'HTTP1ConnectionTunnelTests' 51_http1

mutation "the tunnel idle timeout is never armed (HTTP1ConnectionTimeoutTests)" \
  Sources/Proxy/HTTP1/HTTP1Connection+Response.swift \
  's/arm\(after: ctx\.config\.tunnelIdleTimeoutNs\)/disarm()/' \
  'HTTP1ConnectionTimeoutTests' 51_http1
