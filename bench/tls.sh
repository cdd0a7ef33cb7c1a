#!/usr/bin/env bash
# TLS bench (bench/README.md, "TLS"; issue 16): Sluice, HAProxy, nginx and Envoy each
# terminating (TLS in, plain HTTP out) and intercepting (TLS in, TLS out) with one ECDSA P-256
# certificate (issued by the sandbox CA for the upstream's name and the node's and upstream's
# addresses) and the bench rule set (GET /get and GET /anything/.* allowed, the rest 403).
#   REPS=3 DURATION=10 bash bench/tls.sh | REPS=1 DURATION=3 bash bench/tls.sh (smoke)
#   TLS_PEERS="haproxy nginx envoy" TLS_MODES="term icpt" TLS_LOADS="ka new" TLS_CONNS=50 HS_CONNS=20
# Loads: `ka` = wrk keep-alive GET /get over TLS (proxy CPU us per request); `new` = ab, one new
# connection per request with a full handshake each (ab never resumes a session): handshakes per
# second and proxy CPU us per handshake. The peers keep upstream connections in a pool; Sluice is
# transparent, so each client connection has its own upstream connection (TLS when intercepting).
# The Sluice rows need terminatingTLS/originatingTLS (bench/tls-policy.yaml): when `sluice apply`
# refuses the policy, or the rules do not answer as Cilium's would over TLS, Sluice is not
# measured, the summary says why, no sluice ratio is printed and the script exits 3 after
# measuring the peers.
# Prints a table and `ratio cpu_us_per_req tls-<mode>-ka sluice/<peer>`,
# `ratio cpu_us_per_handshake tls-<mode>-new sluice/<peer>`, `ratio handshakes_per_s ...` lines.
set -u
. "$(cd "$(dirname "$0")" && pwd)/lib.sh"
bench_prelude "$@"
: "${TLS_PEERS:=haproxy nginx envoy}"
: "${TLS_MODES:=term icpt}"
: "${TLS_LOADS:=ka new}"
: "${TLS_CONNS:=$CONNS}" # wrk connections (keep-alive)
: "${HS_CONNS:=20}"      # ab concurrency (new connections)
PEERS="$TLS_PEERS"
UPSTREAM_NAME=upstream.bench.svc.cluster.local
CA=/run/sluice/sandbox/tls/ca.crt
CA_KEY=/run/sluice/sandbox/tls/ca.key
SECRET_DIR=/run/sluice/secrets/bench/upstream-tls
# Node ports of the peers: terminating and intercepting listeners of one process each.
HAPROXY_TERM=18443 HAPROXY_ICPT=18444 NGINX_TERM=18441 NGINX_ICPT=18442 ENVOY_TERM=18445 ENVOY_ICPT=18446
OUT="${OUT:-$BENCH/results/tls-$(date +%Y%m%d-%H%M%S)}"
RUN_DIR="$OUT/run" RAW="$OUT/raw"
mkdir -p "$RUN_DIR" "$RAW"
# The bench secret goes with the sandbox: `sandbox down` removes only what `up` wrote when the
# secrets directory existed before it.
trap 'sandbox_down; rm -rf "$SECRET_DIR"; rmdir "${SECRET_DIR%/*}" 2>/dev/null' EXIT
trap 'exit 130' INT TERM
install_deps
dpkg -s apache2-utils >/dev/null 2>&1 || apt-get install -y -qq apache2-utils >/dev/null || die "apt-get install apache2-utils (ab) failed"
versions >"$OUT/versions.txt"
echo "openssl: $(openssl version); ab: $(ab -V | head -1)" >>"$OUT/versions.txt"
echo "REPS=$REPS DURATION=$DURATION TLS_CONNS=$TLS_CONNS HS_CONNS=$HS_CONNS LOAD_CPU=$LOAD_CPU PROXY_CPU=$PROXY_CPU" >"$OUT/params.txt"
log "results in $OUT"

# The certificate every server presents: one ECDSA P-256 key, signed by the sandbox CA, for the
# upstream's name and the upstream's and node's addresses. Also the Sluice secret bench/upstream-tls.
make_certificate() {
  openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes -CA "$CA" -CAkey "$CA_KEY" -days 2 \
    -subj "/CN=$UPSTREAM_NAME" -addext "subjectAltName=DNS:$UPSTREAM_NAME,IP:$UPSTREAM_IP,IP:$NODE_IP" \
    -addext basicConstraints=critical,CA:FALSE -addext extendedKeyUsage=serverAuth \
    -keyout "$RUN_DIR/tls.key" -out "$RUN_DIR/tls.crt" 2>"$RUN_DIR/openssl.err" || return 1
  cat "$RUN_DIR/tls.crt" "$RUN_DIR/tls.key" >"$RUN_DIR/tls.pem"
  mkdir -p "$SECRET_DIR" && install -m 0644 "$RUN_DIR/tls.crt" "$SECRET_DIR/tls.crt" &&
    install -m 0600 "$RUN_DIR/tls.key" "$SECRET_DIR/tls.key"
}

