// Atomics on raw memory shared with the kernel (the mmapped flow ring). Swift has no atomics on
// arbitrary pointers without swift-atomics, so these wrap the compiler's __atomic builtins.
// They are static inline: Swift imports and inlines them, so an append costs no extra call.
#ifndef CSLUICE_ATOMIC_H
#define CSLUICE_ATOMIC_H
#include <stdint.h>

/// Atomically adds `value` to `*p` (sequentially consistent) and returns the previous value.
/// Used by FlowRing.append to take a sequence number; BPF programs use the same counter with
/// __sync_fetch_and_add.
static inline uint64_t CSluice_atomic_fetch_add_u64(uint64_t *p, uint64_t value) {
    return __atomic_fetch_add(p, value, __ATOMIC_SEQ_CST);
}

/// Stores `value` with release ordering: every store before it is visible before it.
static inline void CSluice_atomic_store_release_u64(uint64_t *p, uint64_t value) {
    __atomic_store_n(p, value, __ATOMIC_RELEASE);
}

/// Stores `value` with relaxed ordering (atomic, no ordering).
static inline void CSluice_atomic_store_relaxed_u64(uint64_t *p, uint64_t value) {
    __atomic_store_n(p, value, __ATOMIC_RELAXED);
}

/// Raises `*p` to `value` unless it is already larger (release ordering); concurrent callers
/// never move it backwards.
static inline void CSluice_atomic_max_release_u64(uint64_t *p, uint64_t value) {
    uint64_t seen = __atomic_load_n(p, __ATOMIC_RELAXED);
    while (seen < value &&
           !__atomic_compare_exchange_n(p, &seen, value, 1, __ATOMIC_RELEASE, __ATOMIC_RELAXED)) {
    }
}

/// Loads `*p` with acquire ordering: later loads cannot move before it.
static inline uint64_t CSluice_atomic_load_acquire_u64(const uint64_t *p) {
    return __atomic_load_n(p, __ATOMIC_ACQUIRE);
}

/// Release fence: stores before it are visible before stores after it (used after marking a
/// flow slot incomplete, before filling it).
static inline void CSluice_atomic_thread_fence_release(void) {
    __atomic_thread_fence(__ATOMIC_RELEASE);
}

/// Acquire fence: loads before it complete before loads after it (used by flow readers between
/// copying a slot and re-reading its commit word).
static inline void CSluice_atomic_thread_fence_acquire(void) {
    __atomic_thread_fence(__ATOMIC_ACQUIRE);
}

/// Asks the CPU to fetch the cache line at `p` for writing (a hint: it never faults, and a
/// CPU without the instruction ignores it). FlowRing.appendWritten fetches the next slot's lines
/// while the current record is written: a slot is written once per trip round the 4 MiB ring, so
/// its lines are cold, and the stores that missed held up the writer (docs/performance.md, s18-own).
static inline void CSluice_prefetch_write(const void *p) {
    __builtin_prefetch(p, 1, 3);
}

/// Asks the CPU to fetch the cache line at `p` for reading (a hint, as above). Flow readers fetch
/// the lines of a record two ahead of the one they copy: lines another core wrote.
static inline void CSluice_prefetch_read(const void *p) {
    __builtin_prefetch(p, 0, 3);
}

/// Copies `lines` 64-byte cache lines from `src` to `dst` (both 16-byte aligned; `dst` best
/// 64-byte aligned) with non-temporal stores: the destination's lines are not read first (no
/// read for ownership) and do not displace the cache. The observer keeps each record it reads in a
/// 4 MiB history that is read back only by GetFlows: written the ordinary way, each record's
/// 3-5 history lines were fetched before being overwritten, and pushed out the lines the next
/// records needed (docs/performance.md, s23-obs). The stores are weakly ordered: the same thread
/// reads them back as usual; another thread must be handed them after CSluice_store_fence.
static inline void CSluice_stream_lines(void *dst, const void *src, unsigned long lines) {
    typedef long long CSluice_v2di __attribute__((vector_size(16)));
    CSluice_v2di *d = (CSluice_v2di *)dst;
    const CSluice_v2di *s = (const CSluice_v2di *)src;
    for (unsigned long i = 0; i < lines * 4; i++) {
        __builtin_nontemporal_store(s[i], &d[i]);
    }
}

/// Orders the non-temporal stores before it before every store after it (x86 `sfence`).
static inline void CSluice_store_fence(void) {
#if defined(__x86_64__) || defined(__i386__)
    __builtin_ia32_sfence();
#else
    __atomic_thread_fence(__ATOMIC_RELEASE);
#endif
}

#endif
