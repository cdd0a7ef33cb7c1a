// libbpf opts-based calls behind plain C signatures (see include/CSluice_bpf.h).
#include "CSluice_bpf.h"

#include <errno.h>
#include <string.h>
#include <unistd.h>
#include <sys/vfs.h>
#include <linux/magic.h>
#include <bpf/bpf.h>
#include <bpf/libbpf.h>

struct bpf_object *CSluice_bpf_object_open(const char *path, const char *pin_root) {
    LIBBPF_OPTS(bpf_object_open_opts, opts, .pin_root_path = pin_root);
    return bpf_object__open_file(path, &opts);
}

int CSluice_tc_hook_create_ingress(int ifindex) {
    LIBBPF_OPTS(bpf_tc_hook, hook, .ifindex = ifindex, .attach_point = BPF_TC_INGRESS);
    int err = bpf_tc_hook_create(&hook);
    if (err == -EEXIST)
        return 1;
    return err;
}

int CSluice_tc_attach_ingress(int ifindex, uint32_t handle, uint32_t priority, int prog_fd) {
    LIBBPF_OPTS(bpf_tc_hook, hook, .ifindex = ifindex, .attach_point = BPF_TC_INGRESS);
    LIBBPF_OPTS(bpf_tc_opts, opts, .handle = handle, .priority = priority, .prog_fd = prog_fd,
                .flags = BPF_TC_F_REPLACE);
    return bpf_tc_attach(&hook, &opts);
}

int CSluice_tc_detach_ingress(int ifindex, uint32_t handle, uint32_t priority) {
    LIBBPF_OPTS(bpf_tc_hook, hook, .ifindex = ifindex, .attach_point = BPF_TC_INGRESS);
    LIBBPF_OPTS(bpf_tc_opts, opts, .handle = handle, .priority = priority);
    return bpf_tc_detach(&hook, &opts);
}

int CSluice_bpf_prog_test_run(int prog_fd, const void *data, uint32_t data_size,
                              void *ctx_in, uint32_t ctx_size, void *ctx_out, uint32_t *retval) {
    return CSluice_bpf_prog_test_run_packet(prog_fd, 1, data, data_size, NULL, NULL, ctx_in, ctx_size, ctx_out,
                                            retval);
}

int CSluice_bpf_prog_test_run_packet(int prog_fd, uint32_t repeat, const void *data, uint32_t data_size,
                                     void *data_out, uint32_t *data_out_size, void *ctx_in, uint32_t ctx_size,
                                     void *ctx_out, uint32_t *retval) {
    LIBBPF_OPTS(bpf_test_run_opts, opts, .data_in = data, .data_size_in = data_size,
                .data_out = data_out, .data_size_out = data_out && data_out_size ? *data_out_size : 0,
                .ctx_in = ctx_in, .ctx_size_in = ctx_in ? ctx_size : 0,
                .ctx_out = ctx_out, .ctx_size_out = ctx_out ? ctx_size : 0, .repeat = repeat ? repeat : 1);
    int err = bpf_prog_test_run_opts(prog_fd, &opts);
    if (err < 0)
        return err;
    *retval = opts.retval;
    if (data_out && data_out_size)
        *data_out_size = opts.data_size_out;
    return 0;
}

int CSluice_bpf_object_unpin_stale(struct bpf_object *obj, void (*report)(const char *pin_path)) {
    int dropped = 0;
    struct bpf_map *map;
    bpf_object__for_each_map(map, obj) {
        const char *pin = bpf_map__pin_path(map);
        if (!pin)
            continue;
        int fd = bpf_obj_get(pin);
        if (fd < 0)
            continue; /* not pinned yet: libbpf creates and pins it */
        struct bpf_map_info info;
        uint32_t len = sizeof(info);
        memset(&info, 0, sizeof(info));
        int err = bpf_obj_get_info_by_fd(fd, &info, &len);
        close(fd);
        if (err < 0)
            return err;
        if (info.type == (uint32_t)bpf_map__type(map) && info.key_size == bpf_map__key_size(map) &&
            info.value_size == bpf_map__value_size(map) && info.max_entries == bpf_map__max_entries(map) &&
            info.map_flags == bpf_map__map_flags(map))
            continue;
        if (unlink(pin) != 0 && errno != ENOENT)
            return -errno;
        if (report)
            report(pin);
        dropped++;
    }
    return dropped;
}

int CSluice_bpf_link_netns_ino(int link_fd, uint32_t *netns_ino) {
    struct bpf_link_info info;
    uint32_t len = sizeof(info);
    memset(&info, 0, sizeof(info));
    int err = bpf_obj_get_info_by_fd(link_fd, &info, &len);
    if (err < 0)
        return err;
    *netns_ino = info.netns.netns_ino;
    return 0;
}

int CSluice_is_bpffs(const char *path) {
    struct statfs info;
    if (statfs(path, &info) != 0)
        return -errno;
    return info.f_type == BPF_FS_MAGIC ? 1 : 0;
}