# The policy in force before the TLS one: the same peers at L3/L4 only, so the upstream is reachable
# (and the peers measurable) whether or not Sluice accepts bench/tls-policy.yaml.
write_base_policy() {
  cat >"$RUN_DIR/base-policy.yaml" <<'YAML'
apiVersion: cilium.io/v2
kind: CiliumNetworkPolicy
metadata:
  name: bench-tls
  namespace: bench
spec:
  endpointSelector:
    matchLabels:
      app: client
  egress:
  - toEndpoints:
    - matchLabels:
        app: upstream
    toPorts:
    - ports:
      - port: "80"
        protocol: TCP
      - port: "443"
        protocol: TCP
      - port: "8443"
        protocol: TCP
  - toEntities:
    - host
  - toEndpoints:
    - matchLabels:
        k8s:io.kubernetes.pod.namespace: kube-system
        k8s-app: kube-dns
    toPorts:
    - ports:
      - port: "53"
        protocol: ANY
YAML
}

write_configs() {
  local body='{"args":{},"headers":{"Accept":"*/*","Host":"backend"},"origin":"10.244.0.1","url":"http://backend/get","note":"fixed body from the bench upstream, 166 bytes total"}\n'
  cat >"$RUN_DIR/upstream-tls.conf" <<CONF
worker_processes 1;
daemon off;
master_process on;
pid $RUN_DIR/upstream-tls.pid;
error_log $RUN_DIR/upstream-tls.err warn;
worker_rlimit_nofile 65536;
events { worker_connections 16384; multi_accept on; }
http {
    access_log off;
    server_tokens off;
    keepalive_requests 100000000;
    keepalive_timeout 300s;
    client_body_temp_path $RUN_DIR/ut-body;
    proxy_temp_path $RUN_DIR/ut-proxy;
    fastcgi_temp_path $RUN_DIR/ut-fcgi;
    uwsgi_temp_path $RUN_DIR/ut-uwsgi;
    scgi_temp_path $RUN_DIR/ut-scgi;
    ssl_certificate $RUN_DIR/tls.crt;
    ssl_certificate_key $RUN_DIR/tls.key;
    server {
        listen 0.0.0.0:80 backlog=4096;
        listen 0.0.0.0:8443 backlog=4096;
        listen 0.0.0.0:443 ssl backlog=4096;
        default_type application/json;
        location / {
            return 200 '$body';
        }
    }
}
CONF
  cat >"$RUN_DIR/haproxy-tls.cfg" <<CONF
global
    nbthread 1
    maxconn 8000
    pidfile $RUN_DIR/haproxy.pid
defaults
    mode http
    option http-keep-alive
    timeout connect 2s
    timeout client 60s
    timeout server 60s
    timeout http-keep-alive 60s
    timeout http-request 10s
frontend term
    bind $NODE_IP:$HAPROXY_TERM ssl crt $RUN_DIR/tls.pem alpn http/1.1
    acl m_get    method GET
    acl p_get    pathq -m str /get
    acl p_any    pathq -m reg ^/anything/.*$
    http-request deny deny_status 403 unless m_get p_get || m_get p_any
    default_backend plain
frontend icpt
    bind $NODE_IP:$HAPROXY_ICPT ssl crt $RUN_DIR/tls.pem alpn http/1.1
    acl m_get    method GET
    acl p_get    pathq -m str /get
    acl p_any    pathq -m reg ^/anything/.*$
    http-request deny deny_status 403 unless m_get p_get || m_get p_any
    default_backend tls
backend plain
    http-reuse safe
    server up $UPSTREAM_IP:80
backend tls
    http-reuse safe
    server up $UPSTREAM_IP:443 ssl verify required ca-file $CA sni str($UPSTREAM_NAME) verifyhost $UPSTREAM_NAME
CONF
  local temp="client_body_temp_path $RUN_DIR/pt-body; proxy_temp_path $RUN_DIR/pt-proxy; fastcgi_temp_path $RUN_DIR/pt-fcgi; uwsgi_temp_path $RUN_DIR/pt-uwsgi; scgi_temp_path $RUN_DIR/pt-scgi;"
  cat >"$RUN_DIR/nginx-tls.conf" <<CONF
worker_processes 1;
daemon off;
master_process on;
pid $RUN_DIR/nginx-tls.pid;
error_log $RUN_DIR/nginx-tls.err warn;
worker_rlimit_nofile 65536;
events { worker_connections 16384; multi_accept on; }
http {
    access_log off;
    server_tokens off;
    keepalive_requests 100000000;
    keepalive_timeout 300s;
    $temp
    ssl_certificate $RUN_DIR/tls.crt;
    ssl_certificate_key $RUN_DIR/tls.key;
    upstream plain {
        server $UPSTREAM_IP:80;
        keepalive 256;
        keepalive_requests 100000000;
        keepalive_timeout 300s;
    }
    upstream tls {
        server $UPSTREAM_IP:443;
        keepalive 256;
        keepalive_requests 100000000;
        keepalive_timeout 300s;
    }
    map "\$request_method \$request_uri" \$l7_allowed {
        default                 0;
        "GET /get"              1;
        "~^GET /anything/.*\$"   1;
    }
    proxy_http_version 1.1;
    proxy_set_header Connection "";
    server {
        listen $NODE_IP:$NGINX_TERM ssl backlog=4096;
        location / {
            if (\$l7_allowed = 0) { return 403; }
            proxy_pass http://plain;
        }
    }
    server {
        listen $NODE_IP:$NGINX_ICPT ssl backlog=4096;
        proxy_ssl_verify on;
        proxy_ssl_trusted_certificate $CA;
        proxy_ssl_name $UPSTREAM_NAME;
        proxy_ssl_server_name on;
        proxy_ssl_session_reuse on;
        location / {
            if (\$l7_allowed = 0) { return 403; }
            proxy_pass https://tls;
        }
    }
}
CONF
  {
    cat <<CONF
admin:
  address:
    socket_address: { address: 127.0.0.1, port_value: $ENVOY_ADMIN_PORT }
static_resources:
  listeners:
CONF
    envoy_listener term "$ENVOY_TERM" plain
    envoy_listener icpt "$ENVOY_ICPT" tls
    cat <<CONF
  clusters:
  - name: plain
    type: STATIC
    connect_timeout: 2s
    circuit_breakers:
      thresholds:
      - { max_connections: 100000, max_pending_requests: 100000, max_requests: 100000 }
    load_assignment:
      cluster_name: plain
      endpoints:
      - lb_endpoints:
        - endpoint:
            address:
              socket_address: { address: $UPSTREAM_IP, port_value: 80 }
  - name: tls
    type: STATIC
    connect_timeout: 2s
    circuit_breakers:
      thresholds:
      - { max_connections: 100000, max_pending_requests: 100000, max_requests: 100000 }
    load_assignment:
      cluster_name: tls
      endpoints:
      - lb_endpoints:
        - endpoint:
            address:
              socket_address: { address: $UPSTREAM_IP, port_value: 443 }
    transport_socket:
      name: envoy.transport_sockets.tls
      typed_config:
        "@type": type.googleapis.com/envoy.extensions.transport_sockets.tls.v3.UpstreamTlsContext
        sni: $UPSTREAM_NAME
        common_tls_context:
          validation_context:
            trusted_ca: { filename: $CA }
            match_typed_subject_alt_names:
            - san_type: DNS
              matcher: { exact: $UPSTREAM_NAME }
CONF
  } >"$RUN_DIR/envoy-tls.yaml"
}

