// libFuzzer target for views/query_parser.h: any input either parses, or is
// refused with InvalidArgument "position N: ..." (N within the text) or the
// length message; a parsed query survives the QueryToString round trip and
// its canonical text is a fixed point. Any violation aborts.
//
// Built as a fuzzer with -DLEADFLOW_FUZZ=ON (clang), and into the corpus
// replay test of the default build (replay_main.cc); see README.md.
#include <cstddef>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <string>
#include <string_view>

#include "views/query_parser.h"

namespace {

[[noreturn]] void Fail(const char* what, std::string_view input, const std::string& detail) {
  std::fprintf(stderr, "query_parser_fuzz: %s\n  input: [%.*s]\n  %s\n", what, static_cast<int>(input.size()),
               input.data(), detail.c_str());
  std::abort();
}

// Checks "position N: " with 1 <= N <= characters + 1.
bool ValidPositionPrefix(std::string_view text, const std::string& message) {
  constexpr std::string_view kPrefix = "position ";
  if (message.rfind(kPrefix, 0) != 0) return false;
  size_t i = kPrefix.size();
  size_t n = 0;
  while (i < message.size() && message[i] >= '0' && message[i] <= '9')
    n = n * 10 + static_cast<size_t>(message[i++] - '0');
  if (i == kPrefix.size() || message.compare(i, 2, ": ") != 0) return false;
  size_t chars = 0;
  for (char c : text) chars += (static_cast<unsigned char>(c) & 0xC0) != 0x80;
  return n >= 1 && n <= chars + 1;
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  using leadflow::views::kMaxQueryBytes;
  using leadflow::views::ParseQuery;
  using leadflow::views::Query;
  using leadflow::views::QueryToString;

  const std::string_view text(reinterpret_cast<const char*>(data), size);
  Query q;
  const leadflow::Status s = ParseQuery(text, &q);
  if (!s.ok()) {
    if (!s.IsInvalidArgument()) Fail("error is not InvalidArgument", text, s.ToString());
    if (size <= kMaxQueryBytes && !ValidPositionPrefix(text, s.message())) {
      Fail("error without a valid position", text, s.ToString());
    }
    return 0;
  }
  const std::string canonical = QueryToString(q);
  if (canonical.size() > kMaxQueryBytes) return 0;  // the round trip is promised within the limit
  Query again;
  const leadflow::Status s2 = ParseQuery(canonical, &again);
  if (!s2.ok()) Fail("canonical text does not parse", text, canonical + "\n  " + s2.ToString());
  if (!(again == q)) Fail("round trip changed the query", text, canonical + "\n  -> " + QueryToString(again));
  if (QueryToString(again) != canonical) Fail("canonical text is not a fixed point", text, canonical);
  return 0;
}
