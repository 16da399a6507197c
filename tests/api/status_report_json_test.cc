#include "api/status_report_json.h"

#include <doctest/doctest.h>

#include <cstdio>
#include <optional>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "views/time.h"

namespace leadflow::api {
namespace {

using Json = nlohmann::ordered_json;
using views::StatusRef;
using views::StatusRow;
using views::TransitionRow;

int64_t Ms(const char* rfc3339) { return *views::ParseRfc3339Ms(rfc3339); }

std::vector<std::string> Keys(const Json& j) {
  std::vector<std::string> keys;
  for (auto it = j.begin(); it != j.end(); ++it) keys.push_back(it.key());
  return keys;
}

const StatusRef kP{"stat_P", "Potential", false};
const StatusRef kB{"stat_B", "Bad Fit", false};
const StatusRef kQ{"stat_Q", "Qualified", false};
const StatusRef kOld{"stat_O", "Old", true};

// The shape of Close's official example: [2014-01-01 00:00 PST, 2014-06-01 00:00 PDT).
views::StatusReport ExampleReport() {
  views::StatusReport r;
  r.period = views::Period{Ms("2014-01-01T08:00:00Z"), Ms("2014-06-01T07:00:00Z")};
  r.rows = {
      {kP, 48729, 49997, 1269, 1, 1270, 2},
      {kB, 0, 0, 0, 0, 0, 0},
      {kQ, 26, 28, 2, 0, 2, 0},
      {kOld, 1, 0, 0, 1, 0, 1},
  };
  r.transitions = {{std::nullopt, kP, 1270}, {kP, kQ, 2}};
  r.summary = {{std::nullopt, kP, 1269}, {std::nullopt, kQ, 1}, {kP, kQ, 1}};
  return r;
}

views::StatusReport OverallReport() {
  views::StatusReport r;
  r.rows = {{kP, 0, 49997, 0, 0, 51000, 1003}, {kQ, 0, 28, 0, 0, 30, 2}};
  r.transitions = {{std::nullopt, kP, 51000}, {kP, kQ, 30}, {kOld, kQ, 1}};
  return r;
}

Json Render(const views::StatusReport& r, const ReportFilter& filter = {}) {
  return Json::parse(RenderStatusReport(r, filter));
}

const std::vector<std::string> kPeriodQueryKeys = {"started", "ended", "gained", "lost", "entered", "left"};

}  // namespace

TEST_CASE("QuoteQueryString quotes a label, escaping quote and backslash") {
  CHECK(QuoteQueryString("New") == R"("New")");
  CHECK(QuoteQueryString("") == R"("")");
  CHECK(QuoteQueryString(R"(Say "hi")") == R"("Say \"hi\"")");
  CHECK(QuoteQueryString(R"(a\b)") == R"("a\\b")");
  CHECK(QuoteQueryString(R"(\")") == R"("\\\"")");
  CHECK(QuoteQueryString("Négocié: (a) or b") == "\"Négocié: (a) or b\"");
}

TEST_CASE("LeadsPageUrl percent-encodes every byte outside A-Za-z0-9_.-~") {
  CHECK(LeadsPageUrl(R"(lead_status:"New")") == "/search/lead_status%3A%22New%22/");
  CHECK(LeadsPageUrl("") == "/search//");
  CHECK(LeadsPageUrl("AZaz09_.-~") == "/search/AZaz09_.-~/");
  CHECK(LeadsPageUrl("a b+c/d%e?f&g=h#i") == "/search/a%20b%2Bc%2Fd%25e%3Ff%26g%3Dh%23i/");
  CHECK(LeadsPageUrl("é") == "/search/%C3%A9/");
  CHECK(LeadsPageUrl(R"(created >= "2014-01-01 08:00:00")") ==
        "/search/created%20%3E%3D%20%222014-01-01%2008%3A00%3A00%22/");

  const std::string safe = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789_.-~";
  for (int b = 0; b < 256; ++b) {
    const char c = static_cast<char>(b);
    char hex[4];
    std::snprintf(hex, sizeof(hex), "%%%02X", b);
    const std::string expected = "/search/" + (safe.find(c) != std::string::npos ? std::string(1, c) : hex) + "/";
    CAPTURE(b);
    CHECK(LeadsPageUrl(std::string(1, c)) == expected);
  }
}

TEST_CASE("SpanStarting and SpanBefore write whole seconds plainly and other bounds to the millisecond") {
  struct Case {
    std::string bound, starting, before;
  };
  const std::vector<Case> cases = {
      {"2024-01-01T08:00:00Z", "2024-01-01 08:00:00", "2024-01-01 07:59:59"},
      {"2024-01-01T08:00:00.250Z", "2024-01-01 08:00:00.250", "2024-01-01 08:00:00.249"},
      {"2024-01-01T08:00:00.001Z", "2024-01-01 08:00:00.001", "2024-01-01 08:00:00.000"},
      {"2024-01-01T00:00:00Z", "2024-01-01 00:00:00", "2023-12-31 23:59:59"},
      {"1970-01-01T00:00:00Z", "1970-01-01 00:00:00", "1969-12-31 23:59:59"},
      {"1969-12-31T23:59:59.250Z", "1969-12-31 23:59:59.250", "1969-12-31 23:59:59.249"},
      {"1969-12-31T23:59:59Z", "1969-12-31 23:59:59", "1969-12-31 23:59:58"},
  };
  for (const auto& c : cases) {
    CAPTURE(c.bound);
    CHECK(SpanStarting(Ms(c.bound.c_str())) == c.starting);
    CHECK(SpanBefore(Ms(c.bound.c_str())) == c.before);
  }
}

TEST_CASE("a period report has every key in Close's order and the exact query templates") {
  const Json j = Render(ExampleReport());
  CHECK(Keys(j) == std::vector<std::string>{"status_overview", "status_transitions", "status_transitions_summary"});
  REQUIRE(j["status_overview"].size() == 4);

  const Json& p = j["status_overview"][0];
  CHECK(Keys(p) == std::vector<std::string>{"status_id", "status_label", "status_is_deleted", "started", "ended",
                                            "change", "change_percent", "gained", "lost", "entered", "left",
                                            "_queries", "_leads_page_urls"});
  CHECK(p["status_id"] == "stat_P");
  CHECK(p["status_label"] == "Potential");
  CHECK(p["status_is_deleted"] == false);
  CHECK(p["started"] == 48729);
  CHECK(p["ended"] == 49997);
  CHECK(p["change"] == 1268);
  CHECK(p["change_percent"] == 3);
  CHECK(p["gained"] == 1269);
  CHECK(p["lost"] == 1);
  CHECK(p["entered"] == 1270);
  CHECK(p["left"] == 2);

  CHECK(Keys(p["_queries"]) == kPeriodQueryKeys);
  CHECK(Keys(p["_leads_page_urls"]) == kPeriodQueryKeys);
  const Json& q = p["_queries"];
  CHECK(q["started"] == R"(lead_status(status:"Potential" on:"2014-01-01 07:59:59"))");
  CHECK(q["ended"] == R"(lead_status(status:"Potential" on:"2014-06-01 06:59:59"))");
  CHECK(q["gained"] == R"(not lead_status(status:"Potential" on:"2014-01-01 07:59:59") and )"
                       R"(lead_status(status:"Potential" on:"2014-06-01 06:59:59"))");
  CHECK(q["lost"] == R"(lead_status(status:"Potential" on:"2014-01-01 07:59:59") and )"
                     R"(not lead_status(status:"Potential" on:"2014-06-01 06:59:59"))");
  CHECK(q["entered"] == R"((original_lead_status:"Potential" and created >= "2014-01-01 08:00:00" and )"
                        R"(created <= "2014-06-01 06:59:59") or lead_status_change(new_status:"Potential" and )"
                        R"(date >= "2014-01-01 08:00:00" and date <= "2014-06-01 06:59:59"))");
  CHECK(q["left"] == R"(lead_status_change(old_status:"Potential" and date >= "2014-01-01 08:00:00" and )"
                     R"(date <= "2014-06-01 06:59:59"))");
  for (const auto& key : kPeriodQueryKeys) {
    CAPTURE(key);
    CHECK(p["_leads_page_urls"][key] == LeadsPageUrl(q[key].get<std::string>()));
  }
  CHECK(p["_leads_page_urls"]["started"] ==
        "/search/lead_status%28status%3A%22Potential%22%20on%3A%222014-01-01%2007%3A59%3A59%22%29/");

  CHECK(j["status_overview"][1]["change_percent"].is_null());  // started 0
  CHECK(j["status_overview"][2]["change_percent"] == 8);       // 26 -> 28
  CHECK(j["status_overview"][3]["status_is_deleted"] == true);
  CHECK(j["status_overview"][3]["change_percent"] == -100);
}

TEST_CASE("period transitions and summary rows carry null from fields for creations and exact queries") {
  const Json j = Render(ExampleReport());
  REQUIRE(j["status_transitions"].size() == 2);
  const Json& created = j["status_transitions"][0];
  CHECK(Keys(created) == std::vector<std::string>{"from_status_id", "from_status_label", "from_status_is_deleted",
                                                  "to_status_id", "to_status_label", "to_status_is_deleted",
                                                  "count", "_query", "_leads_page_url"});
  CHECK(created["from_status_id"].is_null());
  CHECK(created["from_status_label"].is_null());
  CHECK(created["from_status_is_deleted"].is_null());
  CHECK(created["to_status_id"] == "stat_P");
  CHECK(created["to_status_label"] == "Potential");
  CHECK(created["to_status_is_deleted"] == false);
  CHECK(created["count"] == 1270);
  CHECK(created["_query"] == R"(original_lead_status:"Potential" and created >= "2014-01-01 08:00:00" and )"
                             R"(created <= "2014-06-01 06:59:59")");
  CHECK(created["_leads_page_url"] == LeadsPageUrl(created["_query"].get<std::string>()));

  const Json& moved = j["status_transitions"][1];
  CHECK(moved["from_status_id"] == "stat_P");
  CHECK(moved["from_status_label"] == "Potential");
  CHECK(moved["from_status_is_deleted"] == false);
  CHECK(moved["to_status_label"] == "Qualified");
  CHECK(moved["count"] == 2);
  CHECK(moved["_query"] == R"(lead_status_change(old_status:"Potential" new_status:"Qualified" and )"
                           R"(date >= "2014-01-01 08:00:00" and date <= "2014-06-01 06:59:59"))");

  REQUIRE(j["status_transitions_summary"].size() == 3);
  const Json& s0 = j["status_transitions_summary"][0];
  CHECK(Keys(s0) == Keys(created));
  CHECK(s0["from_status_id"].is_null());
  CHECK(s0["count"] == 1269);
  CHECK(s0["_query"] ==
        R"(created > "2014-01-01 07:59:59" and lead_status(status:"Potential" on:"2014-06-01 06:59:59"))");
  CHECK(j["status_transitions_summary"][1]["_query"] ==
        R"(created > "2014-01-01 07:59:59" and lead_status(status:"Qualified" on:"2014-06-01 06:59:59"))");
  const Json& s2 = j["status_transitions_summary"][2];
  CHECK(s2["from_status_label"] == "Potential");
  CHECK(s2["_query"] == R"(lead_status(status:"Potential" on:"2014-01-01 07:59:59") and )"
                        R"(lead_status(status:"Qualified" on:"2014-06-01 06:59:59"))");
  CHECK(s2["_leads_page_url"] == LeadsPageUrl(s2["_query"].get<std::string>()));
}

TEST_CASE("bounds that are not whole seconds are written to the millisecond") {
  views::StatusReport r;
  r.period = views::Period{Ms("2024-01-01T00:00:00.250Z"), Ms("2024-02-01T00:00:00.001Z")};
  r.rows = {{kP, 1, 1, 0, 0, 0, 0}};
  r.transitions = {{std::nullopt, kP, 1}};
  const Json j = Render(r);
  const Json& q = j["status_overview"][0]["_queries"];
  CHECK(q["started"] == R"(lead_status(status:"Potential" on:"2024-01-01 00:00:00.249"))");
  CHECK(q["ended"] == R"(lead_status(status:"Potential" on:"2024-02-01 00:00:00.000"))");
  CHECK(j["status_transitions"][0]["_query"] ==
        R"(original_lead_status:"Potential" and created >= "2024-01-01 00:00:00.250" and )"
        R"(created <= "2024-02-01 00:00:00.000")");
}

TEST_CASE("change_percent is 100 * change / started rounded half away from zero, null when started is 0") {
  struct Case {
    int64_t started, ended;
    Json expected;
  };
  const std::vector<Case> cases = {
      {8, 9, 13},     {8, 7, -13},     {48729, 49997, 3}, {17, 16, -6},  {26, 28, 8},   {4, 5, 25},
      {5, 5, 0},      {3, 4, 33},      {3, 5, 67},        {3, 2, -33},   {3, 1, -67},   {1, 0, -100},
      {200, 201, 1},  {200, 199, -1},  {400, 401, 0},     {400, 399, 0}, {1, 31, 3000}, {0, 5, nullptr},
      {0, 0, nullptr},
  };
  for (const auto& c : cases) {
    CAPTURE(c.started);
    CAPTURE(c.ended);
    views::StatusReport r;
    r.period = views::Period{Ms("2024-01-01T00:00:00Z"), Ms("2024-02-01T00:00:00Z")};
    r.rows = {{kP, c.started, c.ended, 0, 0, 0, 0}};
    const Json row = Render(r)["status_overview"][0];
    CHECK(row["change"] == c.ended - c.started);
    CHECK(row["change_percent"] == c.expected);
  }
}

TEST_CASE("the overall report leaves out every field that needs a period start") {
  const Json j = Render(OverallReport());
  CHECK(Keys(j) == std::vector<std::string>{"status_overview", "status_transitions"});
  const Json& p = j["status_overview"][0];
  CHECK(Keys(p) == std::vector<std::string>{"status_id", "status_label", "status_is_deleted", "ended", "entered",
                                            "left", "_queries", "_leads_page_urls"});
  CHECK(p["ended"] == 49997);
  CHECK(p["entered"] == 51000);
  CHECK(p["left"] == 1003);
  CHECK(Keys(p["_queries"]) == std::vector<std::string>{"ended", "entered", "left"});
  CHECK(Keys(p["_leads_page_urls"]) == std::vector<std::string>{"ended", "entered", "left"});
  CHECK(p["_queries"]["ended"] == R"(lead_status:"Potential")");
  CHECK(p["_queries"]["entered"] ==
        R"(original_lead_status:"Potential" or lead_status_change(new_status:"Potential"))");
  CHECK(p["_queries"]["left"] == R"(lead_status_change(old_status:"Potential"))");
  CHECK(p["_leads_page_urls"]["ended"] == "/search/lead_status%3A%22Potential%22/");

  REQUIRE(j["status_transitions"].size() == 3);
  CHECK(j["status_transitions"][0]["from_status_id"].is_null());
  CHECK(j["status_transitions"][0]["_query"] == R"(original_lead_status:"Potential")");
  CHECK(j["status_transitions"][1]["_query"] ==
        R"(lead_status_change(old_status:"Potential" new_status:"Qualified"))");
  CHECK(j["status_transitions"][2]["from_status_id"] == "stat_O");
  CHECK(j["status_transitions"][2]["from_status_is_deleted"] == true);
  CHECK(j["status_transitions"][2]["to_status_is_deleted"] == false);
}

TEST_CASE("an empty report renders empty arrays") {
  views::StatusReport overall;
  CHECK(Render(overall).dump() == R"({"status_overview":[],"status_transitions":[]})");
  views::StatusReport period;
  period.period = views::Period{0, 1000};
  CHECK(Render(period).dump() ==
        R"({"status_overview":[],"status_transitions":[],"status_transitions_summary":[]})");
}

TEST_CASE("labels inside queries are quoted with their quotes and backslashes escaped") {
  views::StatusReport r = OverallReport();
  r.rows[0].status.label = R"(Say "hi" \ now)";
  r.transitions[1].from->label = R"(Say "hi" \ now)";
  const Json j = Render(r);
  CHECK(j["status_overview"][0]["status_label"] == R"(Say "hi" \ now)");
  CHECK(j["status_overview"][0]["_queries"]["ended"] == R"(lead_status:"Say \"hi\" \\ now")");
  CHECK(j["status_overview"][0]["_leads_page_urls"]["ended"] ==
        "/search/lead_status%3A%22Say%20%5C%22hi%5C%22%20%5C%5C%20now%22/");
  CHECK(j["status_transitions"][1]["_query"] ==
        R"(lead_status_change(old_status:"Say \"hi\" \\ now" new_status:"Qualified"))");
}