# envoy_listener NAME PORT CLUSTER: a TLS listener with the bench's RBAC rules (as
# configs/envoy.yaml.in) in front of CLUSTER; HTTP/1.0 accepted (ab speaks it and reads each
# answer until the close, which Envoy would otherwise delay by up to 1 s: delayed_close_timeout).
envoy_listener() {
  cat <<CONF
  - name: $1
    address:
      socket_address: { address: $NODE_IP, port_value: $2 }
    per_connection_buffer_limit_bytes: 1048576
    filter_chains:
    - transport_socket:
        name: envoy.transport_sockets.tls
        typed_config:
          "@type": type.googleapis.com/envoy.extensions.transport_sockets.tls.v3.DownstreamTlsContext
          common_tls_context:
            alpn_protocols: ["http/1.1"]
            tls_certificates:
            - certificate_chain: { filename: $RUN_DIR/tls.crt }
              private_key: { filename: $RUN_DIR/tls.key }
      filters:
      - name: envoy.filters.network.http_connection_manager
        typed_config:
          "@type": type.googleapis.com/envoy.extensions.filters.network.http_connection_manager.v3.HttpConnectionManager
          stat_prefix: $1
          codec_type: HTTP1
          http_protocol_options: { accept_http_10: true }
          delayed_close_timeout: 0s
          route_config:
            name: $1
            virtual_hosts:
            - name: any
              domains: ["*"]
              routes:
              - match: { prefix: "/" }
                route: { cluster: $3, timeout: 15s }
          http_filters:
          - name: envoy.filters.http.rbac
            typed_config:
              "@type": type.googleapis.com/envoy.extensions.filters.http.rbac.v3.RBAC
              rules:
                action: ALLOW
                policies:
                  l7-rules:
                    principals: [ { any: true } ]
                    permissions:
                    - and_rules:
                        rules:
                        - header: { name: ":method", string_match: { exact: "GET" } }
                        - header: { name: ":path", string_match: { safe_regex: { regex: "/get" } } }
                    - and_rules:
                        rules:
                        - header: { name: ":method", string_match: { exact: "GET" } }
                        - header: { name: ":path", string_match: { safe_regex: { regex: "/anything/.*" } } }
          - name: envoy.filters.http.router
            typed_config:
              "@type": type.googleapis.com/envoy.extensions.filters.http.router.v3.Router
CONF
}

