#!/usr/bin/env bash
# HTTP/2 bench (bench/README.md, "HTTP/2"): h2load through Sluice, HAProxy and Envoy with the
# bench rules, 1, 10 and 100 concurrent streams per connection, same sandbox, interleaved.
#   REPS=3 DURATION=10 bash bench/h2.sh | REPS=1 DURATION=3 bash bench/h2.sh (smoke)
#   H2_STREAMS="1 10 100" H2_CONNS=10 H2_PEERS="haproxy envoy"
# Prints a table and `ratio cpu_us_per_req h2-get[-mN] sluice/<peer> <value>` lines.
set -u
. "$(cd "$(dirname "$0")" && pwd)/lib.sh"
bench_prelude "$@"
: "${H2_STREAMS:=1 10 100}"
: "${H2_CONNS:=10}"
: "${H2_PEERS:=haproxy envoy}"
PEERS="$H2_PEERS"
OUT="${OUT:-$BENCH/results/h2-$(date +%Y%m%d-%H%M%S)}"
RUN_DIR="$OUT/run" RAW="$OUT/raw"
mkdir -p "$RUN_DIR" "$RAW"
trap 'sandbox_down' EXIT
trap 'exit 130' INT TERM
install_deps
versions >"$OUT/versions.txt"
echo "REPS=$REPS DURATION=$DURATION H2_CONNS=$H2_CONNS H2_STREAMS=$H2_STREAMS LOAD_CPU=$LOAD_CPU PROXY_CPU=$PROXY_CPU" >"$OUT/params.txt"
log "results in $OUT"

# The upstream: nginx with a cleartext `http2` listener (prior knowledge), same fixed body.
write_configs() {
  cat >"$RUN_DIR/upstream-h2.conf" <<CONF
worker_processes 1;
daemon off;
pid $RUN_DIR/upstream-h2.pid;
error_log $RUN_DIR/upstream-h2.err warn;
worker_rlimit_nofile 65536;
events { worker_connections 16384; multi_accept on; }
http {
    access_log off;
    server_tokens off;
    keepalive_timeout 300s;
    keepalive_requests 100000000;
    http2_max_concurrent_streams 1000;
    client_body_temp_path $RUN_DIR/h2-body;
    proxy_temp_path $RUN_DIR/h2-proxy;
    fastcgi_temp_path $RUN_DIR/h2-fcgi;
    uwsgi_temp_path $RUN_DIR/h2-uwsgi;
    scgi_temp_path $RUN_DIR/h2-scgi;
    server {
        listen 0.0.0.0:80 http2 backlog=4096;
        default_type application/json;
        location / {
            return 200 '{"args":{},"headers":{"Accept":"*/*","Host":"backend"},"origin":"10.244.0.1","url":"http://backend/get","note":"fixed body from the bench upstream, 166 bytes total"}\n';
        }
    }
}
CONF
  cat >"$RUN_DIR/haproxy-h2.cfg" <<CONF
global
    nbthread 1
    maxconn 8000
defaults
    mode http
    timeout connect 2s
    timeout client 60s
    timeout server 60s
frontend fe
    bind $NODE_IP:$HAPROXY_PORT proto h2
    acl m_get    method GET
    acl p_get    pathq -m str /get
    acl p_any    pathq -m reg ^/anything/.*$
    http-request deny deny_status 403 unless m_get p_get || m_get p_any
    default_backend be
backend be
    http-reuse always
    server up $UPSTREAM_IP:80 proto h2
CONF
  sed -e 's/codec_type: HTTP1/codec_type: AUTO/' "$(render envoy.yaml)" >"$RUN_DIR/envoy-h2.yaml"
  cat >>"$RUN_DIR/envoy-h2.yaml" <<'CONF'
    typed_extension_protocol_options:
      envoy.extensions.upstreams.http.v3.HttpProtocolOptions:
        "@type": type.googleapis.com/envoy.extensions.upstreams.http.v3.HttpProtocolOptions
        explicit_http_config:
          http2_protocol_options: {}
CONF
}

h2_sandbox_up() {
  sandbox_up --workers 1 --pin-cpu "$PROXY_CPU" || die "sandbox up failed"
  stop_bg upstream
  write_configs
  start_bg upstream "$UPSTREAM_NS" "$LOAD_CPU" nginx -c "$RUN_DIR/upstream-h2.conf" -p "$RUN_DIR"
  sleep 0.5
}

start_h2_peer() {
  case $1 in
    haproxy) start_bg haproxy "$NODE_NS" "$PROXY_CPU" haproxy -db -f "$RUN_DIR/haproxy-h2.cfg" ;;
    envoy)   start_bg envoy "$NODE_NS" "$PROXY_CPU" "$(envoy_bin)" -c "$RUN_DIR/envoy-h2.yaml" --concurrency 1 \
               --disable-hot-restart -l warning ;;
  esac
  sleep 1
}

# check_h2 SYSTEM: the rules answer as Cilium's would, over HTTP/2 with prior knowledge.
check_h2() {
  local base out="$RAW/$1/check.txt" fail=0 method path want got extra
  base=$(base_url "$1"); mkdir -p "$RAW/$1"; : >"$out"
  while read -r method path want; do
    extra=(-X "$method"); [ "$method" = HEAD ] && extra=(-I)
    got=$(in_client curl -s -o /dev/null -w '%{http_code} %{http_version}' --http2-prior-knowledge "${extra[@]}" -m 3 "$base$path")
    [ "$got" = "$want 2" ] || fail=1
    printf '%-4s %-5s %-24s want %s got %s\n' "$([ "$got" = "$want 2" ] && echo ok || echo FAIL)" "$method" "$path" "$want" "$got" >>"$out"
  done <<'CASES'
GET /get 200
GET /anything/a/b/c?x=1 200
GET /get?x=1 403
GET /other 403
POST /post 403
HEAD /get 403
CASES
  [ $fail = 0 ] || { log "$1: h2 rule check FAILED"; cat "$out" >&2; }
  return $fail
}

# run_h2 SYSTEM STREAMS REP: one bounded h2load run; raw output + .meta (proxy CPU, peak RSS).
run_h2() {
  local sys=$1 m=$2 rep=$3 url base t0 t1
  url=$(base_url "$sys"); base="$RAW/$sys/h2-get-m$m.$rep"; mkdir -p "$RAW/$sys"
  log "$sys h2-get m=$m rep $rep"
  t0=$(cpu_ticks "$sys")
  in_client timeout $((DURATION + 20)) h2load -c "$H2_CONNS" -m "$m" -D "$DURATION" "$url/get" >"$base.txt" 2>&1
  t1=$(cpu_ticks "$sys")
  { echo "proxy_cpu_s=$(awk -v a="$t0" -v b="$t1" -v h="$CLK_TCK" 'BEGIN{print (b-a)/h}')"
    echo "proxy_hwm_kb=$(hwm_kb "$sys")"
  } >"$base.meta"
  sleep "$SETTLE"
}

h2_sandbox_up
systems=()
check_h2 sluice && systems+=(sluice)
for sys in $PEERS; do
  if start_h2_peer "$sys" && check_h2 "$sys"; then systems+=("$sys"); else stop_bg "$sys"; fi
done
log "measuring: ${systems[*]}"
for rep in $(seq 1 "$REPS"); do
  for m in $H2_STREAMS; do
    for sys in "${systems[@]}"; do run_h2 "$sys" "$m" "$rep"; done
  done
done
sandbox_down
python3 "$BENCH/h2_summary.py" "$OUT" "$H2_STREAMS" | tee "$OUT/summary.md"
