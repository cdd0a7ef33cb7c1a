#!/usr/bin/env bash
# Bulk bodies (issue 19): 1 MB and 64 MB downloads and 64 MB uploads through Sluice and the
# peers (HAProxy with kernel splicing, nginx, Envoy), keep-alive, same sandbox and placement as
# bench/run.sh (it sources lib.sh). Per run, a fixed amount of body bytes (BULK_MB per scenario)
# moved by BULK_CLIENTS curl processes, each one keep-alive connection: proxy CPU seconds per GB
# and throughput (GB/s of body bytes), every transfer checked (200 and its size).
#   REPS=3 bash bench/bulk.sh (default) | REPS=1 BULK_MB=1024 bash bench/bulk.sh (smoke)
#   BULK_SCENARIOS="get-1m get-64m post-64m" PEERS="haproxy nginx envoy"
#   SLUICE_B=/path/to/other/sluice: a second Sluice build measured as `sluice-b`, interleaved
#     with this one rep by rep (a sandbox per rep and build; the peers run with the first)
#   PROFILE=get-1m: syscall counts and `perf record -g` of each system (Sluice: the agent)
#     during its first run of that scenario, in syscalls-/profile-<system>.txt
# Output: bench/results/bulk-<timestamp>/ (raw runs, summary.md); `ratio ...` lines at the end.
set -u
BENCH_DIR=$(cd "$(dirname "$0")" && pwd)
export CONF_PREFIX=bulk- POLICY="$BENCH_DIR/bulk-policy.yaml"
. "$BENCH_DIR/lib.sh"
bench_prelude "$@"
: "${BULK_MB:=4096}"          # body megabytes per run (each scenario, each system)
: "${BULK_CLIENTS:=2}"        # parallel curl processes, one keep-alive connection each
: "${BULK_SCENARIOS:=get-1m get-64m post-64m}"

OUT="${OUT:-$BENCH/results/bulk-$(date +%Y%m%d-%H%M%S)}"
RUN_DIR="$OUT/run" RAW="$OUT/raw"
mkdir -p "$RUN_DIR/www/bulk" "$RAW"
trap 'sandbox_down' EXIT
trap 'exit 130' INT TERM

install_deps
versions >"$OUT/versions.txt"
: "${SLUICE_B:=}" "${PROFILE:=}" "${SOFTIRQ:=0}"
[ -z "$SLUICE_B" ] || [ -x "$SLUICE_B" ] || die "SLUICE_B=$SLUICE_B is not an executable"
[ -z "$PROFILE" ] && [ "$SOFTIRQ" = 0 ] || command -v perf >/dev/null || die "perf not installed (Debian: linux-perf)"
SLUICE_A=$SLUICE
[ -z "$SLUICE_B" ] || echo "sluice-b: $SLUICE_B ($(cd "$(dirname "$SLUICE_B")" && git rev-parse --short HEAD 2>/dev/null || echo 'not in git'))" >>"$OUT/versions.txt"
echo "REPS=$REPS BULK_MB=$BULK_MB BULK_CLIENTS=$BULK_CLIENTS LOAD_CPU=$LOAD_CPU PROXY_CPU=$PROXY_CPU SLUICE_B=$SLUICE_B PROFILE=$PROFILE SOFTIRQ=$SOFTIRQ" >"$OUT/params.txt"
log "results in $OUT"

# The bodies: random bytes (nothing compresses or dedups), served by bulk_upstream.py with
# sendfile from the page cache; the 64 MB file is also the upload body.
head -c $((1 << 20)) /dev/urandom >"$RUN_DIR/www/bulk/1m"
head -c $((64 << 20)) /dev/urandom >"$RUN_DIR/www/bulk/64m"
SHA_1M=$(sha256sum <"$RUN_DIR/www/bulk/1m" | cut -d' ' -f1)
SHA_64M=$(sha256sum <"$RUN_DIR/www/bulk/64m" | cut -d' ' -f1)

# scenario_parts SC: method path body-bytes
scenario_parts() {
  case $1 in
    get-1m) echo "GET /bulk/1m $((1 << 20))" ;;
    get-64m) echo "GET /bulk/64m $((64 << 20))" ;;
    post-64m) echo "POST /upload $((64 << 20))" ;;
  esac
}

