// Lead records' binary layout (views/records.cc): every record round-trips,
// and a truncated, padded or foreign value is refused as Corruption, never
// a crash or a different record.
#include "views/records.h"

#include <doctest/doctest.h>

#include <random>
#include <string>

#include "tests/testing/check_ok.h"

namespace leadflow::views {
namespace {

using nlohmann::json;

LeadRecord RandomRecord(std::mt19937_64& rng) {
  auto time = [&] {
    return EventTime{static_cast<int64_t>(rng() % 4000000000000ull) - 1000000000000ll, rng() % 3 ? rng() : 0};
  };
  auto str = [&](size_t max) { return std::string(rng() % (max + 1), static_cast<char>('a' + rng() % 26)); };
  auto fields = [&]() -> json {
    json f = json::object();
    for (int i = rng() % 4; i > 0; --i) {
      switch (rng() % 5) {
        case 0: f[str(8)] = str(20); break;
        case 1: f[str(8)] = static_cast<int64_t>(rng()) - static_cast<int64_t>(rng()); break;
        case 2: f[str(8)] = 0.5 * static_cast<double>(rng() % 1000); break;
        case 3: f[str(8)] = rng() % 2 == 0; break;
        default: f[str(8)] = nullptr;
      }
    }
    return f;
  };
  auto opt = [&]() -> std::optional<std::string> {
    if (rng() % 2) return std::nullopt;
    return str(12);
  };
  LeadRecord r;
  r.num = static_cast<uint32_t>(rng());
  if (rng() % 4) r.created = LeadCreation{time(), str(10), opt(), rng() % 3 ? fields() : json()};
  r.extra_creations = rng() % 3;
  for (int i = rng() % 6; i > 0; --i) r.changes.push_back({time(), str(10)});
  for (int i = rng() % 6; i > 0; --i) r.updates.push_back({time(), fields(), opt()});
  r.deleted = rng() % 5 == 0;
  if (rng() % 2) {
    r.last_activity_ms = time().at_ms;
    r.last_activity_name = opt();
  }
  return r;
}

TEST_CASE("lead records round-trip; every strict prefix, padding and foreign value is refused") {
  std::mt19937_64 rng(42);
  for (int i = 0; i < 500; ++i) {
    const LeadRecord r = RandomRecord(rng);
    const std::string bytes = r.Encode();
    LeadRecord back;
    REQUIRE_OK(LeadRecord::Decode(bytes, &back));
    CHECK(back.Encode() == bytes);
    CHECK(back.num == r.num);
    CHECK(back.changes.size() == r.changes.size());
    CHECK(back.updates.size() == r.updates.size());
    CHECK(back.deleted == r.deleted);
    CHECK(back.last_activity_ms == r.last_activity_ms);
    CHECK(back.last_activity_name == r.last_activity_name);
    if (r.created) {
      REQUIRE(back.created);
      CHECK(back.created->time == r.created->time);
      CHECK(back.created->fields == r.created->fields);
      CHECK(back.created->owner_id == r.created->owner_id);
    }
    for (size_t n = 0; n < bytes.size(); ++n) {
      CHECK(LeadRecord::Decode(bytes.substr(0, n), &back).code() == Status::Code::kCorruption);
    }
    CHECK(LeadRecord::Decode(bytes + "x", &back).code() == Status::Code::kCorruption);
    // Any single byte changed: refused or decoded, never a crash.
    std::string flipped = bytes;
    flipped[rng() % flipped.size()] ^= static_cast<char>(1 + rng() % 255);
    (void)LeadRecord::Decode(flipped, &back);
  }
  LeadRecord back;
  CHECK(LeadRecord::Decode("\x83\xa1n\x01", &back).code() == Status::Code::kCorruption);  // the old msgpack form
  CHECK(LeadRecord::Decode(std::string("L\xff\xff\xff\xff\xff\xff\xff\xff\xff\xff", 11), &back).code() ==
        Status::Code::kCorruption);
}

}  // namespace
}  // namespace leadflow::views
