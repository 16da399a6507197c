#include "views/detail/merge_sorted.h"

#include <doctest/doctest.h>

#include <algorithm>
#include <random>
#include <thread>
#include <utility>
#include <vector>

namespace leadflow::views::detail {
namespace {

// fn(i) for every i in [0, n), on two threads at once.
const ParallelRunner kTwoThreads = [](size_t n, const std::function<void(size_t)>& fn) {
  std::thread other([&] {
    for (size_t i = 1; i < n; i += 2) fn(i);
  });
  for (size_t i = 0; i < n; i += 2) fn(i);
  other.join();
};

TEST_CASE("MergeSorted equals std::merge, stable, on one thread and on two") {
  std::mt19937 rng(11);
  // (key, which input): equal keys must keep a's before b's.
  using Item = std::pair<int, int>;
  auto less = [](const Item& x, const Item& y) { return x.first < y.first; };
  for (size_t size : {size_t{0}, size_t{1}, size_t{7}, size_t{40000}, size_t{100000}}) {
    for (int round = 0; round < 4; ++round) {
      const int range = round % 2 ? 50 : 1 << 30;  // many equal keys, or few
      std::vector<Item> a(size), b(size / (round + 1) + round);
      for (auto& x : a) x = {static_cast<int>(rng() % range), 0};
      for (auto& x : b) x = {static_cast<int>(rng() % range), 1};
      std::stable_sort(a.begin(), a.end(), less);
      std::stable_sort(b.begin(), b.end(), less);
      std::vector<Item> want(a.size() + b.size());
      std::merge(a.begin(), a.end(), b.begin(), b.end(), want.begin(), less);
      CHECK(MergeSorted(a, b, less) == want);
      CHECK(MergeSorted(a, b, less, &kTwoThreads) == want);
      CHECK(MergeSorted(b, a, less, &kTwoThreads).size() == want.size());
    }
  }
}

}  // namespace
}  // namespace leadflow::views::detail
