// Building blocks of the status report shared with the query evaluator:
// per-unit bitmap folding, the transition log of a day, leads per status at an
// instant, and the transition pairs of an org.
//
// Thread safety: pure functions over a Reader (use a snapshot).
#ifndef LEADFLOW_VIEWS_DETAIL_REPORT_SETS_H_
#define LEADFLOW_VIEWS_DETAIL_REPORT_SETS_H_

#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <unordered_map>
#include <vector>

#include <roaring/roaring.hh>

#include "state/status.h"
#include "state/store.h"
#include "views/detail/units.h"
#include "views/keys.h"
#include "views/status_report.h"

namespace leadflow::views::detail {

// The bitmap stored at key in state::Cf::kBitmaps; empty when absent.
Status GetBitmap(const state::Reader& reader, const std::string& key, Roaring* out);

// Folds the bitmaps of one subject over unit ranges with OR or XOR.
class BitmapFolder {
 public:
  BitmapFolder(const state::Reader& reader, std::string_view org) : reader_(reader), org_(org) {}
  enum class Op { kOr, kXor };
  // *acc op= the fold of the unit bitmaps of ranges.
  Status Fold(keys::Kind kind, const std::string& subject, const std::vector<UnitRange>& ranges, Op op,
              Roaring* acc) const;
  // The fold of the unit bitmaps of ranges (and of the bitmaps of the
  // logical keys in first, before them), shared and read-only: kept decoded
  // by the store between reports for as long as none of its sources
  // changes (Reader::GetDerivedBitmap). A range longer than
  // kMaxUnitLookups units (MembersAt's open-ended years) is listed by a
  // scan at this reader's view first: a unit created in it later makes
  // other sources, so another fold.
  Status FoldShared(keys::Kind kind, const std::string& subject, const std::vector<UnitRange>& ranges, Op op,
                    std::shared_ptr<const Roaring>* out, const std::vector<std::string>& first = {}) const;
  // The bitmap of one unit; empty when absent.
  Status Get(keys::Kind kind, const std::string& subject, keys::Level level, int64_t unit, Roaring* out) const;

 private:
  const state::Reader& reader_;
  std::string org_;
};

struct LogEntry {
  int64_t at_ms;
  uint32_t num;
  std::optional<std::string> from;
  std::string to;
};

// Effective transitions of `day` with from_ms <= at < to_ms, in order.
Status ReadLog(const state::Reader& reader, std::string_view org, int64_t day, int64_t from_ms, int64_t to_ms,
               std::vector<LogEntry>* out);

// The leads in each of status_ids at instant t (status_at(t), contract
// section 1), at the start of t's day, then t's day replayed up to t. The
// start of the day is the XOR of the flip bitmaps of every unit before it
// (kForward), or the current members XOR the flips of every unit from it on
// (kBackward: a flip says membership differs between a unit's start and the
// next unit's start, and "current" is membership after the last unit).
// kAuto takes the side with fewer units: backward for recent instants, where
// forward would read the big year and month flips of all the history.
enum class Direction { kAuto, kForward, kBackward };
Status MembersAt(const state::Reader& reader, std::string_view org, const std::vector<std::string>& status_ids,
                 int64_t t_ms, std::unordered_map<std::string, Roaring>* out, Direction direction = Direction::kAuto);

struct PairKey {
  std::optional<std::string> from;  // nullopt: creation
  std::string to;
};
Status LoadPairs(const state::Reader& reader, std::string_view org, std::vector<PairKey>* out);

// The leads with at least one transition of one of pairs in [t0, t1).
Status LeadsWithTransitions(const state::Reader& reader, std::string_view org, const std::vector<PairKey>& pairs,
                            int64_t t0, int64_t t1, Roaring* out);

}  // namespace leadflow::views::detail

#endif  // LEADFLOW_VIEWS_DETAIL_REPORT_SETS_H_
