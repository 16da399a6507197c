#include "state/overlay.h"

#include <algorithm>
#include <deque>
#include <mutex>

#include <rocksdb/merge_operator.h>
#include <rocksdb/write_batch.h>

namespace leadflow::state::detail {
namespace {

// A key's cost beyond its bytes and its ops' (hash node, string and vector
// headers, bucket, run entry).
constexpr size_t kNodeBytes = 112;
constexpr size_t kOpBytes = sizeof(OverlayOp);

rocksdb::Slice ToSlice(std::string_view v) { return rocksdb::Slice(v.data(), v.size()); }

}  // namespace

long LastBase(const OverlayOps& ops) {
  for (size_t i = ops.size(); i-- > 0;) {
    if (ops[i].kind != OverlayOp::kMerge) return static_cast<long>(i);
  }
  return -1;
}

size_t MergesAtEnd(const OverlayOps& ops) { return ops.size() - static_cast<size_t>(LastBase(ops) + 1); }

size_t OverlayTable::MergesAtEnd(const Hint& hint) { return detail::MergesAtEnd(*hint.ops); }

void OverlayTable::InsertFolded(Cf cf, std::string_view key, uint64_t version, bool found, std::string value,
                                uint64_t oldest) {
  Index& index = families_[static_cast<size_t>(cf)].index;
  auto it = index.find(key);
  if (it == index.end()) return;
  OverlayOps& ops = it->second;
  size_t at = 0;
  while (at < ops.size() && ops[at].version <= version) ++at;
  bytes_ += value.size() + kOpBytes;
  ++ops_;
  ops.insert(ops.begin() + static_cast<long>(at),
             OverlayOp{version, found ? OverlayOp::kPut : OverlayOp::kDelete, std::move(value)});
  size_t keep = 0;  // the index of the last Put or Delete of a version <= oldest
  for (size_t i = 0; i < ops.size() && ops[i].version <= oldest; ++i) {
    if (ops[i].kind != OverlayOp::kMerge) keep = i;
  }
  for (size_t i = 0; i < keep; ++i) bytes_ -= ops[i].value.size() + kOpBytes;
  ops_ -= keep;
  ops.erase(ops.begin(), ops.begin() + static_cast<long>(keep));
}

void OverlayTable::Add(Cf cf, std::string&& key, OverlayOp::Kind kind, std::string&& value, uint64_t version,
                       Hint* hint) {
  if (!hint->ops || *hint->key != key) {
    Family& f = families_[static_cast<size_t>(cf)];
    const size_t key_bytes = key.size();
    auto [it, added] = f.index.try_emplace(std::move(key));
    if (added) {
      ++keys_;
      bytes_ += key_bytes + kNodeBytes;
      if (f.runs.empty() || !(*f.runs.back().back() < it->first)) f.runs.emplace_back();
      f.runs.back().push_back(&it->first);
    }
    hint->key = &it->first;
    hint->ops = &it->second;
  }
  // A Put or Delete makes the ops before it of no use to any reader that
  // sees it; readers at older versions still need them, so they stay.
  bytes_ += value.size() + kOpBytes;
  ++ops_;
  hint->ops->push_back(OverlayOp{version, kind, std::move(value)});
}

void OverlayTable::Find(Cf cf, std::string_view key, uint64_t version, OverlayOps* out) const {
  std::shared_lock lock(mu);
  const Index& index = families_[static_cast<size_t>(cf)].index;
  auto it = index.find(key);
  if (it == index.end()) return;
  Find(it->second, version, out);
}

void OverlayTable::Find(const OverlayOps& ops, uint64_t version, OverlayOps* out) {
  size_t end = 0;  // versions only grow along a key's ops: those <= version are a prefix
  while (end < ops.size() && ops[end].version <= version) ++end;
  size_t begin = end;
  while (begin > 0 && ops[begin - 1].kind == OverlayOp::kMerge) --begin;
  if (begin > 0) {
    --begin;  // the last Put or Delete: what came before it is not read
    out->clear();
  }
  out->insert(out->end(), ops.begin() + static_cast<long>(begin), ops.begin() + static_cast<long>(end));
}

std::vector<const OverlayTable::Index::value_type*> OverlayTable::KeysInOrder(
    const Family& f, std::string_view begin, std::optional<std::string_view> end) const {
  std::vector<const std::string*> keys;
  auto less = [](const std::string* x, std::string_view y) { return *x < y; };
  for (const auto& run : f.runs) {
    for (auto it = std::lower_bound(run.begin(), run.end(), begin, less); it != run.end() && (!end || **it < *end);
         ++it) {
      keys.push_back(*it);
    }
  }
  std::sort(keys.begin(), keys.end(), [](const std::string* x, const std::string* y) { return *x < *y; });
  std::vector<const Index::value_type*> out;
  out.reserve(keys.size());
  for (const std::string* k : keys) {
    // The key is the first member of its node: the node is found again by it.
    out.push_back(&*f.index.find(std::string_view(*k)));
  }
  return out;
}

void OverlayTable::CopyRange(Cf cf, std::string_view begin, std::string_view end, uint64_t version,
                             std::vector<std::pair<std::string, OverlayOps>>* out) const {
  std::shared_lock lock(mu);
  for (const Index::value_type* kv : KeysInOrder(families_[static_cast<size_t>(cf)], begin, end)) {
    OverlayOps ops;
    Find(kv->second, version, &ops);
    if (!ops.empty()) out->emplace_back(kv->first, std::move(ops));
  }
}

void OverlayTable::ForEachInOrder(Cf cf, const std::function<void(const std::string&, const OverlayOps&)>& fn) const {
  for (const Index::value_type* kv : KeysInOrder(families_[static_cast<size_t>(cf)], {}, std::nullopt)) {
    fn(kv->first, kv->second);
  }
}

Status ResolveOps(const rocksdb::MergeOperator* merge, std::string_view key, const OverlayOps& ops,
                  bool base_known, const std::string* base, bool* needs_base, bool* found, std::string* value) {
  *needs_base = false;
  const long last = LastBase(ops);
  const std::string* existing = nullptr;
  if (last >= 0) {
    existing = ops[last].kind == OverlayOp::kPut ? &ops[last].value : nullptr;
  } else if (!base_known) {
    *needs_base = true;
    return Status::Ok();
  } else {
    existing = base;
  }
  const size_t first = static_cast<size_t>(last + 1);
  if (first == ops.size()) {
    *found = existing != nullptr;
    if (existing) *value = *existing;
    return Status::Ok();
  }
  if (!merge) return Status::Corruption("a merge operand staged in a family without a merge operator");
  std::vector<rocksdb::Slice> operands;
  operands.reserve(ops.size() - first);
  for (size_t i = first; i < ops.size(); ++i) operands.push_back(ToSlice(ops[i].value));
  const rocksdb::Slice k = ToSlice(key);
  rocksdb::Slice existing_slice;
  if (existing) existing_slice = ToSlice(*existing);
  rocksdb::MergeOperator::MergeOperationInput in(k, existing ? &existing_slice : nullptr, operands, nullptr);
  std::string result;
  rocksdb::Slice existing_operand(nullptr, 0);
  rocksdb::MergeOperator::MergeOperationOutput out(result, existing_operand);
  if (!merge->FullMergeV2(in, &out)) return Status::Corruption("a staged merge operand could not be folded");
  if (existing_operand.data() != nullptr) {
    value->assign(existing_operand.data(), existing_operand.size());
  } else {
    *value = std::move(result);
  }
  *found = true;
  return Status::Ok();
}

Status AppendCheckpoint(const OverlayTable& table, const std::vector<rocksdb::ColumnFamilyHandle*>& handles,
                        const std::vector<std::shared_ptr<rocksdb::MergeOperator>>& merges, rocksdb::WriteBatch* wb,
                        WriteCounters* counts) {
  std::string value;
  std::deque<rocksdb::Slice> operands;
  for (size_t cf = 0; cf < static_cast<size_t>(Cf::kCount); ++cf) {
    rocksdb::ColumnFamilyHandle* h = handles[cf];
    const rocksdb::MergeOperator* merge = merges[cf].get();
    Status failed = Status::Ok();
    table.ForEachInOrder(static_cast<Cf>(cf), [&](const std::string& key, const OverlayOps& ops) {
      if (ops.empty() || !failed.ok()) return;
      rocksdb::Status s;
      auto count = [&](size_t value_bytes) {
        ++counts->ops[cf];
        counts->bytes[cf] += key.size() + value_bytes;
      };
      // Operands only: joined into one by the family's operator, if it can.
      auto join = [&] {
        operands.clear();
        for (const OverlayOp& op : ops) operands.push_back(ToSlice(op.value));
        value.clear();
        return merge->PartialMergeMulti(ToSlice(key), operands, &value, nullptr);
      };
      if (LastBase(ops) >= 0) {
        bool needs_base = false, found = false;
        Status r = ResolveOps(merge, key, ops, true, nullptr, &needs_base, &found, &value);
        if (!r.ok()) {
          failed = r;
          return;
        }
        s = found ? wb->Put(h, key, value) : wb->Delete(h, key);
        count(found ? value.size() : 0);
      } else if (ops.size() > 1 && merge && join()) {
        s = wb->Merge(h, key, value);
        count(value.size());
      } else {
        for (const OverlayOp& op : ops) {
          s = wb->Merge(h, key, op.value);
          if (!s.ok()) break;
          count(op.value.size());
        }
      }
      if (!s.ok()) failed = Status::IoError("a checkpoint batch: " + s.ToString());
    });
    if (!failed.ok()) return failed;
  }
  return Status::Ok();
}

}  // namespace leadflow::state::detail
