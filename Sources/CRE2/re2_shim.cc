// re2_shim.cc: the C ABI of include/CRE2.h over RE2 (Debian libre2-dev).
// Exceptions never cross this boundary: RE2 reports errors through ok()/error(), and the only
// allocations that could throw are wrapped.
#include "CRE2.h"

#include <re2/re2.h>

#include <cstdlib>
#include <cstring>
#include <new>
#include <string>

struct cre2_regex {
    re2::RE2 re;
    cre2_regex(const re2::StringPiece &pattern, const re2::RE2::Options &options) : re(pattern, options) {}
};

namespace {

char *copy_message(const std::string &message) {
    char *out = static_cast<char *>(std::malloc(message.size() + 1));
    if (out == nullptr) {
        return nullptr;
    }
    std::memcpy(out, message.data(), message.size());
    out[message.size()] = '\0';
    return out;
}

}  // namespace

extern "C" cre2_regex *cre2_compile(const char *pattern, size_t length, char **error) {
    if (error != nullptr) {
        *error = nullptr;
    }
    re2::RE2::Options options;
    options.set_log_errors(false);
    options.set_encoding(re2::RE2::Options::EncodingLatin1);
    options.set_case_sensitive(true);
    cre2_regex *handle = nullptr;
    try {
        handle = new cre2_regex(re2::StringPiece(pattern == nullptr ? "" : pattern, length), options);
    } catch (...) {
        if (error != nullptr) {
            *error = copy_message("out of memory");
        }
        return nullptr;
    }
    if (!handle->re.ok()) {
        if (error != nullptr) {
            *error = copy_message(handle->re.error());
        }
        delete handle;
        return nullptr;
    }
    return handle;
}

extern "C" int cre2_full_match(const cre2_regex *regex, const char *subject, size_t length) {
    if (regex == nullptr) {
        return 0;
    }
    re2::StringPiece text(subject == nullptr ? "" : subject, length);
    return re2::RE2::FullMatch(text, regex->re) ? 1 : 0;
}

extern "C" int cre2_program_size(const cre2_regex *regex) {
    return regex == nullptr ? 0 : regex->re.ProgramSize();
}

extern "C" void cre2_free(cre2_regex *regex) {
    delete regex;
}

extern "C" void cre2_free_error(char *error) {
    std::free(error);
}
