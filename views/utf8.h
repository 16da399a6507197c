// UTF-8: well-formedness and cutting at character boundaries, for every
// place that turns outside bytes into JSON text (the renderers throw on
// anything else) or into messages.
//
// Thread safety: pure functions.
#ifndef LEADFLOW_VIEWS_UTF8_H_
#define LEADFLOW_VIEWS_UTF8_H_

#include <cstddef>
#include <string>
#include <string_view>

namespace leadflow::views {

// True when s is well-formed UTF-8 (no overlong forms, surrogates or code
// points past U+10FFFF).
bool IsValidUtf8(std::string_view s);

// The length of the longest prefix of s of at most max bytes that ends at a
// character boundary.
size_t Utf8PrefixLength(std::string_view s, size_t max);

// s cut to at most max bytes at a character boundary, with "..." appended
// when cut (the result may then be max + 3 bytes long).
std::string CutUtf8(std::string_view s, size_t max);

}  // namespace leadflow::views

#endif  // LEADFLOW_VIEWS_UTF8_H_
