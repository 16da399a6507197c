#include "views/detail/key_set.h"

#include <doctest/doctest.h>

#include <algorithm>
#include <random>
#include <set>
#include <string>
#include <vector>

#include "views/keys.h"

namespace leadflow::views::detail {
namespace {

std::vector<std::string> Keys(const KeySet& s) {
  std::vector<std::string> out;
  for (std::string_view k : s) out.emplace_back(k);
  return out;
}

TEST_CASE("KeySet: sorted, without repeats, the same as a std::set of its keys") {
  std::mt19937 rng(7);
  for (int round = 0; round < 200; ++round) {
    KeySet s;
    std::set<std::string> want;
    const int n = static_cast<int>(rng() % 80);
    for (int i = 0; i < n; ++i) {
      // Keys that share prefixes, differ in length, hold 0 bytes and repeat.
      std::string k = "org" + std::string(1, '\0') + std::string(rng() % 3, 'H');
      k += std::to_string(rng() % 40);
      if (rng() % 2) k.push_back('\0');
      want.insert(k);
      if (rng() % 2) {
        s.insert(k);
      } else {
        s.Add([&](std::string* out) { out->append(k); });
      }
    }
    s.Finish();
    CHECK(Keys(s) == std::vector<std::string>(want.begin(), want.end()));
    CHECK(s.size() == want.size());
    for (const std::string& k : want) CHECK(s.count(k) == 1);
    CHECK(s.count("org") == 0);
    CHECK(s.count(std::string("org\0zz", 6)) == 0);
    // A copy and a move read their own bytes.
    KeySet copy = s;
    KeySet moved = std::move(s);
    CHECK(Keys(copy) == std::vector<std::string>(want.begin(), want.end()));
    CHECK(Keys(moved) == std::vector<std::string>(want.begin(), want.end()));
  }
}

TEST_CASE("KeySet: keys built in place equal the keys' std::string forms") {
  KeySet s;
  s.Add([](std::string* out) { keys::AppendHasBitmap(out, "org_a", "ownerid"); });
  s.Add([](std::string* out) { keys::AppendDateDayBitmap(out, "org_a", "modifiedon", 19000); });
  s.Add([](std::string* out) { keys::AppendDateEntry(out, "org_a", "modifiedon", 1641600000000, 42); });
  s.Add([](std::string* out) { keys::AppendExactKeyBitmap(out, "org_a", "Phone"); });
  s.Add([](std::string* out) { keys::AppendUniverseBitmap(out, "org_a"); });
  s.Add([](std::string* out) {
    keys::AppendValuePrefix(out, "org_a", "city");
    keys::AppendTypedString(out, std::string("Pu\0ne", 5));
  });
  s.Add([](std::string* out) {
    keys::AppendValuePrefix(out, "org_a", "score");
    keys::AppendTypedNumber(out, -0.0);
  });
  s.Add([](std::string* out) {
    keys::AppendValuePrefix(out, "org_a", "vip");
    keys::AppendTypedBool(out, true);
  });
  s.Finish();
  std::vector<std::string> want = {
      keys::HasBitmap("org_a", "ownerid"),
      keys::DateDayBitmap("org_a", "modifiedon", 19000),
      keys::DateEntry("org_a", "modifiedon", 1641600000000, 42),
      keys::ExactKeyBitmap("org_a", "Phone"),
      keys::UniverseBitmap("org_a"),
      keys::ValueBitmap("org_a", "city", keys::TypedString(std::string("Pu\0ne", 5))),
      keys::ValueBitmap("org_a", "score", keys::TypedNumber(0.0)),
      keys::ValueBitmap("org_a", "vip", keys::TypedBool(true)),
  };
  std::sort(want.begin(), want.end());
  CHECK(Keys(s) == want);
}

TEST_CASE("KeyList: keys and flags in the order appended; equality is by both") {
  KeyList a, b;
  a.push_back("k1", true);
  a.push_back(std::string("k\0 2", 4), false);
  b.push_back("k1", true);
  CHECK_FALSE(a == b);
  b.push_back(std::string("k\0 2", 4), false);
  CHECK(a == b);
  CHECK(a.key(1) == std::string_view("k\0 2", 4));
  CHECK(a.flag(0));
  std::vector<std::pair<std::string, bool>> seen;
  a.ForEach([&](std::string_view k, bool f) { seen.emplace_back(std::string(k), f); });
  CHECK(seen == std::vector<std::pair<std::string, bool>>{{"k1", true}, {std::string("k\0 2", 4), false}});
  KeyList c;
  c.push_back("k1", false);
  c.push_back(std::string("k\0 2", 4), false);
  CHECK_FALSE(a == c);
}

}  // namespace
}  // namespace leadflow::views::detail
