#include "ingest/detail/assignment.h"

namespace leadflow::ingest::detail {

void Assignment::Assign(int32_t partition, int64_t next, std::optional<int64_t> target) {
  next_[partition] = next;
  epochs_[partition] = ++assigns_;
  if (target) {
    targets_[partition] = *target;
  } else {
    targets_.erase(partition);
  }
  assigned_once_ = true;
}

void Assignment::Revoke(int32_t partition) {
  next_.erase(partition);
  epochs_.erase(partition);
  targets_.erase(partition);
}

void Assignment::Rewind(int32_t partition, int64_t next) {
  auto it = next_.find(partition);
  if (it != next_.end()) it->second = next;
}

std::vector<int32_t> Assignment::partitions() const {
  std::vector<int32_t> out;
  out.reserve(next_.size());
  for (const auto& [partition, next] : next_) out.push_back(partition);
  return out;
}

void Assignment::Reset() {
  next_.clear();
  targets_.clear();
  epochs_.clear();
  assigned_once_ = false;
}

bool Assignment::Wants(int32_t partition, int64_t offset) const {
  auto it = next_.find(partition);
  return it != next_.end() && offset >= it->second;
}

void Assignment::Consumed(int32_t partition, int64_t offset) {
  auto it = next_.find(partition);
  if (it != next_.end()) it->second = offset + 1;
}

std::optional<int64_t> Assignment::next(int32_t partition) const {
  auto it = next_.find(partition);
  if (it == next_.end()) return std::nullopt;
  return it->second;
}

std::vector<int32_t> Assignment::UnknownTargets() const {
  std::vector<int32_t> out;
  for (const auto& [partition, target] : targets_) {
    if (target < 0) out.push_back(partition);
  }
  return out;
}

void Assignment::SetTarget(int32_t partition, int64_t high, int64_t low) {
  auto t = targets_.find(partition);
  if (t == targets_.end()) return;
  t->second = high;
  auto it = next_.find(partition);
  if (it != next_.end() && it->second < low) it->second = low;
}

bool Assignment::CaughtUp(int topic_partitions) const {
  if (!assigned_once_ || topic_partitions <= 0 || static_cast<int>(next_.size()) < topic_partitions) return false;
  for (const auto& [partition, target] : targets_) {
    if (target < 0) return false;
    auto it = next_.find(partition);
    if (it == next_.end() || it->second < target) return false;
  }
  return true;
}

bool Assignment::Servable(int32_t partition) const {
  auto it = next_.find(partition);
  if (it == next_.end()) return false;
  auto t = targets_.find(partition);
  return t == targets_.end() || (t->second >= 0 && it->second >= t->second);
}

bool Assignment::AllServable() const {
  if (!assigned_once_) return false;
  for (const auto& [partition, next] : next_) {
    if (!Servable(partition)) return false;
  }
  return true;
}

uint64_t Assignment::assigned_epoch(int32_t partition) const {
  auto it = epochs_.find(partition);
  return it == epochs_.end() ? 0 : it->second;
}

}  // namespace leadflow::ingest::detail