# check_bulk SYSTEM: the bodies arrive whole (sha256), the upload is answered, the rules hold.
check_bulk() {
  local base out="$RAW/$1/check-bulk.txt" fail=0 got
  base=$(base_url "$1"); mkdir -p "$RAW/$1"; : >"$out"
  got=$(in_client curl -s --http1.1 -m 10 "$base/bulk/1m" | sha256sum | cut -d' ' -f1)
  [ "$got" = "$SHA_1M" ] || fail=1; echo "GET /bulk/1m sha256 $got want $SHA_1M" >>"$out"
  got=$(in_client curl -s --http1.1 -m 30 "$base/bulk/64m" | sha256sum | cut -d' ' -f1)
  [ "$got" = "$SHA_64M" ] || fail=1; echo "GET /bulk/64m sha256 $got want $SHA_64M" >>"$out"
  got=$(in_client curl -s -o /dev/null -w '%{http_code} %{size_upload}' --http1.1 -m 30 -X POST \
    -T "$RUN_DIR/www/bulk/64m" "$base/upload")
  [ "$got" = "200 $((64 << 20))" ] || fail=1; echo "POST /upload (64 MB): $got" >>"$out"
  got=$(in_client curl -s -o /dev/null -w '%{http_code}' --http1.1 -m 10 -X POST -T "$RUN_DIR/www/bulk/1m" "$base/post")
  [ "$got" = 403 ] || fail=1; echo "POST /post (1 MB): $got want 403" >>"$out"
  [ $fail = 0 ] || { log "$1: bulk check FAILED"; cat "$out" >&2; }
  return $fail
}

# cpu_ns SYSTEM: CPU time of the system's threads in nanoseconds (sum_exec_runtime from
# /proc/<pid>/task/*/schedstat; utime+stime in /proc/<pid>/stat comes in 10 ms ticks, ±2-5 % of
# a run of 1-2 GiB). Threads that end during a run would be lost: the proxies keep theirs.
cpu_ns() {
  local p
  for p in $(pids_of "$1"); do cat /proc/"$p"/task/*/schedstat 2>/dev/null; done | awk '{ s += $1 } END { printf "%.0f\n", s }'
}

# softirq_s PERF_DATA: seconds of softirq (entry to exit, per CPU) recorded in PERF_DATA
# (irq:softirq_entry/exit of the proxy's threads: the softirqs run in its context), then per
# softirq kind ("NET_RX=0.0123 HRTIMER=...").
softirq_s() {
  perf script -i "$1" 2>/dev/null | awk '
    / irq:softirq_(entry|exit):/ { cpu = ""; t = ""; a = ""
      for (i = 1; i <= NF; i++) { if ($i ~ /^\[[0-9]+\]$/) cpu = $i; if ($i ~ /^[0-9]+\.[0-9]+:$/) t = substr($i, 1, length($i) - 1); if ($i ~ /^\[action=/) a = substr($i, 9, length($i) - 9) }
      if ($0 ~ /softirq_entry/) start[cpu] = t; else if (cpu in start) { d[a] += t - start[cpu]; tot += t - start[cpu]; delete start[cpu] } }
    END { printf "%.4f", tot; for (k in d) if (d[k] >= 0.0005) printf " %s=%.4f", k, d[k]; printf "\n" }'
}

# vcsw PID...: voluntary context switches (waits) of the processes' threads.
vcsw() {
  local p
  for p in "$@"; do cat /proc/"$p"/task/*/status 2>/dev/null; done | awk '/^voluntary_ctxt_switches/ { s += $2 } END { print s + 0 }'
}

# tcp_mib NETNS: the netns's TCP tail loss probes, retransmitted segments and delayed ACKs
# (/proc/net/netstat and snmp are per network namespace): "tlp retrans delack".
tcp_mib() {
  ip netns exec "$1" cat /proc/net/netstat /proc/net/snmp 2>/dev/null | awk '
    $1 == "TcpExt:" && !h { for (i = 2; i <= NF; i++) k[i] = $i; h = 1; next }
    $1 == "TcpExt:" { for (i = 2; i <= NF; i++) v[k[i]] = $i }
    $1 == "Tcp:" && !t { for (i = 2; i <= NF; i++) q[i] = $i; t = 1; next }
    $1 == "Tcp:" { for (i = 2; i <= NF; i++) v[q[i]] = $i }
    END { print v["TCPLossProbes"] + 0, v["RetransSegs"] + 0, v["DelayedACKs"] + 0 }'
}

