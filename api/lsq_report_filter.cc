#include "api/lsq_report_filter.h"

#include <algorithm>
#include <cstdint>
#include <limits>
#include <optional>
#include <string_view>
#include <vector>

#include "api/lsq_fields.h"

namespace leadflow::api {
namespace {

using nlohmann::json;
using views::LeadCondition;

bool Fail(std::string* error, std::string message) {
  *error = std::move(message);
  return false;
}

// A member that is an array, or a single object taken as a one-entry array.
bool EntriesOf(const json* node, const char* what, std::vector<const json*>* out, std::string* error) {
  out->clear();
  if (node == nullptr) return true;
  if (node->is_object()) {
    out->push_back(node);
    return true;
  }
  if (!node->is_array()) return Fail(error, std::string(what) + " must be an array");
  for (const json& e : *node) out->push_back(&e);
  return true;
}

// AND/OR (any case) into *and_op; null or "" leaves it; two different values fail.
bool MergeBoolOp(const json* node, const char* what, std::optional<bool>* and_op, std::string* error) {
  if (node == nullptr) return true;
  const std::string_view text = node->is_string() ? TrimSpaces(node->get_ref<const std::string&>()) : "?";
  if (text.empty()) return true;
  bool is_and;
  if (EqualsNoCase(text, "and")) {
    is_and = true;
  } else if (EqualsNoCase(text, "or")) {
    is_and = false;
  } else {
    return Fail(error, "Unsupported " + std::string(what) + " '" + QuotedValue(*node) + "' in UserFilter");
  }
  if (and_op->has_value() && **and_op != is_and) {
    return Fail(error, std::string(what) + " values disagree in UserFilter: use one of AND or OR");
  }
  *and_op = is_and;
  return true;
}

bool ParseUserCondition(const json& c, views::UserCondition* out, std::optional<bool>* and_op, std::string* error) {
  if (!c.is_object()) return Fail(error, "Each Condition in UserFilter must be an object");
  const json* name = FindKey(c, "LookupName");
  if (name == nullptr) return Fail(error, "LookupName is required in UserFilter");
  if (!name->is_string() || !IsColumnName(name->get_ref<const std::string&>())) {
    return Fail(error, "Invalid column name '" + QuotedValue(*name) + "' in UserFilter");
  }
  out->attribute = name->get<std::string>();
  const json* op = FindKey(c, "Operator");
  if (op == nullptr) return Fail(error, "Operator is required in UserFilter");
  const std::string op_text = op->is_string() ? LowerAscii(TrimSpaces(op->get_ref<const std::string&>())) : "";
  if (op_text == "eq") {
    out->op = views::UserCondition::Op::kEq;
  } else if (op_text == "neq") {
    out->op = views::UserCondition::Op::kNeq;
  } else if (op_text == "lik") {
    out->op = views::UserCondition::Op::kLike;
  } else {
    return Fail(error, "Unsupported Operator '" + QuotedValue(*op) + "' in UserFilter");
  }
  const json* value = FindKey(c, "LookupValue");
  if (value == nullptr) return Fail(error, "LookupValue is required in UserFilter");
  if (value->is_string()) {
    out->value = value->get<std::string>();
  } else if (value->is_number()) {
    out->value = value->dump();
  } else {
    return Fail(error, "LookupValue must be a string or a number in UserFilter");
  }
  return MergeBoolOp(FindKey(c, "ConditionOperator"), "ConditionOperator", and_op, error);
}

bool ParseUserFilter(const json& node, std::optional<views::UserFilter>* out, std::string* error) {
  if (!node.is_object()) return Fail(error, "UserFilter must be an object");
  std::vector<const json*> groups;
  if (!EntriesOf(FindKey(node, "GroupConditions"), "GroupConditions", &groups, error)) return false;
  views::UserFilter filter;
  std::optional<bool> groups_and;
  for (const json* g : groups) {
    if (!g->is_object()) return Fail(error, "Each of GroupConditions in UserFilter must be an object");
    std::vector<const json*> conditions;
    if (!EntriesOf(FindKey(*g, "Condition"), "Condition", &conditions, error)) return false;
    views::UserGroup group;
    std::optional<bool> conditions_and;
    for (const json* c : conditions) {
      views::UserCondition condition;
      if (!ParseUserCondition(*c, &condition, &conditions_and, error)) return false;
      group.conditions.push_back(std::move(condition));
    }
    group.conditions_and = conditions_and.value_or(true);
    if (!MergeBoolOp(FindKey(*g, "GroupOperator"), "GroupOperator", &groups_and, error)) return false;
    if (!group.conditions.empty()) filter.groups.push_back(std::move(group));
  }
  if (!MergeBoolOp(FindKey(node, "GroupOperator"), "GroupOperator", &groups_and, error)) return false;
  filter.groups_and = groups_and.value_or(true);
  if (filter.groups.empty()) {
    out->reset();
  } else {
    *out = std::move(filter);
  }
  return true;
}

struct LeadOperator {
  const char* name;
  LeadCondition::Op op;
  size_t min_values;
  size_t max_values;  // 0: no maximum
};
constexpr LeadOperator kLeadOperators[] = {
    {"=", LeadCondition::Op::kEq, 1, 1},          {"<>", LeadCondition::Op::kNeq, 1, 1},
    {"in", LeadCondition::Op::kIn, 1, 0},         {"not in", LeadCondition::Op::kNotIn, 1, 0},
    {"like", LeadCondition::Op::kLike, 1, 1},     {"<", LeadCondition::Op::kLt, 1, 1},
    {"<=", LeadCondition::Op::kLe, 1, 1},         {">", LeadCondition::Op::kGt, 1, 1},
    {">=", LeadCondition::Op::kGe, 1, 1},         {"between", LeadCondition::Op::kBetween, 2, 2},
};

// Lower case, trimmed, inner runs of spaces as one.
std::string NormalizeOperator(std::string_view text) {
  std::string out;
  for (char c : TrimSpaces(text)) {
    if (c == ' ' || c == '\t') {
      if (out.back() != ' ') out.push_back(' ');
    } else {
      out.push_back(c);
    }
  }
  return LowerAscii(out);
}

// Splits "a, b,c" at commas, trimming each part.
std::vector<json> SplitCommas(std::string_view text) {
  std::vector<json> out;
  for (;;) {
    const size_t comma = text.find(',');
    out.emplace_back(std::string(TrimSpaces(text.substr(0, comma))));
    if (comma == std::string_view::npos) break;
    text.remove_prefix(comma + 1);
  }
  return out;
}

bool ParseLeadCondition(const json& e, LeadCondition* out, std::string* error) {
  if (!e.is_object()) return Fail(error, "Each LeadFilters entry must be an object");
  const json* name = FindKey(e, "LookUpName");
  if (name == nullptr) return Fail(error, "LookUpName is required in LeadFilters");
  if (!name->is_string() || !IsColumnName(name->get_ref<const std::string&>())) {
    return Fail(error, "Invalid column name '" + QuotedValue(*name) + "' in LeadFilters");
  }
  out->column = name->get<std::string>();
  const json* op = FindKey(e, "SqlOperator");
  if (op == nullptr) return Fail(error, "SqlOperator is required for '" + out->column + "' in LeadFilters");
  const LeadOperator* found = nullptr;
  if (op->is_string()) {
    const std::string normalized = NormalizeOperator(op->get_ref<const std::string&>());
    for (const LeadOperator& candidate : kLeadOperators) {
      if (normalized == candidate.name) found = &candidate;
    }
  }
  if (found == nullptr) return Fail(error, "Unsupported SqlOperator '" + QuotedValue(*op) + "' in LeadFilters");
  out->op = found->op;

  const json* values = FindKey(e, "LookUpValues");
  if (values == nullptr) values = FindKey(e, "LookUpValue");
  if (values == nullptr) return Fail(error, "LookUpValues is required for '" + out->column + "' in LeadFilters");
  out->values.clear();
  if (values->is_array()) {
    out->values.assign(values->begin(), values->end());
  } else if (values->is_string() && found->max_values != 1) {
    out->values = SplitCommas(values->get_ref<const std::string&>());
  } else {
    out->values.push_back(*values);
  }
  for (const json& v : out->values) {
    if (!v.is_string() && !v.is_number()) {
      return Fail(error, "LookUpValues of '" + out->column + "' in LeadFilters must be strings or numbers");
    }
  }
  const size_t n = out->values.size();
  if (n < found->min_values || (found->max_values != 0 && n > found->max_values)) {
    const std::string count = found->max_values == 0 ? "at least " + std::to_string(found->min_values)
                                                      : "exactly " + std::to_string(found->min_values);
    return Fail(error, "SqlOperator '" + std::string(found->name) + "' in LeadFilters takes " + count +
                           (found->min_values == 1 ? " value" : " values") + " for '" + out->column +
                           "', got " + std::to_string(n));
  }
  return true;
}

// One code (an integer >= 0, or a string of such integers separated by commas).
bool AddActivityCodes(const json& v, std::vector<int64_t>* codes, std::string* error) {
  const std::string bad = "Invalid ActivityEvent code '" + QuotedValue(v) + "' in ActivityFilters";
  if (v.is_number_unsigned()) {
    if (v.get<uint64_t>() > static_cast<uint64_t>(std::numeric_limits<int64_t>::max())) return Fail(error, bad);
    codes->push_back(static_cast<int64_t>(v.get<uint64_t>()));
    return true;
  }
  if (v.is_number_integer()) {
    if (v.get<int64_t>() < 0) return Fail(error, bad);
    codes->push_back(v.get<int64_t>());
    return true;
  }
  if (!v.is_string()) return Fail(error, bad);
  for (const json& part : SplitCommas(v.get_ref<const std::string&>())) {
    const std::string& digits = part.get_ref<const std::string&>();
    if (digits.empty() || digits.size() > 18 ||
        !std::all_of(digits.begin(), digits.end(), [](char c) { return c >= '0' && c <= '9'; })) {
      return Fail(error, bad);
    }
    codes->push_back(std::stoll(digits));
  }
  return true;
}

bool ParseActivityEntry(const json& e, std::vector<int64_t>* codes, std::string* error) {
  if (!e.is_object()) return AddActivityCodes(e, codes, error);
  const json* values = FindKey(e, "ActivityEvent");
  if (values == nullptr) {
    const json* name = FindKey(e, "LookUpName");
    if (name == nullptr) {
      return Fail(error, "Each ActivityFilters entry needs ActivityEvent or LookUpName 'ActivityEvent'");
    }
    if (!name->is_string() || !EqualsNoCase(name->get_ref<const std::string&>(), "ActivityEvent")) {
      return Fail(error, "Unsupported LookUpName '" + QuotedValue(*name) + "' in ActivityFilters");
    }
    if (const json* op = FindKey(e, "SqlOperator")) {
      const std::string normalized = op->is_string() ? NormalizeOperator(op->get_ref<const std::string&>()) : "";
      if (normalized != "in" && normalized != "=") {
        return Fail(error, "Unsupported SqlOperator '" + QuotedValue(*op) + "' in ActivityFilters");
      }
    }
    values = FindKey(e, "LookUpValues");
    if (values == nullptr) values = FindKey(e, "LookUpValue");
    if (values == nullptr) return Fail(error, "LookUpValues is required in ActivityFilters");
  }
  if (!values->is_array()) return AddActivityCodes(*values, codes, error);
  if (values->empty()) return Fail(error, "An ActivityFilters entry lists no ActivityEvent code");
  for (const json& v : *values) {
    if (!AddActivityCodes(v, codes, error)) return false;
  }
  return true;
}

}  // namespace

bool ParseReportFilter(const json& report_filter, views::NotContactedQuery* out, std::string* error) {
  if (!report_filter.is_object()) return Fail(error, "ReportFilter must be an object");
  out->user_filter.reset();
  if (const json* user = FindKey(report_filter, "UserFilter")) {
    if (!ParseUserFilter(*user, &out->user_filter, error)) return false;
  }
  std::vector<const json*> entries;
  if (!EntriesOf(FindKey(report_filter, "LeadFilters"), "LeadFilters", &entries, error)) return false;
  out->lead_filters.clear();
  for (const json* e : entries) {
    LeadCondition condition;
    if (!ParseLeadCondition(*e, &condition, error)) return false;
    out->lead_filters.push_back(std::move(condition));
  }
  if (!EntriesOf(FindKey(report_filter, "ActivityFilters"), "ActivityFilters", &entries, error)) return false;
  std::vector<int64_t> codes;
  for (const json* e : entries) {
    if (!ParseActivityEntry(*e, &codes, error)) return false;
  }
  std::sort(codes.begin(), codes.end());
  codes.erase(std::unique(codes.begin(), codes.end()), codes.end());
  out->activity_codes = std::move(codes);
  return true;
}

}  // namespace leadflow::api