# tls_url SYSTEM MODE: where the client sends (Sluice: the upstream by name, 443 intercepting,
# 8443 terminating; the peers: their listener on the node).
tls_url() {
  local port
  case $1:$2 in
    sluice:icpt) echo "https://$UPSTREAM_NAME:443"; return ;;
    sluice:term) echo "https://$UPSTREAM_NAME:8443"; return ;;
    haproxy:term) port=$HAPROXY_TERM ;; haproxy:icpt) port=$HAPROXY_ICPT ;;
    nginx:term) port=$NGINX_TERM ;; nginx:icpt) port=$NGINX_ICPT ;;
    envoy:term) port=$ENVOY_TERM ;; envoy:icpt) port=$ENVOY_ICPT ;;
  esac
  echo "https://$NODE_IP:$port"
}

tls_sandbox_up() {
  write_base_policy
  POLICY="$RUN_DIR/base-policy.yaml" sandbox_up --workers 1 --pin-cpu "$PROXY_CPU" || die "sandbox up failed"
  make_certificate || { cat "$RUN_DIR/openssl.err" >&2; die "could not make the bench certificate"; }
  quick_ack || die "could not set quickack on the node's route to the client"
  stop_bg upstream
  write_configs
  start_bg upstream "$UPSTREAM_NS" "$LOAD_CPU" nginx -c "$RUN_DIR/upstream-tls.conf" -p "$RUN_DIR"
  wait_http "http://$UPSTREAM_IP:8443/get" || die "the TLS upstream does not answer"
}

# quick_ack: the node's route to the client pod acknowledges at once (`quickack 1`, node namespace
# only, so every system alike). ab sends the request right after its TLS 1.3 Finished without
# TCP_NODELAY: a server that sends nothing back first (Envoy sends its session tickets with the
# answer) would otherwise hold the request 40 ms behind the delayed ACK (Nagle), and measure ab.
quick_ack() {
  local client_ip host_if
  read -r client_ip host_if < <(python3 -c '
import json, sys
e = [e for e in json.load(open(sys.argv[1]))["endpoints"] if e["namespace"] == "bench" and e["pod"] == "client"][0]
print(e["ipv4"], e["hostIfName"])' "$STATE")
  ip -n "$NODE_NS" route replace "$client_ip/32" dev "$host_if" quickack 1
}

start_tls_peer() {
  case $1 in
    haproxy) start_bg haproxy "$NODE_NS" "$PROXY_CPU" haproxy -db -f "$RUN_DIR/haproxy-tls.cfg" ;;
    nginx)   start_bg nginx "$NODE_NS" "$PROXY_CPU" nginx -c "$RUN_DIR/nginx-tls.conf" -p "$RUN_DIR" ;;
    envoy)   start_bg envoy "$NODE_NS" "$PROXY_CPU" "$(envoy_bin)" -c "$RUN_DIR/envoy-tls.yaml" --concurrency 1 \
               --disable-hot-restart -l warning ;;
  esac
  wait_https "$(tls_url "$1" term)/get"
}

