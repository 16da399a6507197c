// libFuzzer target for api/lsq_request.h: any POST /Leads/NotContacted body,
// parsed as JSON the way api/lsq_handler.cc does, is either refused (false,
// a non-empty message, the query left unchanged) or parsed into a query that
// keeps the documented ranges: PageIndex 1..1000000000, PageSize 1..10000,
// operand counts per operator, activity codes sorted and distinct, IncludeCSV
// names distinct column names. Parsing is deterministic, and nothing may
// throw. Any violation aborts.
//
// Built as a fuzzer with -DLEADFLOW_FUZZ=ON (clang), and into the corpus
// replay test of the default build (replay_main.cc); see README.md.
#include <algorithm>
#include <cstddef>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <exception>
#include <set>
#include <string>
#include <string_view>

#include <nlohmann/json.hpp>

#include "api/lsq_fields.h"
#include "api/lsq_request.h"
#include "views/not_contacted.h"

namespace {

using leadflow::views::LeadCondition;
using leadflow::views::NotContactedQuery;
using nlohmann::json;

[[noreturn]] void Fail(const char* what, std::string_view input, const std::string& detail) {
  std::fprintf(stderr, "lsq_request_fuzz: %s\n  input (%zu bytes): [%.*s]\n  %s\n", what, input.size(),
               static_cast<int>(std::min<size_t>(input.size(), 2000)), input.data(), detail.c_str());
  std::abort();
}

// Every member of q as text, to compare queries.
std::string Describe(const NotContactedQuery& q) {
  json j;
  if (q.user_filter) {
    json groups = json::array();
    for (const auto& g : q.user_filter->groups) {
      json conditions = json::array();
      for (const auto& c : g.conditions) {
        conditions.push_back({c.attribute, static_cast<int>(c.op), c.value});
      }
      groups.push_back({conditions, g.conditions_and});
    }
    j["user_filter"] = {groups, q.user_filter->groups_and};
  }
  for (const auto& c : q.lead_filters) j["lead_filters"].push_back({c.column, static_cast<int>(c.op), c.values});
  j["activity_codes"] = q.activity_codes;
  if (q.activity_window) j["activity_window"] = {q.activity_window->from_ms, q.activity_window->to_ms};
  for (const auto& [column, range] : q.lead_date_filters) {
    j["lead_date_filters"].push_back({column, range.from_ms, range.to_ms});
  }
  j["output"] = static_cast<int>(q.output);
  j["columns"] = q.columns;
  if (q.sort_column) j["sort_column"] = *q.sort_column;
  j["sort_descending"] = q.sort_descending;
  j["group_by"] = q.group_by;
  j["function"] = static_cast<int>(q.function);
  j["aggregate_column"] = q.aggregate_column;
  j["page"] = {q.page_index, q.page_size};
  return j.dump(-1, ' ', false, json::error_handler_t::replace);
}

// The documented ranges of a parsed query; "" or the one broken.
std::string Broken(const NotContactedQuery& q) {
  if (q.page_index < 1 || q.page_index > 1'000'000'000) return "PageIndex out of range";
  if (q.page_size < 1 || q.page_size > 10000) return "PageSize out of range";
  for (const LeadCondition& c : q.lead_filters) {
    if (!leadflow::api::IsColumnName(c.column)) return "a LeadFilters column is not a column name";
    const size_t n = c.values.size();
    switch (c.op) {
      case LeadCondition::Op::kIn:
      case LeadCondition::Op::kNotIn:
        if (n < 1) return "in without operands";
        break;
      case LeadCondition::Op::kBetween:
        if (n != 2) return "between without two operands";
        break;
      default:
        if (n != 1) return "a one-operand operator without one operand";
    }
    for (const json& v : c.values) {
      if (!v.is_string() && !v.is_number()) return "an operand is not a string or a number";
    }
  }
  if (!std::is_sorted(q.activity_codes.begin(), q.activity_codes.end()) ||
      std::adjacent_find(q.activity_codes.begin(), q.activity_codes.end()) != q.activity_codes.end()) {
    return "activity codes not sorted and distinct";
  }
  for (const auto& c : q.columns) {
    if (!leadflow::api::IsColumnName(c)) return "an IncludeCSV name is not a column name";
  }
  if (std::set<std::string>(q.columns.begin(), q.columns.end()).size() != q.columns.size()) {
    return "IncludeCSV repeats a name";
  }
  if (q.sort_column && !leadflow::api::IsColumnName(*q.sort_column)) return "sort column is not a column name";
  if (q.output == NotContactedQuery::Output::kAggregate && q.function != NotContactedQuery::Function::kCount &&
      !leadflow::api::IsColumnName(q.aggregate_column)) {
    return "Sum or Average without a column";
  }
  if (!q.group_by.empty() && !leadflow::api::IsColumnName(q.group_by)) return "GroupBy is not a column name";
  return "";
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  const std::string_view text(reinterpret_cast<const char*>(data), size);
  try {
    const json body = json::parse(text.begin(), text.end(), nullptr, /*allow_exceptions=*/false);
    if (body.is_discarded()) return 0;  // the handler answers "not valid JSON" itself

    NotContactedQuery q;
    q.page_index = 77;  // a sentinel: a refusal must leave the query unchanged
    q.columns = {"Sentinel"};
    const std::string before = Describe(q);
    std::string error;
    if (!leadflow::api::ParseNotContactedRequest(body, &q, &error)) {
      if (error.empty()) Fail("refused without a message", text, "");
      if (Describe(q) != before) Fail("a refusal changed the query", text, error + "\n  " + Describe(q));
      return 0;
    }
    if (!error.empty()) Fail("accepted with a message", text, error);
    if (std::string broken = Broken(q); !broken.empty()) Fail(broken.c_str(), text, Describe(q));

    NotContactedQuery again;
    std::string error2;
    if (!leadflow::api::ParseNotContactedRequest(body, &again, &error2) || Describe(again) != Describe(q)) {
      Fail("parsing is not deterministic", text, Describe(q) + "\n  " + Describe(again) + " " + error2);
    }
  } catch (const std::exception& e) {
    Fail("exception", text, e.what());
  }
  return 0;
}
