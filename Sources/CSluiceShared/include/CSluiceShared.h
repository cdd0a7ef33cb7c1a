// Exposes the kernel/user structs of bpf/include to Swift; the headers themselves live in bpf/include.
#ifndef CSLUICESHARED_H
#define CSLUICESHARED_H
#include <linux/types.h>
#include "../../../bpf/include/sluice_flow.h"
#include "../../../bpf/include/sluice_maps.h"
#include "../../../bpf/include/sluice_identity.h"
#include "../../../bpf/include/sluice_dns.h"
#endif
