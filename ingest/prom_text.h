// PromLabel: a value for a label of Prometheus' text exposition format, for
// every module that renders metrics (ingest/kafka_stats.cc, app/main.cc).
//
// Thread safety: pure.
#ifndef LEADFLOW_INGEST_PROM_TEXT_H_
#define LEADFLOW_INGEST_PROM_TEXT_H_

#include <string>
#include <string_view>

namespace leadflow::ingest {

// v with backslash, double quote and newline escaped, as the format asks.
inline std::string PromLabel(std::string_view v) {
  std::string out;
  out.reserve(v.size());
  for (char c : v) {
    if (c == '\n') {
      out += "\\n";
      continue;
    }
    if (c == '\\' || c == '"') out.push_back('\\');
    out.push_back(c);
  }
  return out;
}

}  // namespace leadflow::ingest

#endif  // LEADFLOW_INGEST_PROM_TEXT_H_
