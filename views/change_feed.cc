#include "views/change_feed.h"

namespace leadflow::views {

void ChangeFeed::Note(std::span<const std::string> orgs, uint64_t epoch) {
  if (orgs.empty()) return;
  {
    std::unique_lock lock(mu_);
    for (const std::string& name : orgs) {
      auto it = orgs_.find(name);
      if (it == orgs_.end()) it = orgs_.emplace(name, Org()).first;
      Org& org = it->second;
      if (org.epochs[0] >= epoch) continue;
      org.forgot = org.forgot || org.epochs[kKept - 1] != 0;
      for (size_t i = kKept - 1; i > 0; --i) org.epochs[i] = org.epochs[i - 1];
      org.epochs[0] = epoch;
    }
  }
  {
    std::lock_guard lock(wait_mu_);
    ++generation_;
  }
  changed_.notify_all();
  if (listener_) listener_(orgs);
}

uint64_t ChangeFeed::Newest(std::string_view org) const {
  std::shared_lock lock(mu_);
  auto it = orgs_.find(org);
  return it == orgs_.end() ? 0 : it->second.epochs[0];
}

std::optional<uint64_t> ChangeFeed::VersionAt(std::string_view org, uint64_t snapshot_epoch) const {
  std::shared_lock lock(mu_);
  auto it = orgs_.find(org);
  if (it == orgs_.end()) return 0;
  const Org& o = it->second;
  for (uint64_t e : o.epochs) {
    if (e == 0) break;
    if (e <= snapshot_epoch) return e;
  }
  if (o.forgot) return std::nullopt;
  return 0;
}

uint64_t ChangeFeed::generation() const {
  std::lock_guard lock(wait_mu_);
  return generation_;
}

uint64_t ChangeFeed::WaitFor(uint64_t seen, std::chrono::milliseconds timeout) const {
  std::unique_lock lock(wait_mu_);
  changed_.wait_for(lock, timeout, [&] { return generation_ != seen; });
  return generation_;
}

}  // namespace leadflow::views
