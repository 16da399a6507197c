// ASCII case folding, for the names and labels the contracts compare
// without regard to ASCII case (status labels in queries, LeadSquared's
// field and operator names). Other bytes compare as they are.
//
// Thread safety: pure functions.
#ifndef LEADFLOW_VIEWS_ASCII_H_
#define LEADFLOW_VIEWS_ASCII_H_

#include <cstddef>
#include <string_view>

namespace leadflow::views {

// c with an ASCII capital letter lowered.
inline char LowerAscii(char c) { return c >= 'A' && c <= 'Z' ? static_cast<char>(c - 'A' + 'a') : c; }

// True when a and b are equal ignoring ASCII case.
inline bool EqualsNoCase(std::string_view a, std::string_view b) {
  if (a.size() != b.size()) return false;
  for (size_t i = 0; i < a.size(); ++i) {
    if (LowerAscii(a[i]) != LowerAscii(b[i])) return false;
  }
  return true;
}

}  // namespace leadflow::views

#endif  // LEADFLOW_VIEWS_ASCII_H_
