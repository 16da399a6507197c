// Lead records' binary layout (views/records.cc): every record round-trips,
// and a truncated, padded or foreign value is refused as Corruption, never
// a crash or a different record.
#include "views/records.h"

#include <doctest/doctest.h>

#include <algorithm>
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

// A stored lead value is a record and then journal entries (what later
// batches changed): decoding replays them as the applier applied them, so
// record + journal decodes to the record the mutations made. A value cut
// inside the record or inside an entry is refused; cut between entries it
// is a shorter journal, and decodes.
TEST_CASE("lead journals replay onto the record; a value cut inside an entry is refused") {
  std::mt19937_64 rng(43);
  auto str = [&](size_t max) { return std::string(rng() % (max + 1), static_cast<char>('a' + rng() % 26)); };
  size_t journals = 0;
  for (int i = 0; i < 400; ++i) {
    const LeadRecord base = RandomRecord(rng);
    LeadRecord expected = base;
    std::string bytes = base.Encode();
    std::vector<size_t> boundaries{bytes.size()};
    const LeadRecord extra = RandomRecord(rng);  // a source of times and fields
    for (int k = rng() % 7; k > 0; --k) {
      switch (rng() % 5) {
        case 0: {
          LeadCreation c{extra.created ? extra.created->time : EventTime{static_cast<int64_t>(rng() % 1000), rng()},
                         str(6), rng() % 2 ? std::optional<std::string>(str(5)) : std::nullopt,
                         extra.created ? extra.created->fields : json()};
          lead_journal::AppendCreation(&bytes, c);
          expected.ApplyCreation(std::move(c));
          break;
        }
        case 1: {
          StatusChange c{EventTime{static_cast<int64_t>(rng() % 100000), rng() % 5}, str(8)};
          lead_journal::AppendChange(&bytes, c);
          expected.ApplyChange(std::move(c));
          break;
        }
        case 2: {
          LeadUpdate u{EventTime{static_cast<int64_t>(rng() % 100000), rng() % 5},
                       extra.updates.empty() ? json::object({{"k", 1}}) : extra.updates[0].fields,
                       rng() % 2 ? std::optional<std::string>(str(5)) : std::nullopt};
          lead_journal::AppendUpdate(&bytes, u);
          expected.ApplyUpdate(std::move(u));
          break;
        }
        case 3:
          lead_journal::AppendDelete(&bytes);
          expected.ApplyDelete();
          break;
        default: {
          const int64_t at = static_cast<int64_t>(rng() % 4000000000000ull) - 1000000000000ll;
          const std::optional<std::string> name = rng() % 2 ? std::optional<std::string>(str(7)) : std::nullopt;
          lead_journal::AppendActivity(&bytes, at, name);
          expected.ApplyActivity(at, name);
        }
      }
      boundaries.push_back(bytes.size());
    }
    journals += boundaries.size() > 1;
    LeadRecord back;
    size_t journal_bytes = 99;
    REQUIRE_OK(LeadRecord::Decode(bytes, &back, &journal_bytes));
    CHECK(back.Encode() == expected.Encode());
    CHECK(journal_bytes == bytes.size() - boundaries[0]);
    for (size_t n = 0; n < bytes.size(); ++n) {
      const bool boundary = std::find(boundaries.begin(), boundaries.end(), n) != boundaries.end();
      CAPTURE(n);
      CHECK(LeadRecord::Decode(bytes.substr(0, n), &back).ok() == boundary);
    }
    CHECK(LeadRecord::Decode(bytes + "x", &back).code() == Status::Code::kCorruption);
  }
  CHECK(journals > 300);
}

}  // namespace
}  // namespace leadflow::views
