// Small helpers of the event generator: a portable PRNG with the few
// distributions it needs (std:: distributions differ between standard
// libraries, which would break determinism), an append-only JSON writer and
// RFC 3339 timestamps.
//
// Thread safety: Rng and JsonWriter are plain values; functions are pure.
#ifndef LEADFLOW_TOOLS_EVENTGEN_UTIL_H_
#define LEADFLOW_TOOLS_EVENTGEN_UTIL_H_

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

namespace leadflow::tools {

// SplitMix64: 8 bytes of state, good enough statistically, cheap to keep one
// per lead.
class Rng {
 public:
  explicit Rng(uint64_t seed = 0) : state_(seed) {}

  uint64_t NextU64() {
    uint64_t z = (state_ += 0x9E3779B97F4A7C15ULL);
    z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9ULL;
    z = (z ^ (z >> 27)) * 0x94D049BB133111EBULL;
    return z ^ (z >> 31);
  }
  // Uniform in [0, 1).
  double Uniform() { return static_cast<double>(NextU64() >> 11) * 0x1.0p-53; }
  // Uniform integer in [0, n); n > 0.
  uint64_t Below(uint64_t n) { return NextU64() % n; }
  bool Chance(double p) { return Uniform() < p; }
  double Exponential(double mean);
  // Poisson-distributed count (normal approximation above a mean of 30).
  int64_t Poisson(double mean);
  // Pareto with the given mean and tail index alpha > 1, capped at cap * mean.
  double Pareto(double mean, double alpha, double cap);
  // Index drawn with probability weights[i] / sum(weights).
  size_t Weighted(const double* weights, size_t n);

 private:
  uint64_t state_;
};

// Mixes values into a seed (for independent per-org / per-lead streams).
uint64_t MixSeed(uint64_t a, uint64_t b);

// Appends a JSON object field by field: {"k":v,...}. Keys are trusted ASCII.
class JsonWriter {
 public:
  explicit JsonWriter(std::string* out) : out_(out) { out_->push_back('{'); }
  JsonWriter& Str(std::string_view key, std::string_view value);
  JsonWriter& Int(std::string_view key, int64_t value);
  JsonWriter& Num(std::string_view key, double value);  // %.15g
  JsonWriter& Bool(std::string_view key, bool value);
  JsonWriter& Null(std::string_view key);
  JsonWriter& Raw(std::string_view key, std::string_view json);
  // An RFC 3339 UTC timestamp string with milliseconds.
  JsonWriter& Time(std::string_view key, int64_t ms);
  // Starts a nested object; call EndObject() on the parent when done.
  JsonWriter& BeginObject(std::string_view key);
  JsonWriter& EndObject();
  void Close() { out_->push_back('}'); }

 private:
  void Key(std::string_view key);
  std::string* out_;
  bool first_ = true;
};

// Appends s as a JSON string literal (quotes included). UTF-8 passes through.
void AppendJsonString(std::string* out, std::string_view s);

// "2024-05-01T10:00:00.123Z".
void AppendRfc3339Ms(std::string* out, int64_t ms);
std::string FormatRfc3339Ms(int64_t ms);
// "2024-05-01 10:00:00" (the LeadSquared date format, whole seconds, UTC).
std::string FormatSqlDateTime(int64_t ms);
// "YYYY-MM-DD", "YYYY-MM-DDTHH:MM:SS[.fff](Z|+HH:MM)"; nullopt if malformed.
std::optional<int64_t> ParseRfc3339Ms(std::string_view text);

int64_t DaysFromCivil(int64_t y, unsigned m, unsigned d);
// Day of week of a day number (0 = Monday).
int WeekdayOfDay(int64_t days);

}  // namespace leadflow::tools

#endif  // LEADFLOW_TOOLS_EVENTGEN_UTIL_H_
