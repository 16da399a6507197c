// Query: the Close lead search language (contract section 2a) as a tree of
// plain values. views/query_parser.h reads the text into it; an evaluator
// turns it into a set of leads.
//
// A Query holds one node of a std::variant; visit it with std::visit. Nodes:
//
//   All            the empty query: every lead
//   And, Or        two or more operands (n-ary; a parsed tree never nests an
//                  And directly in an And, nor an Or in an Or)
//   Not            one operand
//   LeadStatus     lead_status:"X"              current status label is X
//   LeadStatusOn   lead_status(status:"X" on:"T")
//                                               status at span.end_ms is X
//                                               (every change with
//                                               occurred_at <= end applied)
//   OriginalStatus original_lead_status:"X"     created in status X
//   Created        created OP "T"               creation time vs. the span
//   StatusChange   lead_status_change(old_status:"A" new_status:"B"
//                                     and date >= "T0" and date <= "T1")
//                                               one transition (not the
//                                               creation) meets every part
//   FieldEquals    name:"value", "Name":"value" (lead_id, owner_id, fields)
//   FieldCompare   "Name" OP number             numeric field vs. number
//   InView         in:"save_..."                in that Smart View
//
// Spans. A time literal names a span of instants, resolved by the parser to
// inclusive millisecond bounds [start_ms, end_ms] (UTC, ms since the epoch):
//   "YYYY-MM-DD HH:MM:SS"      that second:      end_ms = start_ms + 999
//   "YYYY-MM-DD HH:MM:SS.mmm"  that millisecond: end_ms = start_ms
//   "YYYY-MM-DD"               that UTC day:     end_ms = start_ms + 86399999
// An instant t compares with a span as follows (kGe, kLe, kGt, kLt):
//   t >= span   t >= start_ms          t <= span   t <= end_ms
//   t >  span   t >  end_ms            t <  span   t <  start_ms
// so `created >= "T0" and created <= "L1"` is the closed range of whole spans.
//
// Labels, view ids and field values are the unescaped text; comparing labels
// and text values case-insensitively is the evaluator's job.
//
// Thread safety: plain values; distinct objects may be used from any thread,
// a shared one only for reading. Intentionally copyable (deep copies).
#ifndef LEADFLOW_VIEWS_QUERY_H_
#define LEADFLOW_VIEWS_QUERY_H_

#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <utility>
#include <variant>
#include <vector>

namespace leadflow::views {

struct Query;

namespace query {

// A value of T on the heap, copied deeply: lets a node hold a Query although
// Query is incomplete here. Never null, except after being moved from (then
// it may only be assigned to or destroyed).
template <typename T>
class Box {
 public:
  Box() : ptr_(std::make_unique<T>()) {}
  explicit Box(T value) : ptr_(std::make_unique<T>(std::move(value))) {}
  Box(const Box& other) : ptr_(std::make_unique<T>(*other)) {}
  Box(Box&&) noexcept = default;
  Box& operator=(const Box& other) {
    if (this != &other) ptr_ = std::make_unique<T>(*other);
    return *this;
  }
  Box& operator=(Box&&) noexcept = default;
  ~Box() = default;

  const T& operator*() const { return *ptr_; }
  T& operator*() { return *ptr_; }
  const T* operator->() const { return ptr_.get(); }
  T* operator->() { return ptr_.get(); }

  friend bool operator==(const Box& a, const Box& b) { return *a == *b; }

 private:
  std::unique_ptr<T> ptr_;
};

// Inclusive bounds of a time literal's span; see the file comment.
struct Span {
  int64_t start_ms = 0;
  int64_t end_ms = 0;
  bool operator==(const Span&) const = default;
};

enum class CompareOp { kGe, kLe, kGt, kLt };  // >=  <=  >  <

struct All {
  bool operator==(const All&) const = default;
};
struct And {
  std::vector<Query> operands;  // two or more
  bool operator==(const And&) const = default;
};
struct Or {
  std::vector<Query> operands;  // two or more
  bool operator==(const Or&) const = default;
};
struct Not {
  Box<Query> operand;
  bool operator==(const Not&) const = default;
};
struct LeadStatus {
  std::string label;
  bool operator==(const LeadStatus&) const = default;
};
struct LeadStatusOn {
  std::string label;
  Span span;  // the status at span.end_ms counts
  bool operator==(const LeadStatusOn&) const = default;
};
struct OriginalStatus {
  std::string label;
  bool operator==(const OriginalStatus&) const = default;
};
struct Created {
  CompareOp op = CompareOp::kGe;
  Span span;
  bool operator==(const Created&) const = default;
};
// One `date OP "T"` part of a lead_status_change(...): the transition's
// occurred_at compared with span.
struct DateBound {
  CompareOp op = CompareOp::kGe;
  Span span;
  bool operator==(const DateBound&) const = default;
};
// A lead matches when one of its transitions (not its creation) satisfies
// every part given; no parts at all: any transition.
struct StatusChange {
  std::optional<std::string> old_label;  // old_status:"A"
  std::optional<std::string> new_label;  // new_status:"B"
  std::vector<DateBound> dates;          // all must hold, in source order
  bool operator==(const StatusChange&) const = default;
};
// name:"value" (or name:word). name_was_quoted tells `"owner_id":"u"` (a
// field key written as a string) from `owner_id:"u"` (a bare word, which the
// contract matches case-insensitively for lead_id and owner_id).
struct FieldEquals {
  std::string name;
  std::string value;
  bool name_was_quoted = false;
  bool operator==(const FieldEquals&) const = default;
};
// "Name" OP number; matches numeric values only. number is finite.
struct FieldCompare {
  std::string name;
  CompareOp op = CompareOp::kGe;
  double number = 0;
  bool name_was_quoted = false;
  bool operator==(const FieldCompare&) const = default;
};
struct InView {
  std::string view_id;  // "save_..."
  bool operator==(const InView&) const = default;
};

using Node = std::variant<All, And, Or, Not, LeadStatus, LeadStatusOn, OriginalStatus, Created, StatusChange,
                          FieldEquals, FieldCompare, InView>;

}  // namespace query

// The root and every subtree. Equality is structural (labels compared
// exactly, byte for byte).
struct Query {
  query::Node node;
  bool operator==(const Query&) const = default;
};

}  // namespace leadflow::views

#endif  // LEADFLOW_VIEWS_QUERY_H_
