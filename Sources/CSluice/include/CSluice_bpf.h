// libbpf calls whose options are built with the LIBBPF_OPTS macro, which Swift cannot import.
// Return values follow libbpf 1.x: 0 or a non-negative result on success, a negative errno on
// failure; pointer results are NULL with errno set.
#ifndef CSLUICE_BPF_H
#define CSLUICE_BPF_H
#include <stdint.h>

struct bpf_object;

/// bpf_object__open_file with opts.pin_root_path = pin_root: maps declared with
/// LIBBPF_PIN_BY_NAME are reused from, or pinned at, <pin_root>/<map name> at load time.
/// Datapath.open calls it; the caller owns the object (bpf_object__close).
struct bpf_object *CSluice_bpf_object_open(const char *path, const char *pin_root);

/* Before bpf_object__load: removes the pins of maps whose pinned definition (type, key and value
 * size, max_entries, flags) differs from the object's, so that load creates them anew instead of
 * failing with "parameter mismatch" (a newer build changed the map). Calls report(pin path) for
 * each. Returns how many were removed, or -errno. */
int CSluice_bpf_object_unpin_stale(struct bpf_object *obj, void (*report)(const char *pin_path));

/// bpf_tc_hook_create for the clsact qdisc of `ifindex` (ingress hook). An existing qdisc is
/// not an error: returns 0 when created, 1 when it already existed, a negative errno otherwise.
int CSluice_tc_hook_create_ingress(int ifindex);

/// bpf_tc_attach on the ingress hook of `ifindex` with a fixed handle and priority and
/// BPF_TC_F_REPLACE, so attaching again (e.g. after an agent restart) replaces the filter.
/// Returns 0 or a negative errno. Datapath.attachEndpoint calls it.
int CSluice_tc_attach_ingress(int ifindex, uint32_t handle, uint32_t priority, int prog_fd);

/// bpf_tc_detach of the filter with that handle and priority on the ingress hook of
/// `ifindex`; the qdisc stays. Returns 0 or a negative errno (-ENOENT when absent).
int CSluice_tc_detach_ingress(int ifindex, uint32_t handle, uint32_t priority);

/// bpf_prog_test_run_opts (BPF_PROG_RUN) with packet data and an optional context in/out.
/// Stores the program's return value in *retval. Returns 0 or a negative errno. Used by tests.
int CSluice_bpf_prog_test_run(int prog_fd, const void *data, uint32_t data_size,
                              void *ctx_in, uint32_t ctx_size, void *ctx_out, uint32_t *retval);

/// The same, `repeat` times in one call (at least once), and with the packet as the program left
/// it copied to `data_out` when that is not NULL: *data_out_size holds its capacity on the way
/// in and the packet's length on the way out. Used by tests.
int CSluice_bpf_prog_test_run_packet(int prog_fd, uint32_t repeat, const void *data, uint32_t data_size,
                                     void *data_out, uint32_t *data_out_size, void *ctx_in, uint32_t ctx_size,
                                     void *ctx_out, uint32_t *retval);

/// The netns inode of a netns bpf_link (bpf_link_get_info_by_fd), to tell whether a pinned
/// sk_lookup link still belongs to the namespace being attached. Returns 0 or a negative errno.
int CSluice_bpf_link_netns_ino(int link_fd, uint32_t *netns_ino);

/// Whether a BPF filesystem is mounted at `path` (statfs f_type == BPF_FS_MAGIC; <sys/vfs.h>
/// is not in Swift's Glibc module). Returns 1 or 0, or a negative errno when statfs fails.
int CSluice_is_bpffs(const char *path);

#endif
