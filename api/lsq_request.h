// The request body of POST /Leads/NotContacted (contract section 3) parsed
// into a views::NotContactedQuery.
//
// Body (every key matched ASCII case-insensitively; a null member is absent):
//   ReportFilter.UserFilter   {GroupConditions: [{Condition: [{LookupName,
//                             Operator eq|neq|lik, LookupValue,
//                             ConditionOperator}], GroupOperator}],
//                             GroupOperator}
//   ReportFilter.LeadFilters  [{LookUpName, LookUpValues | LookUpValue,
//                             SqlOperator = <> in "not in" like < <= > >=
//                             between}]
//   ReportFilter.ActivityFilters  [{ActivityEvent: 21 | "21"}] or
//                             [{LookUpName: "ActivityEvent", LookUpValues:
//                             [...], SqlOperator: "in" | "="}]; the union
//   DateFilter                {DateField, FromDate, ToDate} or an array (AND)
//   Output                    {Type List|Aggregate, IncludeCSV, GroupBy,
//                             AggregateFunction Count|Sum|Average,
//                             AggregateField}
//   Sorting                   {ColumnName, Direction "1" desc | "0" asc}
//   Paging                    {PageIndex >= 1, PageSize 1..10000}
//
// Decisions where the contract is silent:
// - Enumerated values (operators, Type, AggregateFunction, AND/OR) match
//   ASCII case-insensitively; SqlOperator also ignores repeated spaces
//   ("not  in").
// - LookUpValues may be an array or a scalar; a scalar string for in, not in
//   and between is split at commas (each part trimmed). Operands are strings
//   or numbers. =, <>, like, <, <=, >, >= take exactly 1; in and not in at
//   least 1; between exactly 2.
// - UserFilter LookupName must be a column name too. Conditions of one group
//   share one ConditionOperator (the non-null ones must agree, default AND);
//   the groups' and the top-level GroupOperator likewise. A group without
//   conditions is dropped; a UserFilter without any is no filter.
// - ActivityFilters may also list bare codes ([21, "22"]); a string code may
//   be comma-separated ("21,22"). Codes are deduplicated and sorted.
// - Dates: FromDate and ToDate are both required; the fraction is ignored;
//   from_ms is FromDate's second, to_ms = ToDate's second + 999. Several
//   ActivityDate entries intersect; when they do not overlap the window is
//   empty, written from_ms > to_ms (then no activity disqualifies a lead).
// - Output absent or Type absent: List. AggregateFunction is required for
//   Aggregate; AggregateField for Sum and Average. IncludeCSV (also
//   Include_CSV) may be a string or an array of names; repeated names are
//   kept once, in first position.
// - PageIndex and PageSize are integers or strings of digits; PageIndex is
//   at most 1000000000, so (PageIndex - 1) * PageSize cannot overflow.
// - Sorting may be an object or an array of at most one object; Direction
//   defaults to "0" (ascending). A ColumnName is required.
// - Every column name is validated whatever the Output Type.
// - A body nested deeper than 64 levels (objects and arrays; the body is
//   level 1) is refused before anything else is read: parts of it are copied
//   and quoted in messages, which recurses once per level, so a deep body
//   could otherwise exhaust a server thread's stack. The check is iterative
//   and linear in the body.
//
// Thread safety: pure function.
#ifndef LEADFLOW_API_LSQ_REQUEST_H_
#define LEADFLOW_API_LSQ_REQUEST_H_

#include <string>

#include <nlohmann/json.hpp>

#include "views/not_contacted.h"

namespace leadflow::api {

// Parses body into *out. On invalid input returns false, leaves *out
// unchanged and sets *error to a message naming the problem (e.g. "Invalid
// column name 'First Name' in IncludeCSV"), meant for a 400 response.
bool ParseNotContactedRequest(const nlohmann::json& body, views::NotContactedQuery* out, std::string* error);

}  // namespace leadflow::api

#endif  // LEADFLOW_API_LSQ_REQUEST_H_
