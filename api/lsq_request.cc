#include "api/lsq_request.h"

#include "api/json_depth.h"

#include <algorithm>
#include <cstdint>
#include <limits>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "api/lsq_fields.h"
#include "api/lsq_report_filter.h"

namespace leadflow::api {
namespace {

using nlohmann::json;
using views::NotContactedQuery;

constexpr int64_t kMaxPageSize = 10000;
// Keeps (PageIndex - 1) * PageSize far from overflow.
constexpr int64_t kMaxPageIndex = 1'000'000'000;
// A real body nests 6 levels (ReportFilter.UserFilter.GroupConditions[]
// .Condition[]{}); copying or quoting a value recurses once per level, so
// deeper bodies are refused first (api/json_depth.h).

bool Fail(std::string* error, std::string message) {
  *error = std::move(message);
  return false;
}

// A column name in node, or a 400 naming where it was found.
bool ColumnName(const json& node, const char* where, std::string* out, std::string* error) {
  if (!node.is_string() || !IsColumnName(node.get_ref<const std::string&>())) {
    return Fail(error, "Invalid column name '" + QuotedValue(node) + "' in " + where);
  }
  *out = node.get<std::string>();
  return true;
}

bool ParseDate(const json& entry, const char* key, int64_t* ms, std::string* error) {
  const json* v = FindKey(entry, key);
  if (v == nullptr) return Fail(error, std::string(key) + " is required in DateFilter");
  std::optional<int64_t> parsed;
  if (v->is_string()) parsed = ParseLsqDateTime(v->get_ref<const std::string&>());
  if (!parsed) return Fail(error, "Invalid " + std::string(key) + " '" + QuotedValue(*v) + "' in DateFilter");
  *ms = *parsed;
  return true;
}

bool ParseDateFilter(const json& node, NotContactedQuery* out, std::string* error) {
  std::vector<const json*> entries;
  if (node.is_object()) {
    entries.push_back(&node);
  } else if (node.is_array()) {
    for (const json& e : node) entries.push_back(&e);
  } else {
    return Fail(error, "DateFilter must be an object or an array");
  }
  for (const json* e : entries) {
    if (!e->is_object()) return Fail(error, "Each DateFilter entry must be an object");
    const json* field = FindKey(*e, "DateField");
    if (field == nullptr) return Fail(error, "DateField is required in DateFilter");
    int64_t from = 0, to = 0;
    if (!ParseDate(*e, "FromDate", &from, error) || !ParseDate(*e, "ToDate", &to, error)) return false;
    if (from > to) {
      return Fail(error, "FromDate '" + QuotedValue(*FindKey(*e, "FromDate")) + "' is after ToDate '" +
                             QuotedValue(*FindKey(*e, "ToDate")) + "' in DateFilter");
    }
    const views::InstantRange range{from, to + 999};  // ToDate includes its whole second
    const std::string_view name =
        field->is_string() ? std::string_view(field->get_ref<const std::string&>()) : std::string_view();
    if (EqualsNoCase(name, "ActivityDate")) {
      if (out->activity_window) {
        // AND of two windows: their intersection (empty when from_ms > to_ms).
        out->activity_window->from_ms = std::max(out->activity_window->from_ms, range.from_ms);
        out->activity_window->to_ms = std::min(out->activity_window->to_ms, range.to_ms);
      } else {
        out->activity_window = range;
      }
      continue;
    }
    std::string column;
    if (EqualsNoCase(name, "LeadCreatedOn") || EqualsNoCase(name, "CreatedOn")) {
      column = "CreatedOn";
    } else if (EqualsNoCase(name, "LeadModifiedOn") || EqualsNoCase(name, "ModifiedOn")) {
      column = "ModifiedOn";
    } else if (!ColumnName(*field, "DateFilter", &column, error)) {
      return false;
    }
    out->lead_date_filters.emplace_back(std::move(column), range);
  }
  return true;
}

bool ParseIncludeCsv(const json& node, std::vector<std::string>* columns, std::string* error) {
  std::vector<std::string_view> names;
  if (node.is_string()) {
    std::string_view text = node.get_ref<const std::string&>();
    for (;;) {
      const size_t comma = text.find(',');
      names.push_back(TrimSpaces(text.substr(0, comma)));
      if (comma == std::string_view::npos) break;
      text.remove_prefix(comma + 1);
    }
  } else if (node.is_array()) {
    for (const json& e : node) {
      if (!e.is_string()) return Fail(error, "Invalid column name '" + QuotedValue(e) + "' in IncludeCSV");
      names.push_back(TrimSpaces(e.get_ref<const std::string&>()));
    }
  } else {
    return Fail(error, "IncludeCSV must be a comma-separated string of column names");
  }
  columns->clear();
  for (std::string_view name : names) {
    if (name.empty()) continue;
    if (!IsColumnName(name)) return Fail(error, "Invalid column name '" + Quoted(name) + "' in IncludeCSV");
    if (std::find(columns->begin(), columns->end(), name) == columns->end()) columns->emplace_back(name);
  }
  if (columns->empty()) columns->push_back("ProspectID");
  return true;
}

bool ParseOutput(const json& node, NotContactedQuery* out, std::string* error) {
  if (!node.is_object()) return Fail(error, "Output must be an object");
  if (const json* type = FindKey(node, "Type")) {
    const std::string_view text = type->is_string() ? TrimSpaces(type->get_ref<const std::string&>()) : "";
    if (EqualsNoCase(text, "List")) {
      out->output = NotContactedQuery::Output::kList;
    } else if (EqualsNoCase(text, "Aggregate")) {
      out->output = NotContactedQuery::Output::kAggregate;
    } else {
      return Fail(error, "Unsupported Output Type '" + QuotedValue(*type) + "': use List or Aggregate");
    }
  }
  const json* include = FindKey(node, "IncludeCSV");
  if (include == nullptr) include = FindKey(node, "Include_CSV");
  if (include != nullptr && !ParseIncludeCsv(*include, &out->columns, error)) return false;
  if (const json* group_by = FindKey(node, "GroupBy")) {
    // An empty GroupBy means one group, like an absent one.
    if (!(group_by->is_string() && group_by->get_ref<const std::string&>().empty()) &&
        !ColumnName(*group_by, "GroupBy", &out->group_by, error)) {
      return false;
    }
  }
  if (const json* field = FindKey(node, "AggregateField")) {
    if (!ColumnName(*field, "AggregateField", &out->aggregate_column, error)) return false;
  }
  const json* function = FindKey(node, "AggregateFunction");
  if (function != nullptr) {
    const std::string_view text = function->is_string() ? TrimSpaces(function->get_ref<const std::string&>()) : "";
    if (EqualsNoCase(text, "Count")) {
      out->function = NotContactedQuery::Function::kCount;
    } else if (EqualsNoCase(text, "Sum")) {
      out->function = NotContactedQuery::Function::kSum;
    } else if (EqualsNoCase(text, "Average")) {
      out->function = NotContactedQuery::Function::kAverage;
    } else {
      return Fail(error, "Unsupported AggregateFunction '" + QuotedValue(*function) + "': use Count, Sum or Average");
    }
  }
  if (out->output != NotContactedQuery::Output::kAggregate) return true;
  if (function == nullptr) return Fail(error, "AggregateFunction is required when Output Type is Aggregate");
  if (out->function != NotContactedQuery::Function::kCount && out->aggregate_column.empty()) {
    return Fail(error, std::string("AggregateField is required for AggregateFunction '") +
                           (out->function == NotContactedQuery::Function::kSum ? "Sum" : "Average") + "'");
  }
  return true;
}

bool ParseSorting(const json& node, NotContactedQuery* out, std::string* error) {
  const json* sort = &node;
  if (node.is_array()) {
    if (node.empty()) return true;
    if (node.size() > 1) return Fail(error, "Sorting accepts one column");
    sort = &node[0];
  }
  if (!sort->is_object()) return Fail(error, "Sorting must be an object");
  const json* column = FindKey(*sort, "ColumnName");
  if (column == nullptr) return Fail(error, "ColumnName is required in Sorting");
  std::string name;
  if (!ColumnName(*column, "Sorting", &name, error)) return false;
  bool descending = false;
  if (const json* direction = FindKey(*sort, "Direction")) {
    std::string text = direction->is_string() ? std::string(TrimSpaces(direction->get_ref<const std::string&>()))
                       : direction->is_number_integer() ? direction->dump()
                                                        : "";
    if (text == "1") {
      descending = true;
    } else if (text != "0") {
      return Fail(error, "Invalid Sorting Direction '" + QuotedValue(*direction) +
                             "': use \"1\" (descending) or \"0\" (ascending)");
    }
  }
  out->sort_column = std::move(name);
  out->sort_descending = descending;
  return true;
}

// An integer given as a JSON integer or a string of digits (optional '-').
bool ReadInteger(const json& v, int64_t* out) {
  if (v.is_number_unsigned()) {
    *out = v.get<uint64_t>() > static_cast<uint64_t>(std::numeric_limits<int64_t>::max())
               ? std::numeric_limits<int64_t>::max()
               : static_cast<int64_t>(v.get<uint64_t>());
    return true;
  }
  if (v.is_number_integer()) {
    *out = v.get<int64_t>();
    return true;
  }
  if (!v.is_string()) return false;
  std::string_view text = TrimSpaces(v.get_ref<const std::string&>());
  const bool negative = !text.empty() && text.front() == '-';
  if (negative) text.remove_prefix(1);
  if (text.empty() || text.size() > 18) return false;
  int64_t n = 0;
  for (char c : text) {
    if (c < '0' || c > '9') return false;
    n = n * 10 + (c - '0');
  }
  *out = negative ? -n : n;
  return true;
}

bool ParsePaging(const json& node, NotContactedQuery* out, std::string* error) {
  if (!node.is_object()) return Fail(error, "Paging must be an object");
  if (const json* index = FindKey(node, "PageIndex")) {
    if (!ReadInteger(*index, &out->page_index)) return Fail(error, "PageIndex must be an integer");
    if (out->page_index < 1) return Fail(error, "PageIndex must be at least 1");
    if (out->page_index > kMaxPageIndex) {
      return Fail(error, "PageIndex must be at most " + std::to_string(kMaxPageIndex));
    }
  }
  if (const json* size = FindKey(node, "PageSize")) {
    if (!ReadInteger(*size, &out->page_size)) return Fail(error, "PageSize must be an integer");
    if (out->page_size < 1 || out->page_size > kMaxPageSize) {
      return Fail(error, "PageSize must be between 1 and " + std::to_string(kMaxPageSize));
    }
  }
  return true;
}

}  // namespace

bool ParseNotContactedRequest(const json& body, views::NotContactedQuery* out, std::string* error) {
  if (!body.is_object()) return Fail(error, "The request body must be a JSON object");
  if (!JsonNestedAtMost(body, kMaxBodyDepth)) {
    return Fail(error, "The request body is nested more than " + std::to_string(kMaxBodyDepth) + " levels deep");
  }
  NotContactedQuery query;
  if (const json* filter = FindKey(body, "ReportFilter")) {
    if (!ParseReportFilter(*filter, &query, error)) return false;
  }
  if (const json* dates = FindKey(body, "DateFilter")) {
    if (!ParseDateFilter(*dates, &query, error)) return false;
  }
  if (const json* output = FindKey(body, "Output")) {
    if (!ParseOutput(*output, &query, error)) return false;
  }
  if (const json* sorting = FindKey(body, "Sorting")) {
    if (!ParseSorting(*sorting, &query, error)) return false;
  }
  if (const json* paging = FindKey(body, "Paging")) {
    if (!ParsePaging(*paging, &query, error)) return false;
  }
  *out = std::move(query);
  return true;
}

}  // namespace leadflow::api
