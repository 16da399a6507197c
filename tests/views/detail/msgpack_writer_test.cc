// The write path's MessagePack writer (views/detail/msgpack_writer.h) gives
// the bytes of nlohmann::json::to_msgpack for any value: every integer
// width's edges, floats that do and do not survive float32, strings, arrays
// and maps around each size class, binary, and random nested values.
#include "views/detail/msgpack_writer.h"

#include <doctest/doctest.h>

#include <cmath>
#include <limits>
#include <random>
#include <string>

namespace leadflow::views::detail {
namespace {

using nlohmann::json;

std::string Theirs(const json& j) {
  const std::vector<std::uint8_t> v = json::to_msgpack(j);
  return std::string(v.begin(), v.end());
}
std::string Ours(const json& j) {
  std::string s = "prefix";  // appends, never overwrites
  AppendMsgpack(&s, j);
  return s.substr(6);
}

json RandomValue(std::mt19937_64& rng, int depth) {
  auto str = [&](size_t n) { return std::string(n, static_cast<char>('a' + rng() % 26)); };
  static const size_t kLengths[] = {0, 1, 15, 16, 31, 32, 255, 256, 65535, 65536};
  switch (rng() % (depth > 2 ? 6 : 8)) {
    case 0: return nullptr;
    case 1: return rng() % 2 == 0;
    case 2: {
      const int shift = static_cast<int>(rng() % 64);
      const int64_t v = static_cast<int64_t>(rng() >> shift);
      return rng() % 2 ? v : -v;
    }
    case 3: return static_cast<uint64_t>(rng() >> (rng() % 64));
    case 4: {
      switch (rng() % 4) {
        case 0: return 0.5 * static_cast<double>(rng() % 1000);
        case 1: return std::ldexp(static_cast<double>(rng() % 100000), static_cast<int>(rng() % 400) - 200);
        case 2: return 0.1 * static_cast<double>(rng() % 1000);
        default: return static_cast<double>(rng());
      }
    }
    case 5: return str(kLengths[rng() % (rng() % 8 ? 6 : 10)]);
    case 6: {
      json a = json::array();
      const size_t n = rng() % 8 ? rng() % 18 : 70000 * (rng() % 2);
      for (size_t i = 0; i < n; ++i) a.push_back(n > 100 ? json(static_cast<int64_t>(i)) : RandomValue(rng, depth + 1));
      return a;
    }
    default: {
      json o = json::object();
      const size_t n = rng() % 8 ? rng() % 18 : 70000 * (rng() % 2);
      for (size_t i = 0; i < n; ++i) {
        o["k" + std::to_string(rng() % (n * 2 + 1))] = n > 100 ? json(i) : RandomValue(rng, depth + 1);
      }
      return o;
    }
  }
}

TEST_CASE("msgpack writer: the bytes of nlohmann's to_msgpack") {
  for (int64_t v : {int64_t{0}, int64_t{1}, int64_t{127}, int64_t{128}, int64_t{255}, int64_t{256}, int64_t{65535},
                    int64_t{65536}, int64_t{4294967295}, int64_t{4294967296}, std::numeric_limits<int64_t>::max(),
                    int64_t{-1}, int64_t{-32}, int64_t{-33}, int64_t{-128}, int64_t{-129}, int64_t{-32768},
                    int64_t{-32769}, int64_t{-2147483648}, int64_t{-2147483649}, std::numeric_limits<int64_t>::min()}) {
    CAPTURE(v);
    CHECK(Ours(json(v)) == Theirs(json(v)));
    std::string s;
    AppendMsgpackInt(&s, v);
    CHECK(s == Theirs(json(v)));
  }
  for (uint64_t v : {uint64_t{0}, uint64_t{127}, uint64_t{128}, uint64_t{65536}, std::numeric_limits<uint64_t>::max()}) {
    CHECK(Ours(json(v)) == Theirs(json(v)));
  }
  for (double d : {0.0, -0.0, 0.5, 0.1, 1e300, -1e300, 3.4e38, 3.5e38, 1e-45, 1e-320,
                   std::numeric_limits<double>::infinity(), -std::numeric_limits<double>::infinity()}) {
    CAPTURE(d);
    CHECK(Ours(json(d)) == Theirs(json(d)));
  }
  CHECK(Ours(json(std::nan(""))) == Theirs(json(std::nan(""))));
  for (const json& b : {json::binary({1, 2, 3}), json::binary({1, 2, 3, 4}, 7), json::binary(std::vector<uint8_t>(300, 9)),
                        json::binary(std::vector<uint8_t>(70000, 9), 3), json::binary({1}, 1), json::binary({1, 2}, -2)}) {
    CHECK(Ours(b) == Theirs(b));
  }
  std::mt19937_64 rng(7);
  for (int i = 0; i < 3000; ++i) {
    const json j = RandomValue(rng, 0);
    const std::string ours = Ours(j);
    REQUIRE(ours == Theirs(j));
    CHECK(json::from_msgpack(ours) == j);
  }
}

}  // namespace
}  // namespace leadflow::views::detail