# wait_https URL: bounded wait (10 s) until the client pod completes a verified TLS request to URL.
wait_https() {
  local i code
  for i in $(seq 1 100); do
    code=$(in_client curl -s -o /dev/null -m 1 --cacert "$CA" -w '%{http_code}' "$1" 2>/dev/null)
    [ -n "$code" ] && [ "$code" != 000 ] && return 0
    sleep 0.1
  done
  log "no TLS answer from $1"; return 1
}

# check_tls SYSTEM: in every mode, the certificate verifies against the sandbox CA and the rules
# answer as Cilium's would (the upstream answers 200 to everything, so a 403 proves the proxy
# read the decrypted request).
check_tls() {
  local sys=$1 mode base out="$RAW/$1/check.txt" fail=0 method path want got
  mkdir -p "$RAW/$sys"; : >"$out"
  for mode in $TLS_MODES; do
    base=$(tls_url "$sys" "$mode")
    while read -r method path want; do
      got=$(in_client curl -s -o /dev/null -w '%{http_code}' --cacert "$CA" --http1.1 -X "$method" -m 3 "$base$path")
      [ "$got" = "$want" ] || fail=1
      printf '%-4s %-4s %-5s %-24s want %s got %s\n' "$([ "$got" = "$want" ] && echo ok || echo FAIL)" "$mode" "$method" "$path" "$want" "$got" >>"$out"
    done <<'CASES'
GET /get 200
GET /anything/a/b/c?x=1 200
GET /get?x=1 403
GET /other 403
POST /post 403
CASES
  done
  [ $fail = 0 ] || { log "$sys: TLS rule check FAILED"; cat "$out" >&2; }
  return $fail
}

# run_tls SYSTEM MODE LOAD REP: one bounded run; raw output + .meta (proxy CPU, peak RSS).
run_tls() {
  local sys=$1 mode=$2 load=$3 rep=$4 url base t0 t1
  url=$(tls_url "$sys" "$mode"); base="$RAW/$sys/$mode-$load.$rep"
  log "$sys tls-$mode-$load rep $rep"
  t0=$(cpu_ticks "$sys")
  case $load in
    ka)  in_client timeout $((DURATION + 20)) wrk -t1 -c"$TLS_CONNS" -d"${DURATION}s" --latency "$url/get" ;;
    new) in_client timeout $((DURATION + 20)) ab -q -t "$DURATION" -n 100000000 -c "$HS_CONNS" "$url/get" ;;
  esac >"$base.txt" 2>&1
  t1=$(cpu_ticks "$sys")
  { echo "proxy_cpu_s=$(awk -v a="$t0" -v b="$t1" -v h="$CLK_TCK" 'BEGIN{print (b-a)/h}')"
    echo "proxy_hwm_kb=$(hwm_kb "$sys")"
  } >"$base.meta"
  sleep "$SETTLE"
}

# sluice_ready: applies the TLS policy; on refusal, or when the rules do not answer over TLS,
# records why in $RAW/sluice/not-measured.txt and fails.
sluice_ready() {
  mkdir -p "$RAW/sluice"
  if ! "$SLUICE" apply -f "$BENCH/tls-policy.yaml" >"$RUN_DIR/tls-apply.out" 2>&1; then
    { echo "sluice apply refused bench/tls-policy.yaml (terminatingTLS/originatingTLS):"; cat "$RUN_DIR/tls-apply.out"; } \
      >"$RAW/sluice/not-measured.txt"
    log "$(cat "$RAW/sluice/not-measured.txt")"
    return 1
  fi
  wait_https "$(tls_url sluice term)/get" >/dev/null 2>&1 || true
  if ! check_tls sluice; then
    { echo "sluice accepted bench/tls-policy.yaml but the rules do not answer as Cilium's over TLS:"; cat "$RAW/sluice/check.txt"; } \
      >"$RAW/sluice/not-measured.txt"
    return 1
  fi
}

tls_sandbox_up
systems=()
sluice_ready && systems+=(sluice)
for sys in $PEERS; do
  if start_tls_peer "$sys" && check_tls "$sys"; then systems+=("$sys"); else stop_bg "$sys"; fi
done
log "measuring: ${systems[*]}"
for rep in $(seq 1 "$REPS"); do
  for mode in $TLS_MODES; do
    for load in $TLS_LOADS; do
      for sys in "${systems[@]}"; do run_tls "$sys" "$mode" "$load" "$rep"; done
    done
  done
done
sandbox_down
python3 "$BENCH/tls_summary.py" "$OUT" | tee "$OUT/summary.md"
[ ! -f "$RAW/sluice/not-measured.txt" ] || exit 3