# others_ticks: CPU ticks of the upstream and of the ksoftirqd threads (the rest of the path
# but the curls, which report their own rusage).
others_ticks() {
  local sum=0 p t
  for p in $(cat "$RUN_DIR/upstream.pid" 2>/dev/null) $(pgrep -x 'ksoftirqd/[0-9]+'); do
    t=$(awk '{print $14+$15}' "/proc/$p/stat" 2>/dev/null); [ -n "$t" ] && sum=$((sum + t))
  done
  echo "$sum"
}

# run_bulk SYSTEM SCENARIO REP: BULK_MB of bodies in BULK_CLIENTS keep-alive curl processes
# (each a config of url/output[/upload-file] lines: one connection, reused), proxy CPU around.
run_bulk() {
  local sys=$1 sc=$2 rep=$3 base method path size n per c t0 t1 s0 s1 n0 n1 o0 o1 w0 w1 u0 u1 m0 m1 ns sirq_pid sirq pids=()
  read -r method path size < <(scenario_parts "$sc")
  base="$RAW/$sys/$sc.$rep"; mkdir -p "$RAW/$sys"
  n=$(( (BULK_MB << 20) / size )); [ "$n" -ge "$BULK_CLIENTS" ] || n=$BULK_CLIENTS
  per=$(( n / BULK_CLIENTS ))
  for c in $(seq 1 "$BULK_CLIENTS"); do
    { echo 'silent'; echo 'http1.1'; echo 'max-time = 600'
      echo 'write-out = "%{http_code} %{size_download} %{size_upload} %{num_connects} %{time_starttransfer} %{time_total}\n"'
      [ "$method" = POST ] && echo 'request = POST'
      for _ in $(seq 1 "$per"); do
        echo "url = \"$(base_url "$sys")$path\""; echo 'output = "/dev/null"'
        [ "$method" = POST ] && echo "upload-file = \"$RUN_DIR/www/bulk/64m\""
      done
    } >"$RUN_DIR/curl-$c.cfg"
  done
  log "$sys $sc rep $rep ($((per * BULK_CLIENTS)) x $size bytes)"
  sirq_pid=""
  if [ "$SOFTIRQ" = 1 ]; then
    perf record -q -e irq:softirq_entry,irq:softirq_exit -p "$(pids_of "$sys" | paste -sd,)" -o "$base.softirq.data" >/dev/null 2>&1 &
    sirq_pid=$!; sleep 0.5
  fi
  w0=$(vcsw $(pids_of "$sys")); u0=$(vcsw $(cat "$RUN_DIR/upstream.pid" 2>/dev/null))
  m0="$(tcp_mib "$NODE_NS") $(tcp_mib "$UPSTREAM_NS") $(tcp_mib "$CLIENT_NS")"
  for ns in "$NODE_NS" "$UPSTREAM_NS"; do ip netns exec "$ns" cat /proc/net/netstat /proc/net/snmp >"$base.$ns.mib0" 2>/dev/null; done
  t0=$(cpu_ticks "$sys"); n0=$(cpu_ns "$sys"); o0=$(others_ticks); s0=$(date +%s.%N)
  for c in $(seq 1 "$BULK_CLIENTS"); do
    in_client timeout 900 /usr/bin/time -f '%U %S %w' -o "$base.time$c" curl -K "$RUN_DIR/curl-$c.cfg" >"$base.client$c.txt" 2>&1 &
    pids+=($!)
  done
  wait "${pids[@]}"
  s1=$(date +%s.%N); n1=$(cpu_ns "$sys"); t1=$(cpu_ticks "$sys"); o1=$(others_ticks)
  w1=$(vcsw $(pids_of "$sys")); u1=$(vcsw $(cat "$RUN_DIR/upstream.pid" 2>/dev/null))
  m1="$(tcp_mib "$NODE_NS") $(tcp_mib "$UPSTREAM_NS") $(tcp_mib "$CLIENT_NS")"
  # Which TCP counters moved during the run, per namespace (drops, pruning, retransmissions...).
  for ns in "$NODE_NS" "$UPSTREAM_NS"; do
    ip netns exec "$ns" cat /proc/net/netstat /proc/net/snmp >"$base.$ns.mib1" 2>/dev/null
    python3 - "$base.$ns.mib0" "$base.$ns.mib1" "$ns" >>"$base.mibdiff" <<'PY'
import sys
def load(p):
    out, hdr = {}, {}
    for line in open(p):
        w = line.split()
        if not w: continue
        if w[0] not in hdr: hdr[w[0]] = w[1:]
        else:
            for k, v in zip(hdr[w[0]], w[1:]):
                try: out[w[0] + k] = int(v)
                except ValueError: pass
    return out
a, b = load(sys.argv[1]), load(sys.argv[2])
print(sys.argv[3], " ".join(f"{k}+{b[k] - a.get(k, 0)}" for k in sorted(b) if b[k] - a.get(k, 0) > 0))
PY
    rm -f "$base.$ns.mib0" "$base.$ns.mib1"
  done
  sirq=""
  if [ -n "$sirq_pid" ]; then
    kill -INT "$sirq_pid"; wait "$sirq_pid"
    sirq=$(softirq_s "$base.softirq.data"); rm -f "$base.softirq.data"
  fi
  cat "$base".client*.txt >"$base.txt"; rm -f "$base".client*.txt
  { echo "proxy_cpu_s=$(awk -v a="$n0" -v b="$n1" 'BEGIN{printf "%.4f\n", (b-a)/1e9}')"
    echo "proxy_cpu_ticks_s=$(awk -v a="$t0" -v b="$t1" -v h="$CLK_TCK" 'BEGIN{print (b-a)/h}')"
    # The whole path: the proxy, the upstream, the curls (their rusage) and the ksoftirqd
    # threads. TCP receive work runs in whichever process sends the packet (veth: the softirq
    # at the sender's local_bh_enable) or owns the socket then (its backlog), and this kernel
    # has no IRQ_TIME_ACCOUNTING: it is charged to that process. The path's sum does not
    # depend on who happened to run it.
    echo "path_cpu_s=$(cat "$base".time* | awk -v p="$n0 $n1 $o0 $o1" -v h="$CLK_TCK" \
      '{ c += $1 + $2 } END { split(p, t, " "); print c + (t[2] - t[1]) / 1e9 + (t[4] - t[3]) / h }')"
    echo "others_cpu_s=$(awk -v a="$o0" -v b="$o1" -v h="$CLK_TCK" 'BEGIN{print (b-a)/h}')"
    # SOFTIRQ=1: the softirqs run in the proxy's context, and the proxy's CPU without them
    # (what a kernel with IRQ_TIME_ACCOUNTING would charge it).
    if [ -n "$sirq" ]; then
      echo "softirq_s=${sirq%% *}"; echo "softirq_kinds=${sirq#* }"
      echo "own_cpu_s=$(awk -v a="$n0" -v b="$n1" -v q="${sirq%% *}" 'BEGIN{printf "%.4f\n", (b-a)/1e9 - q}')"
    fi
    # The curls' voluntary context switches (a wait for data that ended), per transfer.
    # TCP tail loss probes, retransmitted segments and delayed ACKs per 1,000 transfers, sent from
    # the node (the proxy's sockets), the upstream and the client namespaces.
    echo "$m0 $m1" | awk -v n=$((per * BULK_CLIENTS)) '{ split("node upstream client", ns, " ")
      for (i = 0; i < 3; i++) printf "tcp_%s_per_1000=tlp:%.1f retrans:%.1f delack:%.1f\n", ns[i + 1],
        1000 * ($(i * 3 + 10) - $(i * 3 + 1)) / n, 1000 * ($(i * 3 + 11) - $(i * 3 + 2)) / n, 1000 * ($(i * 3 + 12) - $(i * 3 + 3)) / n }'
    echo "proxy_waits_per_transfer=$(awk -v a="$w0" -v b="$w1" -v n=$((per * BULK_CLIENTS)) 'BEGIN{printf "%.1f", (b-a)/n}')"
    echo "upstream_waits_per_transfer=$(awk -v a="$u0" -v b="$u1" -v n=$((per * BULK_CLIENTS)) 'BEGIN{printf "%.1f", (b-a)/n}')"
    echo "client_waits_per_transfer=$(cat "$base".time* | awk -v n=$((per * BULK_CLIENTS)) '{ w += $3 } END { printf "%.1f", w / n }')"
    rm -f "$base".time*
    echo "wall_s=$(awk -v a="$s0" -v b="$s1" 'BEGIN{print b-a}')"
    echo "proxy_hwm_kb=$(hwm_kb "$sys")"
    echo "transfers=$((per * BULK_CLIENTS)) size=$size"
    # body bytes that arrived whole (200 and the full size), and connections opened
    awk -v m="$method" -v s="$size" '{ if ($1 == 200 && ((m == "GET" && $2 == s) || (m == "POST" && $3 == s))) ok++; else bad++; conns += $4 }
      END { printf "ok=%d\nbad=%d\nbytes=%d\nconnects=%d\n", ok, bad, ok * s, conns }' "$base.txt"
    # Per transfer, from curl: request to the first response byte, and the first byte to the
    # last (medians and 90th percentiles, microseconds): where a transfer's time goes.
    awk '{ print int(1e6 * $5), int(1e6 * ($6 - $5)) }' "$base.txt" | sort -n -k1,1 | awk '{ a[NR] = $1 } END { if (NR) printf "ttfb_us_p50=%d\nttfb_us_p90=%d\n", a[int((NR + 1) / 2)], a[int(NR * 0.9 + 0.5)] }'
    awk '{ print int(1e6 * ($6 - $5)) }' "$base.txt" | sort -n | awk '{ a[NR] = $1 } END { if (NR) printf "body_us_p50=%d\nbody_us_p90=%d\n", a[int((NR + 1) / 2)], a[int(NR * 0.9 + 0.5)] }'
    # Bodies that stalled (first to last byte over 1 ms) per 1,000 transfers, and their share of
    # all body time: a 1 MiB body takes 100-200 us unless it stalls.
    awk '{ b = $6 - $5; s += b; n++; if (b > 0.001) { k++; t += b } } END { if (n && s > 0) printf "body_stalls_per_1000=%.1f\nbody_stall_share=%.3f\n", 1000 * k / n, t / s }' "$base.txt"
  } >"$base.meta"
  grep -q '^bad=0$' "$base.meta" || log "$sys $sc rep $rep: failed transfers ($(grep '^bad=' "$base.meta"))"
  sleep "$SETTLE"
}

