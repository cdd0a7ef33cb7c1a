// libFuzzer's documented driver entry (compiler-rt FuzzerInterface.h), for the fuzz targets' own
// `main`: SwiftPM links every executable with `--defsym main=<Target>_main`, a symbol that
// `-parse-as-library` never emits, so each target defines `<Target>_main` itself and hands
// control to libFuzzer here (swiftlang/swift#75800).
#ifndef CFUZZDRIVER_H
#define CFUZZDRIVER_H
#include <stddef.h>
#include <stdint.h>

/// Runs libFuzzer with the process arguments; `callback` is the target's LLVMFuzzerTestOneInput.
int LLVMFuzzerRunDriver(int *argc, char ***argv, int (*callback)(const uint8_t *data, size_t size));

#endif
