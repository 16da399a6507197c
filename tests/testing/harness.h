// Test harness: a real RocksDB store in a fresh temporary directory, events
// fed through the real decode-and-apply pipeline, and reports rendered as
// readable text for table-driven tests.
#ifndef LEADFLOW_TESTS_TESTING_HARNESS_H_
#define LEADFLOW_TESTS_TESTING_HARNESS_H_

#include <cstdint>
#include <map>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "ingest/pipeline.h"
#include "state/store.h"
#include "views/keys.h"
#include "views/status_report.h"

namespace leadflow::testing {

// A self-signed P-256 certificate for CN=localhost (valid for an hour) and
// its key, written as PEM; the certificate is its own CA. False on failure.
bool WriteSelfSignedCert(const std::string& cert_path, const std::string& key_path);

// A unique, empty directory removed on destruction.
class TempDir {
 public:
  TempDir();
  ~TempDir();
  const std::string& path() const { return path_; }

 private:
  std::string path_;
};

// Event builders (JSON text). Ids of events are made unique automatically
// unless given. Times are RFC 3339.
std::string StatusUpserted(const std::string& id, const std::string& label, std::optional<int64_t> position,
                           const std::string& at, const std::string& org = "org1");
std::string StatusDeleted(const std::string& id, const std::string& at, const std::string& org = "org1");
std::string Created(const std::string& lead, const std::string& status, const std::string& at,
                    const std::string& org = "org1");
std::string Changed(const std::string& lead, const std::string& status, const std::string& at,
                    const std::string& org = "org1");
std::string Deleted(const std::string& lead, const std::string& at, const std::string& org = "org1");
std::string WithEventId(const std::string& event_json, const std::string& event_id);
// Any event: fields plus type, a fresh event_id, org and time (the builders
// above are made with it).
std::string Ev(nlohmann::json fields, const std::string& type, const std::string& at, const std::string& org = "org1");

// A store in dir with default options and a small block cache; fails the
// test when it does not open.
std::unique_ptr<state::Store> OpenTestStore(const std::string& dir);

class TestDb {
 public:
  TestDb();
  explicit TestDb(const state::Store::Options& options);
  state::Store* store() { return store_.get(); }
  // Ingest notes its batches in feed (views/change_feed.h) from now on.
  void set_change_feed(views::ChangeFeed* feed) { feed_ = feed; }

  // Applies events in order, committing every batch_size events. Fails the
  // test on a store error; returns the number of dead letters.
  size_t Ingest(const std::vector<std::string>& events, size_t batch_size = 1000);

  views::StatusReport Report(const std::optional<views::Period>& period, const std::string& org = "org1");
  // The report as text: one line per status row, transition and summary row.
  std::string ReportText(const std::optional<views::Period>& period, const std::string& org = "org1");

 private:
  TempDir dir_;
  std::unique_ptr<state::Store> store_;
  views::ChangeFeed* feed_ = nullptr;
};

// Every key and value of every family, keyed "family|key". A lead record
// and the journals appended to it since it was last written whole depend on
// the batches, so kLeads values are the record they make. With
// bitmaps_as_sets, a bitmap chunk is the list of its numbers (CRoaring's
// containers of one set may differ with the order deltas were folded in).
std::map<std::string, std::string> DumpState(state::Store* store, bool bitmaps_as_sets = false);

// "2024-01-01T00:00:00Z" -> ms.
int64_t Ms(const std::string& rfc3339);
views::Period P(const std::string& start, const std::string& end);
std::string ReportToText(const views::StatusReport& report);

// Standard base64 with padding (for HTTP Basic credentials).
std::string Base64(std::string_view in);
// Every byte outside A-Za-z0-9 percent-encoded (for query parameters).
std::string PercentEncode(std::string_view in);

// The activity log's entries per day, sorted: its keys name the batch that
// wrote them (keys::ActivityLogBatch), so runs with other batches are
// compared day by day.
std::map<std::string, std::vector<views::keys::ActivityEntry>> ActivityLogDays(const state::Reader& reader);

}  // namespace leadflow::testing

#endif  // LEADFLOW_TESTS_TESTING_HARNESS_H_