# session BINARY LABEL PEERS_TOO REP: a sandbox with that Sluice build, then one run of each
# scenario for it (as LABEL) and, when PEERS_TOO, for each peer that passes its checks.
session() {
  local bin=$1 label=$2 with_peers=$3 rep=$4 sc sys systems=()
  SLUICE=$bin
  sandbox_up --workers 1 --pin-cpu "$PROXY_CPU" || die "sandbox up failed ($bin)"
  # The bench's nginx upstream answers an upload before reading its body; bulk_upstream.py reads
  # it whole (and sends files with sendfile): it replaces nginx in the upstream pod.
  stop_bg upstream
  start_bg upstream "$UPSTREAM_NS" "$LOAD_CPU" python3 "$BENCH/bulk_upstream.py" 0.0.0.0 80 "$RUN_DIR/www"
  # Ready when it answers 200 itself (through Sluice, a 503 would also be an answer).
  for _ in $(seq 1 100); do
    [ "$(ip netns exec "$UPSTREAM_NS" curl -s -o /dev/null -m 1 -w '%{http_code}' http://127.0.0.1/get)" = 200 ] && break
    sleep 0.1
  done
  check_rules "$label" && check_bulk "$label" && systems+=("$label")
  if [ "$with_peers" = 1 ]; then
    for sys in $PEERS; do
      if start_peer "$sys" && check_rules "$sys" && check_bulk "$sys"; then systems+=("$sys"); else stop_bg "$sys"; fi
    done
  fi
  log "measuring ($bin): ${systems[*]}"
  for sc in $BULK_SCENARIOS; do
    for sys in "${systems[@]}"; do
      if [ "$sc" = "$PROFILE" ] && [ "$rep" = 1 ]; then
        profiled_run "$sys" "$sc" "$rep"
      else
        run_bulk "$sys" "$sc" "$rep"
      fi
    done
  done
  sandbox_down
}

