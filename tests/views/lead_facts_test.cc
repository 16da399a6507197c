// AppendBitmapFactKey writes the key BitmapFactKey names, keys::Bitmap of
// the fact's kind, subject (a status, or a pair whose "from" may be a
// creation's null), level and unit: over random facts, names of every
// length class (empty, short, past 15 bytes, past 255) and units of both
// signs, appended after bytes already in the buffer.
#include "views/lead_facts.h"

#include <doctest/doctest.h>

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

}  // namespace
}  // namespace leadflow::views
