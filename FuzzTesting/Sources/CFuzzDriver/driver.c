// Header-only target: LLVMFuzzerRunDriver lives in libclang_rt.fuzzer, linked by -sanitize=fuzzer.
#include "CFuzzDriver.h"
