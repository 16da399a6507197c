#include "api/status_report_json.h"

#include <cstdlib>

#include <nlohmann/json.hpp>

#include "views/query_parser.h"
#include "views/time.h"

namespace leadflow::api {
namespace {

using Json = nlohmann::ordered_json;
using views::StatusRef;

bool WholeSecond(int64_t ms) { return ((ms % 1000) + 1000) % 1000 == 0; }

std::string Lit(const std::string& span) { return "\"" + span + "\""; }

// The query builder of one report: time literals and the filter wrapper.
class Queries {
 public:
  Queries(const std::optional<views::Period>& period, const ReportFilter& filter) : filter_(filter) {
    if (period) {
      t0_ = Lit(SpanStarting(period->start_ms));
      l0_ = Lit(SpanBefore(period->start_ms));
      l1_ = Lit(SpanBefore(period->end_ms));
    }
  }

  std::string Wrap(const std::string& q) const {
    switch (filter_.kind) {
      case ReportFilter::Kind::kNone: return q;
      case ReportFilter::Kind::kQuery: return "(" + filter_.value + ") and (" + q + ")";
      case ReportFilter::Kind::kSmartView: return "in:" + QuoteQueryString(filter_.value) + " and (" + q + ")";
    }
    return q;
  }

  std::string StatusOn(const std::string& label, const std::string& span) const {
    return "lead_status(status:" + QuoteQueryString(label) + " on:" + span + ")";
  }
  std::string Window() const { return "date >= " + t0_ + " and date <= " + l1_; }
  std::string CreatedIn() const { return "created >= " + t0_ + " and created <= " + l1_; }

  const std::string& l0() const { return l0_; }
  const std::string& l1() const { return l1_; }

 private:
  const ReportFilter& filter_;
  std::string t0_, l0_, l1_;
};

Json StatusFields(const char* prefix, const std::optional<StatusRef>& s, Json* out) {
  std::string p(prefix);
  (*out)[p + "_status_id"] = s ? Json(s->id) : Json();
  (*out)[p + "_status_label"] = s ? Json(s->label) : Json();
  (*out)[p + "_status_is_deleted"] = s ? Json(s->deleted) : Json();
  return *out;
}

Json ChangePercent(int64_t started, int64_t change) {
  if (started == 0) return Json();
  // round(100 * change / started), half away from zero, in integers.
  const int64_t num = 100 * std::llabs(change);
  const int64_t rounded = (2 * num + started) / (2 * started);
  return Json(change < 0 ? -rounded : rounded);
}

}  // namespace

std::string QuoteQueryString(std::string_view s) { return views::QuoteQueryString(s); }

std::string LeadsPageUrl(std::string_view query) {
  static const char* kHex = "0123456789ABCDEF";
  std::string out = "/search/";
  for (unsigned char c : query) {
    if (std::isalnum(c) || c == '_' || c == '.' || c == '-' || c == '~') {
      out.push_back(static_cast<char>(c));
    } else {
      out.push_back('%');
      out.push_back(kHex[c >> 4]);
      out.push_back(kHex[c & 15]);
    }
  }
  out.push_back('/');
  return out;
}

std::string SpanStarting(int64_t ms) { return views::FormatSpanLiteral(ms, !WholeSecond(ms)); }

std::string SpanBefore(int64_t ms) {
  return WholeSecond(ms) ? views::FormatSpanLiteral(ms - 1000, false) : views::FormatSpanLiteral(ms - 1, true);
}

std::string RenderStatusReport(const views::StatusReport& report, const ReportFilter& filter) {
  const bool overall = !report.period;
  Queries q(report.period, filter);
  Json overview = Json::array();
  for (const auto& row : report.rows) {
    const std::string label = QuoteQueryString(row.status.label);
    std::vector<std::pair<const char*, std::string>> queries;
    if (overall) {
      queries = {
          {"ended", "lead_status:" + label},
          {"entered", "original_lead_status:" + label + " or lead_status_change(new_status:" + label + ")"},
          {"left", "lead_status_change(old_status:" + label + ")"},
      };
    } else {
      const std::string on0 = q.StatusOn(row.status.label, q.l0());
      const std::string on1 = q.StatusOn(row.status.label, q.l1());
      queries = {
          {"started", on0},
          {"ended", on1},
          {"gained", "not " + on0 + " and " + on1},
          {"lost", on0 + " and not " + on1},
          {"entered", "(original_lead_status:" + label + " and " + q.CreatedIn() +
                          ") or lead_status_change(new_status:" + label + " and " + q.Window() + ")"},
          {"left", "lead_status_change(old_status:" + label + " and " + q.Window() + ")"},
      };
    }
    Json j;
    j["status_id"] = row.status.id;
    j["status_label"] = row.status.label;
    j["status_is_deleted"] = row.status.deleted;
    if (!overall) j["started"] = row.started;
    j["ended"] = row.ended;
    if (!overall) {
      j["change"] = row.ended - row.started;
      j["change_percent"] = ChangePercent(row.started, row.ended - row.started);
      j["gained"] = row.gained;
      j["lost"] = row.lost;
    }
    j["entered"] = row.entered;
    j["left"] = row.left;
    Json queries_json = Json::object(), urls = Json::object();
    for (const auto& [key, text] : queries) {
      std::string wrapped = q.Wrap(text);
      urls[key] = LeadsPageUrl(wrapped);
      queries_json[key] = std::move(wrapped);
    }
    j["_queries"] = std::move(queries_json);
    j["_leads_page_urls"] = std::move(urls);
    overview.push_back(std::move(j));
  }

  auto transition_json = [&](const views::TransitionRow& t, bool summary) {
    const std::string to = QuoteQueryString(t.to.label);
    std::string query;
    if (summary) {
      query = t.from ? q.StatusOn(t.from->label, q.l0()) + " and " + q.StatusOn(t.to.label, q.l1())
                     : "created > " + q.l0() + " and " + q.StatusOn(t.to.label, q.l1());
    } else if (!t.from) {
      query = "original_lead_status:" + to + (overall ? "" : " and " + q.CreatedIn());
    } else {
      query = "lead_status_change(old_status:" + QuoteQueryString(t.from->label) + " new_status:" + to +
              (overall ? "" : " and " + q.Window()) + ")";
    }
    query = q.Wrap(query);
    Json j;
    StatusFields("from", t.from, &j);
    StatusFields("to", t.to, &j);
    j["count"] = t.count;
    std::string url = LeadsPageUrl(query);
    j["_query"] = std::move(query);
    j["_leads_page_url"] = std::move(url);
    return j;
  };
  Json transitions = Json::array();
  for (const auto& t : report.transitions) transitions.push_back(transition_json(t, false));

  Json out;
  out["status_overview"] = std::move(overview);
  out["status_transitions"] = std::move(transitions);
  if (!overall) {
    Json summary = Json::array();
    for (const auto& t : report.summary) summary.push_back(transition_json(t, true));
    out["status_transitions_summary"] = std::move(summary);
  }
  return out.dump();
}

}  // namespace leadflow::api
