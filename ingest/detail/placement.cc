#include "ingest/detail/placement.h"

#include <algorithm>
#include <functional>
#include <utility>

#include <nlohmann/json.hpp>

namespace leadflow::ingest::detail {
namespace {

using nlohmann::json;

// Parses value as a JSON object; false with *error on anything else.
bool ParseObject(std::string_view value, json* out, std::string* error) {
  *out = json::parse(value, nullptr, /*allow_exceptions=*/false);
  if (out->is_discarded() || !out->is_object()) {
    *error = "not a JSON object";
    return false;
  }
  return true;
}

// Reads j[name] as T into *out; absent is fine when optional, a wrong type
// never is.
template <typename T>
bool Field(const json& j, const char* name, T* out, std::string* error, bool optional = false) {
  auto it = j.find(name);
  if (it == j.end() || it->is_null()) {
    if (optional) return true;
    *error = std::string("missing \"") + name + "\"";
    return false;
  }
  bool ok = false;
  if constexpr (std::is_same_v<T, std::string>) {
    ok = it->is_string();
  } else if constexpr (std::is_same_v<T, bool>) {
    ok = it->is_boolean();
  } else {
    ok = it->is_number_integer();
  }
  if (!ok) {
    *error = std::string("\"") + name + "\" has the wrong type";
    return false;
  }
  *out = it->get<T>();
  return true;
}

json ShardsJson(const std::vector<MemberRecord::Shard>& shards) {
  json a = json::array();
  for (const auto& s : shards) a.push_back({{"p", s.partition}, {"next", s.next}, {"end", s.end}, {"servable", s.servable}});
  return a;
}

bool ShardsFrom(const json& j, const char* name, std::vector<MemberRecord::Shard>* out, std::string* error) {
  out->clear();
  auto it = j.find(name);
  if (it == j.end() || it->is_null()) return true;
  if (!it->is_array()) {
    *error = std::string("\"") + name + "\" is not an array";
    return false;
  }
  for (const json& e : *it) {
    if (!e.is_object()) {
      *error = std::string("\"") + name + "\" holds a non-object";
      return false;
    }
    MemberRecord::Shard s;
    if (!Field(e, "p", &s.partition, error) || !Field(e, "next", &s.next, error, true) ||
        !Field(e, "end", &s.end, error, true) || !Field(e, "servable", &s.servable, error, true)) {
      return false;
    }
    if (s.partition < 0) {
      *error = "negative partition";
      return false;
    }
    out->push_back(s);
  }
  std::sort(out->begin(), out->end(), [](const auto& a, const auto& b) { return a.partition < b.partition; });
  return true;
}

json ForeignJson(const std::vector<MemberRecord::Foreign>& foreign) {
  json a = json::array();
  for (const auto& f : foreign) a.push_back({{"org", f.org}, {"p", f.partition}});
  return a;
}

bool ForeignFrom(const json& j, std::vector<MemberRecord::Foreign>* out, std::string* error) {
  out->clear();
  auto it = j.find("foreign");
  if (it == j.end() || it->is_null()) return true;
  if (!it->is_array()) {
    *error = "\"foreign\" is not an array";
    return false;
  }
  for (const json& e : *it) {
    MemberRecord::Foreign f;
    if (!e.is_object() || !Field(e, "org", &f.org, error) || !Field(e, "p", &f.partition, error)) {
      if (error->empty()) *error = "\"foreign\" holds a non-object";
      return false;
    }
    out->push_back(std::move(f));
  }
  std::sort(out->begin(), out->end());
  return true;
}

}  // namespace

std::string OwnerKey(int32_t partition) { return "owner/" + std::to_string(partition); }
std::string MemberKey(std::string_view instance) { return "member/" + std::string(instance); }

std::string EncodeConfig(const ClusterConfig& c) {
  return json{{"v", 1}, {"topic", c.topic}, {"partitions", c.partitions}, {"partitioner", c.partitioner}}.dump();
}

std::string EncodeOwner(const OwnerClaim& c) {
  return json{{"instance", c.instance}, {"advertise", c.advertise}, {"claimed_ms", c.claimed_ms}, {"restore", c.restore}}
      .dump();
}

std::string EncodeMember(const MemberRecord& m) {
  return json{{"v", 1},
              {"instance", m.instance},
              {"advertise", m.advertise},
              {"scheme", m.scheme},
              {"version", m.version},
              {"started_ms", m.started_ms},
              {"seq", m.seq},
              {"ready", m.ready},
              {"draining", m.draining},
              {"owned", ShardsJson(m.owned)},
              {"standby", ShardsJson(m.standby)},
              {"foreign", ForeignJson(m.foreign)}}
      .dump();
}

bool DecodeConfig(std::string_view value, ClusterConfig* out, std::string* error) {
  json j;
  if (!ParseObject(value, &j, error)) return false;
  ClusterConfig c;
  if (!Field(j, "topic", &c.topic, error) || !Field(j, "partitions", &c.partitions, error) ||
      !Field(j, "partitioner", &c.partitioner, error)) {
    return false;
  }
  if (c.partitions <= 0) {
    *error = "partitions must be positive";
    return false;
  }
  *out = std::move(c);
  return true;
}

bool DecodeOwner(std::string_view value, OwnerClaim* out, std::string* error) {
  json j;
  if (!ParseObject(value, &j, error)) return false;
  OwnerClaim c;
  if (!Field(j, "instance", &c.instance, error) || !Field(j, "advertise", &c.advertise, error, true) ||
      !Field(j, "claimed_ms", &c.claimed_ms, error, true) || !Field(j, "restore", &c.restore, error, true)) {
    return false;
  }
  if (c.instance.empty()) {
    *error = "empty instance";
    return false;
  }
  *out = std::move(c);
  return true;
}

bool DecodeMember(std::string_view value, MemberRecord* out, std::string* error) {
  json j;
  if (!ParseObject(value, &j, error)) return false;
  MemberRecord m;
  if (!Field(j, "instance", &m.instance, error) || !Field(j, "advertise", &m.advertise, error, true) ||
      !Field(j, "scheme", &m.scheme, error, true) || !Field(j, "version", &m.version, error, true) ||
      !Field(j, "started_ms", &m.started_ms, error, true) || !Field(j, "seq", &m.seq, error, true) ||
      !Field(j, "ready", &m.ready, error, true) || !Field(j, "draining", &m.draining, error, true) ||
      !ShardsFrom(j, "owned", &m.owned, error) || !ShardsFrom(j, "standby", &m.standby, error) ||
      !ForeignFrom(j, &m.foreign, error)) {
    return false;
  }
  if (m.instance.empty()) {
    *error = "empty instance";
    return false;
  }
  *out = std::move(m);
  return true;
}

const ClusterSnapshot::Member* ClusterSnapshot::FindMember(std::string_view instance) const {
  for (const Member& m : members) {
    if (m.record.instance == instance) return &m;
  }
  return nullptr;
}

size_t ClusterSnapshot::LiveMembers() const {
  return static_cast<size_t>(std::count_if(members.begin(), members.end(), [](const Member& m) { return m.live; }));
}

void ClusterState::Apply(std::string_view key, std::optional<std::string_view> value, int64_t seen_ms) {
  ++records_;
  std::string error;
  if (key == kConfigKey) {
    ClusterConfig c;
    if (value && DecodeConfig(*value, &c, &error)) {
      config_ = std::move(c);
    } else if (value) {
      ++bad_records_;
    }
    // A tombstone of the config (an operator resetting the cluster) keeps
    // the last one: the homes of the orgs in this state follow it.
    return;
  }
  if (key.substr(0, 6) == "owner/") {
    int32_t p = -1;
    const std::string digits(key.substr(6));
    if (digits.empty() || digits.size() > 9 || digits.find_first_not_of("0123456789") != std::string::npos) {
      ++bad_records_;
      return;
    }
    p = std::stoi(digits);
    if (!value) {
      claims_.erase(p);
      return;
    }
    OwnerClaim c;
    if (!DecodeOwner(*value, &c, &error)) {
      ++bad_records_;
      return;
    }
    claims_[p] = std::move(c);
    return;
  }
  if (key.substr(0, 7) == "member/") {
    const std::string_view id = key.substr(7);
    if (!value) {
      if (auto it = members_.find(id); it != members_.end()) members_.erase(it);
      return;
    }
    MemberRecord m;
    if (!DecodeMember(*value, &m, &error) || m.instance != id) {
      ++bad_records_;
      return;
    }
    members_[std::string(id)] = Seen{std::move(m), seen_ms};
    return;
  }
  // Another key: a newer leadflow's record, ignored by this one.
}

uint64_t RendezvousRank(std::string_view instance, int32_t partition) {
  uint64_t h = 1469598103934665603ULL;  // FNV-1a of "instance/partition", then a 64-bit finalizer
  auto mix = [&h](unsigned char c) {
    h ^= c;
    h *= 1099511628211ULL;
  };
  for (char c : instance) mix(static_cast<unsigned char>(c));
  mix('/');
  for (char c : std::to_string(partition)) mix(static_cast<unsigned char>(c));
  h ^= h >> 33;
  h *= 0xff51afd7ed558ccdULL;
  h ^= h >> 33;
  h *= 0xc4ceb9fe1a85ec53ULL;
  h ^= h >> 33;
  return h;
}

std::vector<std::string> StandbysFor(const ClusterSnapshot& snap, int32_t partition, int n) {
  std::string claimant;
  if (partition >= 0 && static_cast<size_t>(partition) < snap.partitions.size() && snap.partitions[partition].claim) {
    claimant = snap.partitions[partition].claim->instance;
  }
  std::vector<std::pair<uint64_t, std::string>> ranked;
  for (const auto& m : snap.members) {
    if (!m.live || m.record.draining || m.record.instance == claimant) continue;
    ranked.emplace_back(RendezvousRank(m.record.instance, partition), m.record.instance);
  }
  std::sort(ranked.begin(), ranked.end(), std::greater<>());
  std::vector<std::string> out;
  for (size_t i = 0; i < ranked.size() && static_cast<int>(i) < n; ++i) out.push_back(ranked[i].second);
  return out;
}

const MemberRecord::Shard* ClusterState::OwnedShard(const std::string& instance, int32_t partition) const {
  auto it = members_.find(instance);
  if (it == members_.end()) return nullptr;
  for (const auto& s : it->second.record.owned) {
    if (s.partition == partition) return &s;
  }
  return nullptr;
}

std::optional<std::string> ClusterState::OwnerOf(int32_t partition, int64_t now_ms, int64_t member_timeout_ms) const {
  auto c = claims_.find(partition);
  if (c == claims_.end()) return std::nullopt;
  auto m = members_.find(c->second.instance);
  if (m == members_.end() || !Live(m->second, now_ms, member_timeout_ms)) return std::nullopt;
  if (OwnedShard(c->second.instance, partition) == nullptr) return std::nullopt;
  return c->second.instance;
}

ClusterSnapshot ClusterState::Snapshot(int64_t now_ms, int64_t member_timeout_ms) const {
  ClusterSnapshot s;
  s.config = config_;
  s.records = records_;
  s.bad_records = bad_records_;
  for (const auto& [id, seen] : members_) {
    s.members.push_back({seen.record, Live(seen, now_ms, member_timeout_ms), now_ms - seen.seen_ms});
    for (const auto& f : seen.record.foreign) {
      auto& parts = s.split_orgs[f.org];
      if (std::find(parts.begin(), parts.end(), f.partition) == parts.end()) parts.push_back(f.partition);
    }
  }
  for (auto& [org, parts] : s.split_orgs) std::sort(parts.begin(), parts.end());
  if (config_) {
    for (int32_t p = 0; p < config_->partitions; ++p) {
      ClusterSnapshot::Partition part;
      part.partition = p;
      if (auto c = claims_.find(p); c != claims_.end()) part.claim = c->second;
      part.owner = OwnerOf(p, now_ms, member_timeout_ms);
      if (part.owner) {
        const MemberRecord::Shard* shard = OwnedShard(*part.owner, p);
        part.servable = shard->servable;
        part.lag = std::max<int64_t>(0, shard->end - shard->next);
      }
      for (const auto& [id, seen] : members_) {
        if (!Live(seen, now_ms, member_timeout_ms) || (part.owner && *part.owner == id)) continue;
        for (const auto& sh : seen.record.standby) {
          if (sh.partition == p) part.standbys.push_back({id, sh.servable, std::max<int64_t>(0, sh.end - sh.next)});
        }
      }
      s.partitions.push_back(std::move(part));
    }
  }
  return s;
}

}  // namespace leadflow::ingest::detail
