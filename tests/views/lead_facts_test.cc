// AppendBitmapFactKey writes the key BitmapFactKey names, keys::Bitmap of
// the fact's kind, subject (a status, or a pair whose "from" may be a
// creation's null), level and unit: over random facts, names of every
// length class (empty, short, past 15 bytes, past 255) and units of both
// signs, appended after bytes already in the buffer. SortUniqueFacts (its
// packed keys) sorts and dedups as BitmapFact's own order does.
#include "views/lead_facts.h"

#include <doctest/doctest.h>

#include <algorithm>
#include <limits>
#include <random>
#include <string>

namespace leadflow::views {
namespace {

TEST_CASE("AppendBitmapFactKey writes keys::Bitmap of the fact") {
  std::mt19937_64 rng(11);
  StatusNames names;
  const std::string kNames[] = {"", "s1", "stat_acme_1_with_a_long_name", std::string(300, 'x'), "\xC3\xA9t\xC3\xA9"};
  for (const std::string& n : kNames) names.Id(n);
  const keys::Kind kinds[] = {keys::Kind::kCurrent, keys::Kind::kEntered, keys::Kind::kLeft, keys::Kind::kTransition,
                              keys::Kind::kFlip};
  const keys::Level levels[] = {keys::Level::kAll, keys::Level::kYear, keys::Level::kMonth, keys::Level::kDay};
  for (int i = 0; i < 2000; ++i) {
    BitmapFact f;
    f.kind = kinds[rng() % 5];
    f.level = levels[rng() % 4];
    f.a = f.kind == keys::Kind::kTransition && rng() % 4 == 0 ? kNoStatus : static_cast<uint32_t>(rng() % 5);
    f.b = f.kind == keys::Kind::kTransition ? static_cast<uint32_t>(rng() % 5) : 0;
    f.unit = static_cast<int64_t>(rng() % 40000) - 20000;
    const std::string org = rng() % 2 ? "org_acme" : "";
    const std::string subject =
        f.kind == keys::Kind::kTransition
            ? keys::PairSubject(f.a == kNoStatus ? std::nullopt : std::optional<std::string>(names.Name(f.a)), names.Name(f.b))
            : keys::StatusSubject(names.Name(f.a));
    const std::string expected = keys::Bitmap(org, f.kind, subject, f.level, f.unit);
    CAPTURE(i);
    CHECK(BitmapFactKey(org, f, names) == expected);
    std::string out = "prefix";
    AppendBitmapFactKey(&out, org, f, names);
    CHECK(out == "prefix" + expected);
  }
}

TEST_CASE("SortUniqueFacts orders facts as BitmapFact's comparison does") {
  std::mt19937_64 rng(3);
  const keys::Kind kinds[] = {keys::Kind::kCurrent, keys::Kind::kEntered, keys::Kind::kLeft, keys::Kind::kTransition,
                              keys::Kind::kFlip};
  const keys::Level levels[] = {keys::Level::kAll, keys::Level::kYear, keys::Level::kMonth, keys::Level::kDay};
  const int64_t units[] = {std::numeric_limits<int64_t>::min(), -20000, -1, 0, 1, 2026, 24311, 20454,
                           std::numeric_limits<int64_t>::max()};
  for (int round = 0; round < 300; ++round) {
    // Ids past the packed width (2^24 - 1) in some rounds: the field-wise
    // fallback must agree too.
    const uint32_t max_id = round % 10 == 0 ? (1u << 24) + 5 : 6;
    std::vector<BitmapFact> facts;
    const size_t n = rng() % 200;
    for (size_t i = 0; i < n; ++i) {
      BitmapFact f;
      f.kind = kinds[rng() % 5];
      f.level = levels[rng() % 4];
      f.a = rng() % 5 == 0 ? kNoStatus : static_cast<uint32_t>(rng() % 2 ? rng() % 7 : max_id - rng() % 3);
      f.b = f.kind == keys::Kind::kTransition ? static_cast<uint32_t>(rng() % 7) : 0;
      f.unit = units[rng() % std::size(units)];
      facts.push_back(f);
      if (rng() % 4 == 0) facts.push_back(f);  // repeats
    }
    std::vector<BitmapFact> expected = facts;
    std::sort(expected.begin(), expected.end());
    expected.erase(std::unique(expected.begin(), expected.end()), expected.end());
    SortUniqueFacts(&facts);
    CAPTURE(round);
    CHECK(facts == expected);
  }
}

}  // namespace
}  // namespace leadflow::views