TEST_CASE("a query filter wraps every query as (<query>) and (T)") {
  const ReportFilter filter{ReportFilter::Kind::kQuery, R"("Industry":"SaaS" or lead_status:"Bad Fit")"};
  const std::string w = R"(("Industry":"SaaS" or lead_status:"Bad Fit") and )";
  const Json j = Render(ExampleReport(), filter);
  const Json& q = j["status_overview"][0]["_queries"];
  CHECK(q["started"] == w + R"((lead_status(status:"Potential" on:"2014-01-01 07:59:59")))");
  CHECK(q["left"] == w + R"((lead_status_change(old_status:"Potential" and date >= "2014-01-01 08:00:00" and )"
                             R"(date <= "2014-06-01 06:59:59")))");
  for (const auto& key : kPeriodQueryKeys) {
    CAPTURE(key);
    CHECK(q[key].get<std::string>().rfind(w + "(", 0) == 0);
    CHECK(j["status_overview"][0]["_leads_page_urls"][key] == LeadsPageUrl(q[key].get<std::string>()));
  }
  CHECK(j["status_transitions"][0]["_query"] ==
        w + R"((original_lead_status:"Potential" and created >= "2014-01-01 08:00:00" and )"
            R"(created <= "2014-06-01 06:59:59"))");
  CHECK(j["status_transitions_summary"][2]["_query"] ==
        w + R"((lead_status(status:"Potential" on:"2014-01-01 07:59:59") and )"
            R"(lead_status(status:"Qualified" on:"2014-06-01 06:59:59")))");
  CHECK(j["status_transitions_summary"][2]["_leads_page_url"] ==
        LeadsPageUrl(j["status_transitions_summary"][2]["_query"].get<std::string>()));
}

