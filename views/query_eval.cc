#include "views/query_eval.h"

#include <charconv>
#include <cmath>

#include "views/ascii.h"
#include "views/detail/lead_sets.h"
#include "views/detail/report_sets.h"
#include "views/keys.h"
#include "views/lead_attributes.h"
#include "views/records.h"
#include "views/time.h"

namespace leadflow::views {
namespace {

using keys::Kind;
using keys::Level;

constexpr int kMaxViewDepth = 16;
// Unbounded time ends, within every instant RFC 3339 can name.
constexpr int64_t kEarliest = -62135596800000;  // 0001-01-01
constexpr int64_t kLatest = 253402300800000;    // 10000-01-01

// [lo, hi] inclusive instants of `t OP span`.
std::pair<int64_t, int64_t> Bounds(query::CompareOp op, const query::Span& span) {
  switch (op) {
    case query::CompareOp::kGe: return {span.start_ms, kLatest};
    case query::CompareOp::kLe: return {kEarliest, span.end_ms};
    case query::CompareOp::kGt: return {span.end_ms + 1, kLatest};
    case query::CompareOp::kLt: return {kEarliest, span.start_ms - 1};
  }
  return {kEarliest, kLatest};
}

class Evaluator {
 public:
  Evaluator(const state::Reader& reader, std::string_view org, const ViewResolver& resolve)
      : reader_(reader), org_(org), sets_(reader, org), resolve_(resolve) {}

  Status Init() {
    Status s = sets_.Init();
    if (s.ok()) s = sets_.Universe(&universe_);
    return s;
  }

  Status Eval(const Query& q, int depth, Roaring* out) {
    return std::visit([&](const auto& node) { return Node(node, depth, out); }, q.node);
  }

 private:
  std::vector<std::string> StatusesLabeled(const std::string& label) const {
    std::vector<std::string> ids;
    for (const auto& [id, l] : sets_.labels()) {
      if (EqualsNoCase(l, label)) ids.push_back(id);
    }
    return ids;
  }

