// C shims for what Swift cannot import directly. Each shim keeps its C name behind CSluice_.
#ifndef CSLUICE_H
#define CSLUICE_H
#include <stdint.h>
#include <sys/types.h>
#endif
