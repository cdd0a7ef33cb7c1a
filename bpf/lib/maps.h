/* The maps every Sluice program shares. Each is pinned by name under the loader's pin_root_path
 * (/sys/fs/bpf/sluice/<name>), so the second object to load, and every agent restart, reuses the
 * same maps: policy ports, steered flows and the flow ring survive a reload.
 * Keys and values: include/sluice_maps.h and include/sluice_flow.h (shared with Swift). */
#ifndef SLUICE_LIB_MAPS_H
#define SLUICE_LIB_MAPS_H

#include <linux/bpf.h>
#include <bpf/bpf_helpers.h>

#include "sluice_flow.h"
#include "sluice_maps.h"

/* Pod IPv4 (network order) -> endpoint ID and identity. Written by the agent. */
struct {
    __uint(type, BPF_MAP_TYPE_HASH);
    __uint(max_entries, SLUICE_MAX_ENDPOINTS);
    __type(key, struct sluice_endpoint_key);
    __type(value, struct sluice_endpoint_info);
    __uint(pinning, LIBBPF_PIN_BY_NAME);
} sluice_endpoints SEC(".maps");

/* Host-side veth ifindex -> endpoint (the same value as its sluice_endpoints entry). Written by
 * the agent. */
struct {
    __uint(type, BPF_MAP_TYPE_HASH);
    __uint(max_entries, SLUICE_MAX_ENDPOINTS);
    __type(key, struct sluice_veth_key);
    __type(value, struct sluice_endpoint_info);
    __uint(pinning, LIBBPF_PIN_BY_NAME);
} sluice_veths SEC(".maps");

/* (endpoint, port, proto, direction) -> proxy kind. Written by the agent from the policy. */
struct {
    __uint(type, BPF_MAP_TYPE_HASH);
    __uint(max_entries, SLUICE_MAX_L7_PORTS);
    __type(key, struct sluice_l7_key);
    __type(value, struct sluice_l7_value);
    __uint(pinning, LIBBPF_PIN_BY_NAME);
} sluice_l7_ports SEC(".maps");

/* 4-tuple of a steered connection/datagram flow. Written by tc, read by sk_lookup and the proxy. */
struct {
    __uint(type, BPF_MAP_TYPE_LRU_HASH);
    __uint(max_entries, SLUICE_MAX_STEERED);
    __type(key, struct sluice_tuple);
    __type(value, struct sluice_steer_info);
    __uint(pinning, LIBBPF_PIN_BY_NAME);
} sluice_steered SEC(".maps");

/* (endpoint, peer identity, port, proto, direction) -> allow / deny / redirect. Written by the
 * agent from the compiled policy; no prealloc, since port ranges can make it large. */
struct {
    __uint(type, BPF_MAP_TYPE_HASH);
    __uint(max_entries, SLUICE_MAX_POLICY_ENTRIES);
    __uint(map_flags, BPF_F_NO_PREALLOC);
    __type(key, struct sluice_policy_key);
    __type(value, struct sluice_policy_value);
    __uint(pinning, LIBBPF_PIN_BY_NAME);
} sluice_policy SEC(".maps");

/* (endpoint, direction) -> enforcement (default deny on/off). Written by the agent. */
struct {
    __uint(type, BPF_MAP_TYPE_HASH);
    __uint(max_entries, SLUICE_MAX_POLICY_MODES);
    __type(key, struct sluice_policy_mode_key);
    __type(value, struct sluice_policy_mode);
    __uint(pinning, LIBBPF_PIN_BY_NAME);
} sluice_policy_mode SEC(".maps");

/* IPv4 prefix -> identity (longest prefix wins). Written by the agent. */
struct {
    __uint(type, BPF_MAP_TYPE_LPM_TRIE);
    __uint(max_entries, SLUICE_MAX_IPCACHE);
    __uint(map_flags, BPF_F_NO_PREALLOC);
    __type(key, struct sluice_ipcache_key);
    __type(value, struct sluice_ipcache_value);
    __uint(pinning, LIBBPF_PIN_BY_NAME);
} sluice_ipcache SEC(".maps");

/* Connection tracking: tuples of connections tc allowed. Written by tc. */
struct {
    __uint(type, BPF_MAP_TYPE_LRU_HASH);
    __uint(max_entries, SLUICE_MAX_CT);
    __type(key, struct sluice_tuple);
    __type(value, struct sluice_ct_entry);
    __uint(pinning, LIBBPF_PIN_BY_NAME);
} sluice_ct SEC(".maps");

/* Ports of fragmented IPv4 datagrams, by (addresses, IP ID, proto). Written and read by tc;
 * LRU, no timeout, like Cilium's fragment map. */
struct {
    __uint(type, BPF_MAP_TYPE_LRU_HASH);
    __uint(max_entries, SLUICE_MAX_FRAGMENTS);
    __type(key, struct sluice_frag_key);
    __type(value, struct sluice_frag_value);
    __uint(pinning, LIBBPF_PIN_BY_NAME);
} sluice_fragments SEC(".maps");

/* enum sluice_sock_index -> proxy listener. The proxy inserts its listeners by fd; the kernel
 * removes a socket when it is closed, which is what makes an absent proxy fail closed. */
struct {
    __uint(type, BPF_MAP_TYPE_SOCKMAP);
    __uint(max_entries, SLUICE_SOCK_MAX);
    __type(key, __u32);
    __type(value, __u64);
    __uint(pinning, LIBBPF_PIN_BY_NAME);
} sluice_proxy_socks SEC(".maps");

/* Agent options (struct sluice_config, key 0). */
struct {
    __uint(type, BPF_MAP_TYPE_ARRAY);
    __uint(max_entries, 1);
    __type(key, __u32);
    __type(value, struct sluice_config);
    __uint(pinning, LIBBPF_PIN_BY_NAME);
} sluice_config SEC(".maps");

/* The flow ring's head: next_seq, bumped by every writer (kernel and proxy, through mmap). */
struct {
    __uint(type, BPF_MAP_TYPE_ARRAY);
    __uint(max_entries, 1);
    __uint(map_flags, BPF_F_MMAPABLE);
    __type(key, __u32);
    __type(value, struct sluice_flow_head);
    __uint(pinning, LIBBPF_PIN_BY_NAME);
} sluice_flow_head SEC(".maps");

/* The flow ring: SLUICE_FLOW_SLOTS records, protocol in include/sluice_flow.h. */
struct {
    __uint(type, BPF_MAP_TYPE_ARRAY);
    __uint(max_entries, SLUICE_FLOW_SLOTS);
    __uint(map_flags, BPF_F_MMAPABLE);
    __type(key, __u32);
    __type(value, struct sluice_flow);
    __uint(pinning, LIBBPF_PIN_BY_NAME);
} sluice_flows SEC(".maps");

#endif
