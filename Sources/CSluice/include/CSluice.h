// C shims for what Swift cannot import directly. Each shim keeps its C name behind CSluice_.
// This is the umbrella header of the CSluice module: it includes one header per concern.
#ifndef CSLUICE_H
#define CSLUICE_H
#include <stdint.h>
#include <sys/types.h>
#include "CSluice_atomic.h"
#include "CSluice_bpf.h"
#include "CSluice_dns.h"
#include "CSluice_io.h"
#endif