TEST_CASE("a smart view filter wraps every query as in:\"<id>\" and (T)") {
  const ReportFilter filter{ReportFilter::Kind::kSmartView, "save_x"};
  const Json period = Render(ExampleReport(), filter);
  CHECK(period["status_overview"][0]["_queries"]["ended"] ==
        R"(in:"save_x" and (lead_status(status:"Potential" on:"2014-06-01 06:59:59")))");
  CHECK(period["status_transitions"][1]["_query"] ==
        R"(in:"save_x" and (lead_status_change(old_status:"Potential" new_status:"Qualified" and )"
        R"(date >= "2014-01-01 08:00:00" and date <= "2014-06-01 06:59:59")))");
  CHECK(period["status_transitions_summary"][0]["_query"] ==
        R"(in:"save_x" and (created > "2014-01-01 07:59:59" and )"
        R"(lead_status(status:"Potential" on:"2014-06-01 06:59:59")))");

  const Json overall = Render(OverallReport(), filter);
  CHECK(overall["status_overview"][1]["_queries"]["entered"] ==
        R"(in:"save_x" and (original_lead_status:"Qualified" or lead_status_change(new_status:"Qualified")))");
  CHECK(overall["status_overview"][1]["_leads_page_urls"]["entered"] ==
        LeadsPageUrl(overall["status_overview"][1]["_queries"]["entered"].get<std::string>()));
}

}  // namespace leadflow::api
