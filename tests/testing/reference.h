// Reference: the lead status change report computed by brute force, straight
// from contract sections 1 and 2, with none of the views' indexes. Tests
// compare the views against it over random histories and periods.
#ifndef LEADFLOW_TESTS_TESTING_REFERENCE_H_
#define LEADFLOW_TESTS_TESTING_REFERENCE_H_

#include <cstdint>
#include <map>
#include <optional>
#include <string>
#include <vector>

namespace leadflow::testing {

struct RefEvent {
  std::string event_id;
  std::string type;  // lead.created, lead.status_changed, lead.deleted
  std::string lead;
  std::string status;
  int64_t at = 0;
};

struct RefReport {
  // status id -> {started, ended, gained, lost, entered, left}
  std::map<std::string, std::vector<int64_t>> rows;
  std::map<std::pair<std::string, std::string>, int64_t> transitions;  // "" = null
  std::map<std::pair<std::string, std::string>, int64_t> summary;
};

// events in arrival order (duplicates included; the first of an id counts).
// period nullopt: the overall report (started/gained/lost are 0, no summary).
RefReport ReferenceReport(const std::vector<RefEvent>& events, std::optional<std::pair<int64_t, int64_t>> period);

}  // namespace leadflow::testing

#endif  // LEADFLOW_TESTS_TESTING_REFERENCE_H_
