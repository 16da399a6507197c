#include "views/write/write_hand_off.h"

#include <utility>

namespace leadflow::views {

WriteHandOff::WriteHandOff(size_t buckets) {
  for (size_t i = 0; i < buckets; ++i) buckets_.push_back(std::make_unique<state::WriteBatch>());
}

std::vector<state::WriteBatch*> WriteHandOff::buckets() {
  std::vector<state::WriteBatch*> out;
  out.reserve(buckets_.size());
  for (auto& b : buckets_) out.push_back(b.get());
  return out;
}

Status WriteHandOff::Write(state::Store* store, bool stage, std::span<state::WriteBatch* const> shares,
                           uint64_t* epoch) {
  if (before_write_) {
    Status held = before_write_();
    if (!held.ok()) return held;
  }
  std::vector<state::WriteBatch*> all{&meta_};
  all.insert(all.end(), shares.begin(), shares.end());
  for (auto& b : buckets_) {
    if (b->Count() > 0) all.push_back(b.get());
  }
  return stage ? store->Stage(all, epoch) : store->Write(all, epoch);
}

void WriteHandOff::Start(std::function<Status()> write) { inflight_ = writer_.Run(std::move(write)); }

Status WriteHandOff::Wait() {
  if (!inflight_.valid()) return Status::Ok();
  return inflight_.get();
}

Status WriteHandOff::Fail(Status s) {
  if (poisoned_.ok()) poisoned_ = s;
  staged_.Clear();
  return s;
}

void WriteHandOff::Landed() {
  meta_.Clear();
  for (auto& b : buckets_) b->Clear();
}

void WriteHandOff::Drop() { Landed(); }

}  // namespace leadflow::views