  Status Node(const query::All&, int, Roaring* out) {
    *out = universe_;
    return Status::Ok();
  }
  Status Node(const query::And& n, int depth, Roaring* out) {
    Status s = Eval(n.operands[0], depth, out);
    for (size_t i = 1; s.ok() && i < n.operands.size(); ++i) {
      Roaring b;
      s = Eval(n.operands[i], depth, &b);
      *out &= b;
    }
    return s;
  }
  Status Node(const query::Or& n, int depth, Roaring* out) {
    *out = Roaring();
    for (const auto& q : n.operands) {
      Roaring b;
      Status s = Eval(q, depth, &b);
      if (!s.ok()) return s;
      *out |= b;
    }
    return Status::Ok();
  }
  Status Node(const query::Not& n, int depth, Roaring* out) {
    Roaring b;
    Status s = Eval(*n.operand, depth, &b);
    *out = universe_ - b;
    return s;
  }
  Status Node(const query::LeadStatus& n, int, Roaring* out) {
    *out = Roaring();
    for (const auto& id : StatusesLabeled(n.label)) {
      Roaring b;
      Status s = sets_.Bitmap(keys::Bitmap(org_, Kind::kCurrent, keys::StatusSubject(id), Level::kAll, 0), &b);
      if (!s.ok()) return s;
      *out |= b;
    }
    *out &= universe_;
    return Status::Ok();
  }
  Status Node(const query::LeadStatusOn& n, int, Roaring* out) {
    // Every change with occurred_at <= the span's end applied: status_at(end + 1).
    std::unordered_map<std::string, Roaring> members;
    Status s = detail::MembersAt(reader_, org_, StatusesLabeled(n.label), n.span.end_ms + 1, &members);
    *out = Roaring();
    for (auto& [id, b] : members) *out |= b;
    *out &= universe_;
    return s;
  }
  Status Node(const query::OriginalStatus& n, int, Roaring* out) {
    *out = Roaring();
    for (const auto& id : StatusesLabeled(n.label)) {
      Roaring b;
      Status s = sets_.Bitmap(keys::Bitmap(org_, Kind::kTransition, keys::PairSubject(std::nullopt, id), Level::kAll, 0), &b);
      if (!s.ok()) return s;
      *out |= b;
    }
    *out &= universe_;
    return Status::Ok();
  }
  Status Node(const query::Created& n, int, Roaring* out) {
    auto [lo, hi] = Bounds(n.op, n.span);
    Status s = sets_.DateRange("createdon", lo, hi, out);
    *out &= universe_;
    return s;
  }
  Status Node(const query::StatusChange& n, int, Roaring* out) {
    int64_t lo = kEarliest, hi = kLatest;
    for (const auto& d : n.dates) {
      auto [a, b] = Bounds(d.op, d.span);
      lo = std::max(lo, a);
      hi = std::min(hi, b);
    }
    std::vector<detail::PairKey> all, pairs;
    Status s = detail::LoadPairs(reader_, org_, &all);
    if (!s.ok()) return s;
    auto label = [this](const std::string& id) {
      auto it = sets_.labels().find(id);
      return it == sets_.labels().end() ? id : it->second;
    };
    for (auto& p : all) {
      if (!p.from) continue;  // a creation is not a status change
      if (n.old_label && !EqualsNoCase(label(*p.from), *n.old_label)) continue;
      if (n.new_label && !EqualsNoCase(label(p.to), *n.new_label)) continue;
      pairs.push_back(std::move(p));
    }
    *out = Roaring();
    if (n.dates.empty()) {
      for (const auto& p : pairs) {
        Roaring b;
        s = sets_.Bitmap(keys::Bitmap(org_, Kind::kTransition, keys::PairSubject(p.from, p.to), Level::kAll, 0), &b);
        if (!s.ok()) return s;
        *out |= b;
      }
    } else if (lo <= hi) {
      s = detail::LeadsWithTransitions(reader_, org_, pairs, lo, hi + 1, out);
    }
    *out &= universe_;
    return s;
  }
  Status Node(const query::FieldEquals& n, int, Roaring* out) {
    *out = Roaring();
    const std::string attr = NormalizeColumn(n.name);
    if (attr == "lead_id") {
      std::string bytes;
      Status s = reader_.Get(state::Cf::kLeads, keys::Lead(org_, n.value), &bytes);
      if (s.IsNotFound()) return Status::Ok();
      LeadRecord rec;
      if (s.ok()) s = LeadRecord::Decode(bytes, &rec);
      if (s.ok()) out->add(rec.num);
      *out &= universe_;
      return s;
    }
    // A number equals the value read as a number, a boolean true/false, text
    // equals text case-insensitively: one pass over the column's values.
    const std::string column = attr == "owner_id" ? "ownerid" : attr;
    const std::string prefix = keys::ValuePrefix(org_, column);
    std::optional<double> number;
    double d = 0;
    auto [p, ec] = std::from_chars(n.value.data(), n.value.data() + n.value.size(), d);
    if (ec == std::errc() && p == n.value.data() + n.value.size() && std::isfinite(d)) number = d;
    Status s = sets_.ScanBitmaps(prefix, keys::PrefixEnd(prefix), [&](std::string_view k, Roaring&& b) {
      auto v = keys::DecodeTyped(k.substr(prefix.size()));
      if (!v) return true;
      const bool hit = v->is_string() ? EqualsNoCase(v->get_ref<const std::string&>(), n.value)
                 : v->is_boolean() ? EqualsNoCase(n.value, v->get<bool>() ? "true" : "false")
                                   : (number && v->get<double>() == *number);
      if (hit) *out |= b;
      return true;
    });
    if (s.ok() && attr != "owner_id") s = RestrictToExactKey(n.name, out);
    *out &= universe_;
    return s;
  }
  // A key of fields matches exactly; the value indexes are by key in any case.
  Status RestrictToExactKey(const std::string& key, Roaring* out) {
    Roaring exact;
    Status s = sets_.Bitmap(keys::ExactKeyBitmap(org_, key), &exact);
    *out &= exact;
    return s;
  }
  Status Node(const query::FieldCompare& n, int, Roaring* out) {
    *out = Roaring();
    const std::string attr = NormalizeColumn(n.name);
    const std::string prefix = keys::ValuePrefix(org_, attr == "owner_id" ? "ownerid" : attr);
    Status s = sets_.ScanBitmaps(prefix + "N", prefix + "O", [&](std::string_view k, Roaring&& b) {
      auto v = keys::DecodeTyped(k.substr(prefix.size()));
      if (!v) return true;
      const double x = v->get<double>();
      bool hit = n.op == query::CompareOp::kGe   ? x >= n.number
                 : n.op == query::CompareOp::kLe ? x <= n.number
                 : n.op == query::CompareOp::kGt ? x > n.number
                                                 : x < n.number;
      if (hit) *out |= b;
      return true;
    });
    if (s.ok() && attr != "owner_id") s = RestrictToExactKey(n.name, out);
    *out &= universe_;
    return s;
  }
  Status Node(const query::InView& n, int depth, Roaring* out) {
    if (depth >= kMaxViewDepth) return Status::InvalidArgument("smart views nested too deep (a cycle?) at " + n.view_id);
    Query view;
    Status s = resolve_ ? resolve_(n.view_id, &view) : Status::NotFound(n.view_id);
    if (s.IsNotFound()) return Status::InvalidArgument("unknown smart view " + n.view_id);
    if (!s.ok()) return s;
    return Eval(view, depth + 1, out);
  }

  const state::Reader& reader_;
  std::string org_;
  detail::LeadSets sets_;
  const ViewResolver& resolve_;
  Roaring universe_;
};

}  // namespace

Status EvaluateQuery(const state::Reader& reader, std::string_view org, const Query& query,
                     const ViewResolver& resolve_view, Roaring* out) {
  Evaluator e(reader, org, resolve_view);
  Status s = e.Init();
  if (!s.ok()) return s;
  return e.Eval(query, 0, out);
}

}  // namespace leadflow::views