# profiled_run SYSTEM SCENARIO REP: run_bulk with the system's syscalls counted (`perf stat`
# of syscall tracepoints, per transfer in syscalls-<system>.txt) and its processes recorded by
# `perf record -g` (the agent for Sluice; profile-<system>.txt). The CPU figures of this run include perf's own
# overhead: read them with that in mind (the summary keeps them with the other reps).
SYSCALLS="raw_syscalls:sys_enter,syscalls:sys_enter_splice,syscalls:sys_enter_read,syscalls:sys_enter_recvfrom,syscalls:sys_enter_recvmsg,syscalls:sys_enter_readv,syscalls:sys_enter_write,syscalls:sys_enter_sendto,syscalls:sys_enter_sendmsg,syscalls:sys_enter_writev,syscalls:sys_enter_epoll_wait,syscalls:sys_enter_epoll_pwait,syscalls:sys_enter_epoll_ctl,syscalls:sys_enter_ioctl,syscalls:sys_enter_fcntl,timer:hrtimer_start,timer:hrtimer_expire_entry,irq:softirq_entry"
profiled_run() {
  local sys=$1 stat_pid rec_pid="" tim_pid pids n
  pids=$(pids_of "$sys" | paste -sd,)
  perf stat -e "$SYSCALLS" -p "$pids" -o "$OUT/syscalls-$sys.raw" &
  stat_pid=$!
  perf record -g -o "$OUT/perf-$sys.data" -p "$pids" 2>"$OUT/perf-record-$sys.log" &
  rec_pid=$!
  # Which timers the proxy's context arms and runs (TCP pacing, epoll timeouts, ...).
  perf record -g -e timer:hrtimer_start,timer:hrtimer_expire_entry,irq:softirq_entry,irq:softirq_exit -o "$OUT/timers-$sys.data" -p "$pids" 2>/dev/null &
  tim_pid=$!
  # TRACE=1: each splice and epoll_wait (arguments, results), each write's look at the socket's
  # write queue (tcp:tcp_sendmsg_locked: its tail skb, none when all was sent) and the hrtimers
  # armed, in order, for bulk_trace.py; and which descriptors are pipes.
  local trc_pid=""
  if [ "${TRACE:-0}" = 1 ]; then
    perf record -e syscalls:sys_enter_splice,syscalls:sys_exit_splice,syscalls:sys_enter_epoll_wait,syscalls:sys_exit_epoll_wait,syscalls:sys_enter_epoll_pwait,syscalls:sys_exit_epoll_pwait,tcp:tcp_sendmsg_locked,timer:hrtimer_start,timer:hrtimer_expire_entry,irq:softirq_entry,irq:softirq_exit \
      -o "$OUT/trace-$sys.data" -p "$pids" 2>/dev/null &
    trc_pid=$!
  fi
  sleep 0.5
  run_bulk "$@"
  kill -INT "$stat_pid" $rec_pid $tim_pid $trc_pid; wait "$stat_pid" $rec_pid $tim_pid $trc_pid
  if [ -n "$trc_pid" ]; then
    for p in ${pids//,/ }; do ls -l /proc/"$p"/fd 2>/dev/null | awk '{ print $(NF-2), $NF }'; done >"$OUT/fds-$sys.txt"
  fi
  n=$(awk -F= '/^transfers=/{print $2}' "$RAW/$sys/$2.$3.meta")
  awk -v n="$n" '$2 ~ /:/ { gsub(",", "", $1); printf "%-36s %12d  %8.1f per transfer\n", $2, $1, $1 / n }' \
    "$OUT/syscalls-$sys.raw" >"$OUT/syscalls-$sys.txt"
  perf script -i "$OUT/timers-$sys.data" 2>/dev/null | awk -v n="$n" '/ timer:/ { e = ""; f = ""
      for (i = 1; i <= NF; i++) { if ($i ~ /^timer:/) e = $i; if ($i ~ /^function=/) f = $i }
      c[e " " f]++ } END { for (k in c) printf "%-60s %10d  %8.1f per transfer\n", k, c[k], c[k] / n }' |
    sort -k2 -rn | head -12 >"$OUT/timers-$sys.txt"
  # Where the proxy's context arms TCP pacing timers: in a drain or write (sendmsg), in a
  # socket's backlog (release_sock), in a softirq (an ACK, or the timer re-arming itself).
  perf script -i "$OUT/timers-$sys.data" 2>/dev/null | awk -v n="$n" 'BEGIN { RS = "" }
    /hrtimer_start/ && /function=tcp_pace_kick/ { k++
      if ($0 ~ /handle_softirqs|__do_softirq/) { if ($0 ~ /tcp_pace_kick|tcp_tsq_handler|tcp_tasklet_func/) w = "softirq: pacing timer or TSQ"; else w = "softirq: other (ACK, receive)" }
      else if ($0 ~ /__release_sock/) w = "socket backlog (release_sock)"
      else if ($0 ~ /splice_to_socket|tcp_sendmsg/) w = "drain or write (sendmsg)"
      else w = "other"; c[w]++ }
    END { for (x in c) printf "pacing timers armed in %-34s %8d  %6.1f per transfer\n", x, c[x], c[x] / n }' \
    >>"$OUT/timers-$sys.txt"
  # Softirq time run in the proxy's context (entry to exit, per CPU), by softirq: charged to the
  # proxy by /proc (this kernel has no IRQ_TIME_ACCOUNTING) although most of it is work for other
  # sockets (the client's receive, the upstream's ACKs) or TCP pacing timers that fire in
  # whatever task runs then.
  echo "softirq seconds in the proxy's context (total, by kind): $(softirq_s "$OUT/timers-$sys.data")" >"$OUT/softirq-$sys.txt"
  log "$(cat "$OUT/softirq-$sys.txt") ($sys $2)"
  log "syscalls of $sys $2: $OUT/syscalls-$sys.txt"
  [ -n "$rec_pid" ] || return 0
  { perf report -i "$OUT/perf-$sys.data" --stdio --no-children -g none --percent-limit 0.5 2>/dev/null | grep -v '^#' | grep -v '^$' | head -60
    echo "--- call graphs"
    perf report -i "$OUT/perf-$sys.data" --stdio --no-children --percent-limit 2 2>/dev/null | grep -v '^$' | head -"${LINES_SHOWN:-200}"
  } >"$OUT/profile-$sys.txt"
  # Samples by context: in a softirq (the kernel's receive work of whatever socket the packets
  # are for, run at the proxy's local_bh_enable), in the backlog of a socket the proxy held
  # (__release_sock, not in a softirq), the rest.
  perf script -i "$OUT/perf-$sys.data" 2>/dev/null | awk 'BEGIN { RS = "" }
    { n++; if ($0 ~ /handle_softirqs|__do_softirq/) s++; else if ($0 ~ /__release_sock/) b++ }
    END { printf "samples %d  softirq %.1f %%  socket backlog %.1f %%  rest %.1f %%\n", n, 100 * s / n, 100 * b / n, 100 * (n - s - b) / n }' \
    >"$OUT/contexts-$sys.txt"
  log "contexts of $sys $2: $(cat "$OUT/contexts-$sys.txt")"
  log "profile of $sys $2: $OUT/profile-$sys.txt"
}

for rep in $(seq 1 "$REPS"); do
  if [ -z "$SLUICE_B" ]; then
    session "$SLUICE_A" sluice 1 "$rep"
  elif [ $((rep % 2)) = 1 ]; then
    session "$SLUICE_A" sluice 1 "$rep"; session "$SLUICE_B" sluice-b 0 "$rep"
  else
    session "$SLUICE_B" sluice-b 0 "$rep"; session "$SLUICE_A" sluice 1 "$rep"
  fi
done
python3 "$BENCH/bulk_summary.py" "$OUT" | tee "$OUT/summary.md"
