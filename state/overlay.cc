#include "state/overlay.h"

#include <deque>
#include <mutex>

#include <rocksdb/merge_operator.h>
#include <rocksdb/write_batch.h>

namespace leadflow::state::detail {
namespace {

// A map node's cost beyond its key and values (node, vector, string headers).
constexpr size_t kNodeBytes = 96;
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

size_t OverlayTable::MergesAtEnd(const Hint& hint) { return detail::MergesAtEnd(hint.it->second); }

void OverlayTable::InsertFolded(Cf cf, std::string_view key, uint64_t version, bool found, std::string value,
                                uint64_t oldest) {
  Map& m = maps_[static_cast<size_t>(cf)];
  auto it = m.find(key);
  if (it == m.end()) return;
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

void OverlayTable::Add(Cf cf, std::string_view key, OverlayOp::Kind kind, std::string_view value, uint64_t version,
                       Hint* hint) {
  Map& m = maps_[static_cast<size_t>(cf)];
  Map::iterator it;
  if (hint->set && hint->it->first == key) {
    it = hint->it;
  } else {
    // The position after the last insert is the right one for keys added in order.
    Map::iterator pos = hint->set ? std::next(hint->it) : m.end();
    const size_t before = m.size();
    it = m.emplace_hint(pos, std::piecewise_construct, std::forward_as_tuple(key), std::forward_as_tuple());
    if (m.size() != before) {
      ++keys_;
      bytes_ += key.size() + kNodeBytes;
    }
  }
  hint->it = it;
  hint->set = true;
  // A Put or Delete makes the ops before it of no use to any reader that
  // sees it; readers at older versions still need them, so they stay.
  it->second.push_back(OverlayOp{version, kind, std::string(value)});
  ++ops_;
  bytes_ += value.size() + kOpBytes;
}

void OverlayTable::Find(Cf cf, std::string_view key, uint64_t version, OverlayOps* out) const {
  std::shared_lock lock(mu);
  const Map& m = maps_[static_cast<size_t>(cf)];
  auto it = m.find(key);
  if (it == m.end()) return;
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

void OverlayTable::CopyRange(Cf cf, std::string_view begin, std::string_view end, uint64_t version,
                             std::vector<std::pair<std::string, OverlayOps>>* out) const {
  std::shared_lock lock(mu);
  const Map& m = maps_[static_cast<size_t>(cf)];
  for (auto it = m.lower_bound(begin); it != m.end() && it->first < end; ++it) {
    OverlayOps ops;
    Find(it->second, version, &ops);
    if (!ops.empty()) out->emplace_back(it->first, std::move(ops));
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
    for (const auto& [key, ops] : table.map(static_cast<Cf>(cf))) {
      if (ops.empty()) continue;
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
        if (!r.ok()) return r;
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
      if (!s.ok()) return Status::IoError("a checkpoint batch: " + s.ToString());
    }
  }
  return Status::Ok();
}

}  // namespace leadflow::state::detail
