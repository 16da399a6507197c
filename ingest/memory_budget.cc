#include "ingest/memory_budget.h"

#include <algorithm>
#include <cctype>

#include "state/disk.h"

namespace leadflow::ingest {

MemoryBudget MemoryBudget::Split(uint64_t total) {
  MemoryBudget b;
  b.total = total;
  b.lead_cache = total / 100 * 35;
  b.write_buffers = total / 100 * 20;
  b.block_cache = total / 100 * 13;
  b.bitmap_cache = total / 100 * 7;
  b.prefetch = std::clamp<uint64_t>(total / 16, uint64_t{16} << 20, uint64_t{256} << 20);
  b.staged_bytes = total / 16;
  b.report_cache = total / 64;
  b.batch_events = std::clamp<uint64_t>(total / 5120, 10'000, 1'000'000);
  return b;
}

std::optional<uint64_t> MemoryBudget::Parse(std::string_view text) {
  size_t i = 0;
  uint64_t n = 0;
  while (i < text.size() && std::isdigit(static_cast<unsigned char>(text[i]))) {
    if (n > (kMaxBytes >> 20)) return std::nullopt;  // already beyond any valid value
    n = n * 10 + static_cast<uint64_t>(text[i] - '0');
    ++i;
  }
  if (i == 0) return std::nullopt;
  std::string unit;
  for (char c : text.substr(i)) unit.push_back(static_cast<char>(std::tolower(static_cast<unsigned char>(c))));
  int shift = 0;
  if (unit.empty() || unit == "m" || unit == "mb" || unit == "mib") {
    shift = 20;
  } else if (unit == "g" || unit == "gb" || unit == "gib") {
    shift = 30;
  } else {
    return std::nullopt;
  }
  if (n > (kMaxBytes >> shift)) return std::nullopt;
  const uint64_t bytes = n << shift;
  if (bytes < kMinBytes) return std::nullopt;
  return bytes;
}

std::string MemoryBudget::Describe() const {
  return state::HumanBytes(total) + ": lead cache " + state::HumanBytes(lead_cache) + ", write buffers " +
         state::HumanBytes(write_buffers) + ", block cache " + state::HumanBytes(block_cache) + ", bitmap cache " +
         state::HumanBytes(bitmap_cache) + ", prefetch " +
         state::HumanBytes(prefetch) + ", report cache " + state::HumanBytes(report_cache) + ", staged live batches " + state::HumanBytes(staged_bytes) + ", batches of up to " + std::to_string(batch_events) + " events";
}

state::Store::Options MemoryBudget::StoreOptions() const {
  state::Store::Options o;
  o.block_cache_bytes = block_cache;
  o.write_buffer_bytes = write_buffers;
  o.max_staged_bytes = staged_bytes;
  return o;
}

}  // namespace leadflow::ingest
