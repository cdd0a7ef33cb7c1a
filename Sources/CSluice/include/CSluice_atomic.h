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

#endif
