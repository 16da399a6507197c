// ChunkOutbox and WriteChunkDeltas (views/write/chunk_outbox.h): what three
// senders send, written by each chunk's owner into a real store over
// chunks that already hold numbers, reads back as the expected sets; the
// stored bytes do not depend on which sender sent what or in which order;
// every chunk key has exactly one owner.
#include "views/write/chunk_outbox.h"

#include <doctest/doctest.h>

#include <algorithm>
#include <map>
#include <random>
#include <set>
#include <string>
#include <vector>

#include <roaring/roaring.hh>

#include "state/bitmap_merge.h"
#include "state/store.h"
#include "tests/testing/check_ok.h"
#include "tests/testing/harness.h"
#include "views/keys.h"
#include "views/lead_facts.h"

namespace leadflow::views {
namespace {

using state::Cf;

struct Op {
  std::string logical;
  uint32_t num;
  bool add;
};

// Writes base (chunk key -> numbers) whole, then every op through
// `owners` outboxes (op i sent by sender assign[i]), each owner's deltas
// in its own batch; returns every chunk as stored (key -> bytes).
std::map<std::string, std::string> Run(const std::map<std::string, std::set<uint32_t>>& base,
                                       const std::vector<Op>& ops, const std::vector<size_t>& assign,
                                       size_t owners) {
  testing::TempDir dir;
  auto store = testing::OpenTestStore(dir.path());
  {
    state::WriteBatch b;
    for (const auto& [key, nums] : base) {
      Roaring r;
      for (uint32_t n : nums) r.add(n);
      b.Put(Cf::kBitmaps, key, state::EncodeBitmapChunk(&r));
    }
    REQUIRE_OK(store->Write(&b));
  }
  std::vector<ChunkOutbox> boxes;
  for (size_t i = 0; i < owners; ++i) boxes.emplace_back(owners);
  for (size_t i = 0; i < ops.size(); ++i) {
    if (ops[i].add && i % 3 == 0) {
      const uint32_t one[] = {ops[i].num};
      boxes[assign[i]].SendAdds(ops[i].logical, one);
    } else {
      boxes[assign[i]].Send(ops[i].logical, ops[i].num, ops[i].add);
    }
  }
  std::vector<const ChunkOutbox*> senders;
  for (const auto& b : boxes) senders.push_back(&b);
  std::set<std::string> owned;
  for (size_t q = 0; q < owners; ++q) {
    for (const auto& sender : boxes) {
      for (const auto& chunk : sender.to(q).entries()) {
        // A chunk key goes to the one owner its hash picks, whichever part sends it.
        CHECK(chunk.hash == detail::HashKey(chunk.key));
        CHECK(detail::HashKey(chunk.key) % owners == q);
        owned.insert(chunk.key);
      }
    }
    state::WriteBatch b;
    WriteChunkDeltas(senders, q, &b);
    REQUIRE_OK(store->Write(&b));
  }
  std::map<std::string, std::string> out;
  std::set<std::string> keys = owned;
  for (const auto& [key, nums] : base) keys.insert(key);
  for (const auto& key : keys) {
    std::string v;
    Status s = store->Get(Cf::kBitmaps, key, &v);
    if (s.IsNotFound()) continue;
    REQUIRE_OK(s);
    out[key] = v;
  }
  return out;
}

}  // namespace

TEST_CASE("chunk deltas from any senders, in any order, store the expected chunks") {
  std::mt19937 rng(11);
  const std::vector<std::string> logicals = {"org1\x01status\x01", "org1\x02" "activity", "org2\x01status\x01"};
  // Base chunks: some numbers in chunks 0 and 1 of each logical bitmap.
  std::map<std::string, std::set<uint32_t>> base, expected;
  for (const auto& l : logicals) {
    for (uint32_t chunk : {0u, 1u}) {
      auto& nums = base[keys::BitmapChunk(l, chunk)];
      for (int i = 0; i < 300; ++i) nums.insert((chunk << keys::kChunkBits) + rng() % 5000);
    }
  }
  expected = base;
  // Net ops: per (logical, number) at most one, an add of an absent number
  // or a remove of a present one; numbers over chunks 0-2.
  std::vector<Op> ops;
  std::set<std::pair<std::string, uint32_t>> used;
  for (int i = 0; i < 4000; ++i) {
    const std::string& l = logicals[rng() % logicals.size()];
    const uint32_t num = ((rng() % 3) << keys::kChunkBits) + rng() % 5000;
    if (!used.insert({l, num}).second) continue;
    auto& set = expected[keys::BitmapChunk(l, num >> keys::kChunkBits)];
    const bool add = !set.count(num);
    if (add) {
      set.insert(num);
    } else {
      set.erase(num);
    }
    ops.push_back({l, num, add});
  }
  for (auto it = expected.begin(); it != expected.end();) it = it->second.empty() ? expected.erase(it) : std::next(it);

  // Senders by number (as the applier's lead owners send), three owners.
  std::vector<size_t> by_num(ops.size());
  for (size_t i = 0; i < ops.size(); ++i) by_num[i] = ops[i].num % 3;
  const auto stored = Run(base, ops, by_num, 3);
  REQUIRE(stored.size() == expected.size());
  for (const auto& [key, nums] : expected) {
    CAPTURE(key);
    REQUIRE(stored.count(key));
    Roaring r;
    REQUIRE_OK(state::DecodeBitmapChunk(stored.at(key), &r));
    CHECK(r.cardinality() == nums.size());
    for (uint32_t n : nums) CHECK(r.contains(n));
  }

  // Other senders, another order, another number of owners: the same bytes.
  std::vector<Op> shuffled = ops;
  std::shuffle(shuffled.begin(), shuffled.end(), rng);
  std::vector<size_t> random_sender(shuffled.size());
  for (auto& s : random_sender) s = rng() % 2;
  CHECK(Run(base, shuffled, random_sender, 2) == stored);
  CHECK(Run(base, shuffled, std::vector<size_t>(shuffled.size(), 0), 1) == stored);
}

// Each owner's box of every sender as (chunk key -> sorted operations).
std::map<std::string, std::vector<std::pair<uint32_t, bool>>> Boxes(const ChunkOutbox& box) {
  std::map<std::string, std::vector<std::pair<uint32_t, bool>>> out;
  for (size_t q = 0; q < box.owners(); ++q) {
    for (const auto& chunk : box.to(q).entries()) {
      CHECK(chunk.hash == detail::HashKey(chunk.key));
      CHECK(chunk.hash % box.owners() == q);
      auto& ops = out[chunk.key];
      ops.insert(ops.end(), chunk.value.begin(), chunk.value.end());
    }
  }
  for (auto& [key, ops] : out) std::sort(ops.begin(), ops.end());
  return out;
}

TEST_CASE("status facts sent by reference reach the same chunks as sent by key") {
  // Leads of two orgs, each with its own StatusNames (as the applier's
  // slots have), some statuses shared between leads and orgs; facts of
  // every kind, with a creation's null "from" among the transitions.
  std::mt19937 rng(5);
  const std::vector<std::string> orgs = {"org_a", "org_b"};
  const std::vector<std::string> statuses = {"new", "won", "lost", "stat_\xC3\xA9t\xC3\xA9", "x"};
  const keys::Kind kinds[] = {keys::Kind::kCurrent, keys::Kind::kEntered, keys::Kind::kLeft, keys::Kind::kTransition,
                              keys::Kind::kFlip};
  const keys::Level levels[] = {keys::Level::kAll, keys::Level::kYear, keys::Level::kMonth, keys::Level::kDay};
  for (size_t owners : {1u, 3u}) {
    ChunkOutbox by_key(owners), by_ref(owners);
    for (int round = 0; round < 2; ++round) {  // a second batch after Clear
      by_key.Clear();
      by_ref.Clear();
      for (uint32_t lead = 0; lead < 300; ++lead) {
        const std::string& org = orgs[rng() % orgs.size()];
        StatusNames names;
        for (int i = 0; i < 3; ++i) names.Id(statuses[rng() % statuses.size()]);
        std::vector<uint32_t> refs;
        for (uint32_t i = 0; i < names.size(); ++i) refs.push_back(by_ref.StatusRef(org, &names.Name(i)));
        const uint32_t num = (rng() % 3) << keys::kChunkBits | lead;
        for (int i = 0; i < 12; ++i) {
          BitmapFact f{kinds[rng() % 5], levels[rng() % 4], static_cast<uint32_t>(rng() % names.size()), 0,
                       static_cast<int64_t>(rng() % 40) - 5};
          if (f.kind == keys::Kind::kTransition) {
            f.b = static_cast<uint32_t>(rng() % names.size());
            if (rng() % 3 == 0) f.a = kNoStatus;
          }
          const bool add = rng() % 2;
          by_key.SendFact(org, f, names, num, add);
          const bool pair = f.kind == keys::Kind::kTransition;
          const uint32_t a = pair && f.a == kNoStatus ? by_ref.StatusRef(org, nullptr) : refs[f.a];
          by_ref.SendFactRef({f.kind, f.level, a, pair ? refs[f.b] : 0, f.unit}, num, add);
        }
      }
      by_ref.FlushFacts();
      const auto want = Boxes(by_key);
      CHECK(want.size() > 100);
      CHECK(Boxes(by_ref) == want);
    }
  }
}

}  // namespace leadflow::views
