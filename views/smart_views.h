// Smart Views: saved lead search queries (contract section 2a, Close's
// /api/v1/saved_search/), stored per org in state::Cf::kSmartViews under
// (org, view id), and the ViewResolver through which a query's
// `in:"save_..."` and a report's smart_view_id read them.
//
// A view's query is kept as the text it was given (not canonicalized) and
// must parse (views/query_parser.h) whenever it is written; views named by
// `in:"..."` inside it need not exist until it is evaluated.
//
// Thread safety: every function may be called from any thread at once,
// concurrently with ingestion (each write is one atomic Store::Write). Two
// writes to the same view do not lock each other out: the last Write wins,
// so a Replace that races a Delete of the same view may bring it back.
#ifndef LEADFLOW_VIEWS_SMART_VIEWS_H_
#define LEADFLOW_VIEWS_SMART_VIEWS_H_

#include <cstddef>
#include <cstdint>
#include <functional>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "state/status.h"
#include "state/store.h"
#include "views/query_eval.h"

namespace leadflow::views {

// Longest view name accepted, in bytes.
constexpr size_t kMaxSmartViewNameBytes = 1024;

// Intentionally copyable.
struct SmartView {
  std::string id;               // "save_" + 32 lower-case hex digits
  std::string name;             // 1 to kMaxSmartViewNameBytes bytes
  std::string query;            // the text as given; parses
  std::string type = "lead";    // always "lead"
  std::string organization_id;  // the org
  int64_t date_created = 0;     // ms since the epoch (UTC)
  int64_t date_updated = 0;     // ms; the last Create or Replace

  bool operator==(const SmartView&) const = default;
};

// How a change of a view is made durable: by default (an empty function)
// one Store::Write here; in a cluster, published to the cluster topic and
// applied by every instance (ingest/cluster_view.h PublishSmartView), so a
// view moves with its org and a standby copy has it too. view is the new
// record, nullptr for a deletion of (org, id). It must refuse a view that
// cannot be encoded (EncodeSmartView's InvalidArgument) before it writes
// or publishes anything.
using SmartViewWrite = std::function<Status(std::string_view org, std::string_view id, const SmartView* view)>;

// Creates a view of org named name with query, dated now_ms, under a fresh
// random id. On success stores it (through write, when given) and sets *out.
// InvalidArgument when name is empty or too long ("name: ...") or query
// does not parse ("query: " + the parser's message, which names the
// position); IoError when the store fails. REQUIRES: out != nullptr.
Status CreateSmartView(state::Store* store, std::string_view org, std::string_view name, std::string_view query,
                       int64_t now_ms, SmartView* out, const SmartViewWrite& write = {});

// Reads view id of org into *out: NotFound when org has no such view (a view
// of another org is not found); Corruption for an undecodable record.
// reader may be the Store or a snapshot of it.
Status GetSmartView(const state::Reader& reader, std::string_view org, std::string_view id, SmartView* out);

// The views of org ordered by date_created, then id; skip views are passed
// over and at most limit returned in *out (replacing its contents);
// *has_more tells whether more follow. Reads every view of the org (a few
// per org are expected).
Status ListSmartViews(const state::Reader& reader, std::string_view org, uint64_t skip, uint64_t limit,
                      std::vector<SmartView>* out, bool* has_more);

// Replaces the name and/or the query of view id of org (a nullopt keeps the
// current value) and sets date_updated to now_ms; on success *out is the
// stored view. NotFound when absent; InvalidArgument as in CreateSmartView.
Status ReplaceSmartView(state::Store* store, std::string_view org, std::string_view id,
                        const std::optional<std::string>& name, const std::optional<std::string>& query, int64_t now_ms,
                        SmartView* out, const SmartViewWrite& write = {});

// Deletes view id of org: NotFound when absent. Queries that name it with
// `in:"..."` then fail with InvalidArgument when evaluated.
Status DeleteSmartView(state::Store* store, std::string_view org, std::string_view id,
                       const SmartViewWrite& write = {});

// The durable record of a view (JSON), as stored and as published in a
// cluster. Encode: InvalidArgument when a string is not valid UTF-8;
// Decode: Corruption for anything but a record.
Status EncodeSmartView(const SmartView& v, std::string* out);
Status DecodeSmartView(std::string_view bytes, SmartView* out);
// Stores view as (org, id)'s record, or deletes it when view is nullptr
// (absent: nothing to do), in one write: what the default SmartViewWrite
// does, and what a cluster instance does with each view record it reads.
Status ApplySmartView(state::Store* store, std::string_view org, std::string_view id, const SmartView* view);
// Every view of every org in reader.
Status ListAllSmartViews(const state::Reader& reader, std::vector<SmartView>* out);

// A resolver for EvaluateQuery that reads org's views from reader: the
// view's parsed query, NotFound for an unknown id, InvalidArgument when a
// stored query no longer parses. The resolver keeps a reference to reader,
// which must outlive it; use the snapshot the rest of the request reads.
ViewResolver SmartViewResolver(const state::Reader& reader, std::string org);

}  // namespace leadflow::views

#endif  // LEADFLOW_VIEWS_SMART_VIEWS_H_
