-- get-paced: every connection waits 5 ms after each answer before its next request, so
-- wrk -c11 sends about 2,000 req/s (11 / (5 ms + ~0.5 ms of round trip)), well below saturation.
-- wrk's --latency percentiles have microsecond resolution (hey's: 0.1 ms).
function delay()
  return 5
end
