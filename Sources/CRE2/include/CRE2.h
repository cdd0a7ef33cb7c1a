/// CRE2: a thin C ABI over RE2, so Swift can use the regex engine Envoy (and so Cilium) uses for
/// HTTP rules. Pure C; the implementation is re2_shim.cc.
///
/// Patterns compile with Latin-1 encoding (bytes match bytes, no UTF-8 decoding), case-sensitive,
/// no logging, default memory budget. A compiled handle is immutable and safe to match from any
/// number of threads at once; it is freed exactly once by its owner with cre2_free.
#ifndef CRE2_H
#define CRE2_H

#include <stddef.h>

#ifdef __cplusplus
extern "C" {
#endif

/// An opaque compiled RE2 program.
typedef struct cre2_regex cre2_regex;

/// Compiles `pattern` (`length` bytes, need not be NUL-terminated).
/// Returns a handle, or NULL when the pattern does not compile; then, when `error` is not NULL,
/// `*error` receives a malloc'd NUL-terminated message that the caller frees with cre2_free_error.
cre2_regex *cre2_compile(const char *pattern, size_t length, char **error);

/// RE2::FullMatch of the whole subject (`length` bytes) against the compiled program.
/// Returns 1 on a match, 0 otherwise. Never allocates on the heap.
int cre2_full_match(const cre2_regex *regex, const char *subject, size_t length);

/// RE2::ProgramSize: the size Envoy compares with its `max_program_size` (default 100).
int cre2_program_size(const cre2_regex *regex);

/// Frees a handle from cre2_compile. NULL is ignored.
void cre2_free(cre2_regex *regex);

/// Frees an error message from cre2_compile. NULL is ignored.
void cre2_free_error(char *error);

#ifdef __cplusplus
}
#endif

#endif /* CRE2_H */
