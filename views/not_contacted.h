// Leads Not Contacted (contract section 3): the query as plain data, and its
// evaluation over the views as sets of leads.
//
// Every filter becomes a bitmap of lead numbers (value indexes per lead
// attribute, owner bitmaps, activity bitmaps per code and calendar unit);
// "not contacted" is a set difference, and only the requested page of rows is
// read. Parsing the LeadSquared JSON body into a NotContactedQuery is api/'s
// job (api/lsq_request.h).
//
// Thread safety: pure functions over a Reader (use a snapshot).
#ifndef LEADFLOW_VIEWS_NOT_CONTACTED_H_
#define LEADFLOW_VIEWS_NOT_CONTACTED_H_

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include <nlohmann/json.hpp>

#include "state/status.h"
#include "state/store.h"

namespace leadflow::views {

// One LeadFilters entry. Column names match case-insensitively.
struct LeadCondition {
  enum class Op { kEq, kNeq, kIn, kNotIn, kLike, kLt, kLe, kGt, kGe, kBetween };
  std::string column;
  Op op = Op::kEq;
  // Operands as given (strings or numbers). kEq/kNeq/kLike/kLt..kGe: one;
  // kIn/kNotIn: one or more; kBetween: two (low, high, inclusive).
  std::vector<nlohmann::json> values;
};

// UserFilter: a set of users; a lead passes when its owner is in it.
struct UserCondition {
  enum class Op { kEq, kNeq, kLike };
  std::string attribute;  // "UserID" or a key of the user's fields; case-insensitive
  Op op = Op::kEq;
  std::string value;      // kEq/kNeq: comma-separated means any of / none of
};
struct UserGroup {
  std::vector<UserCondition> conditions;
  bool conditions_and = true;  // ConditionOperator
};
struct UserFilter {
  std::vector<UserGroup> groups;
  bool groups_and = true;  // GroupOperator
};

// An inclusive instant range, milliseconds ([from, to]; ToDate's whole second
// is included by the parser: to = ToDate + 999).
struct InstantRange {
  int64_t from_ms = 0;
  int64_t to_ms = 0;
};

struct NotContactedQuery {
  std::optional<UserFilter> user_filter;
  std::vector<LeadCondition> lead_filters;   // AND
  std::vector<int64_t> activity_codes;       // empty: every code
  std::optional<InstantRange> activity_window;  // nullopt: all time
  // DateFilter entries on lead date columns (CreatedOn, ModifiedOn, or any
  // date-valued lead field), ANDed.
  std::vector<std::pair<std::string, InstantRange>> lead_date_filters;

  enum class Output { kList, kAggregate };
  Output output = Output::kList;
  std::vector<std::string> columns = {"ProspectID"};  // List: IncludeCSV
  std::optional<std::string> sort_column;             // List: Sorting.ColumnName
  bool sort_descending = false;                       // Sorting.Direction "1"
  enum class Function { kCount, kSum, kAverage };
  std::string group_by;          // Aggregate: GroupBy column ("" = one group)
  Function function = Function::kCount;
  std::string aggregate_column;  // Sum/Average: the numeric column

  int64_t page_index = 1;  // >= 1
  int64_t page_size = 100;  // 1..10000
};

struct NotContactedResult {
  int64_t total_count = 0;           // qualifying leads (List) or groups (Aggregate)
  std::vector<std::string> columns;  // output keys in order
  // One row per lead (List) or group (Aggregate) of the page. Values keep
  // their JSON type; times are "yyyy-MM-dd HH:mm:ss" UTC strings; absent is null.
  std::vector<std::vector<nlohmann::json>> rows;
};

// Evaluates query for org. InvalidArgument for a query that is well-formed
// but cannot be answered (e.g. Sum over a column name that is not valid).
Status ComputeNotContacted(const state::Reader& reader, std::string_view org, const NotContactedQuery& query,
                           NotContactedResult* out);

}  // namespace leadflow::views

#endif  // LEADFLOW_VIEWS_NOT_CONTACTED_H_
