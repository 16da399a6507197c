// The static world of the event generator: org profiles (ids, statuses with
// labels and positions, users), activity types and the vocabulary used for
// lead fields. Deterministic: a profile depends only on the org index and the
// options.
//
// Thread safety: pure functions over constant tables.
#ifndef LEADFLOW_TOOLS_EVENTGEN_CATALOG_H_
#define LEADFLOW_TOOLS_EVENTGEN_CATALOG_H_

#include <cstdint>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include "tools/eventgen.h"
#include "tools/eventgen_util.h"

namespace leadflow::tools {

// A status of an org's lead pipeline. Times are fractions of the backfill
// span; the org's timeline emits status.upserted at added_at and
// status.deleted at deleted_at.
struct StatusDef {
  std::string id;     // "stat_<org>_<k>"
  std::string label;
  int position = -1;  // -1: sent without a position
  double added_at = 0;
  double deleted_at = -1;  // < 0: never deleted
};

struct UserDef {
  std::string id;  // "user_<org>_<k>"
  std::string first_name;
  std::string last_name;
  std::string email;
  std::string role;
  std::string team_id;
  double added_at = 0;
  double promoted_at = -1;  // < 0: never; else a second user.upserted
  std::string promoted_role;
};

struct OrgProfile {
  std::string id;          // "org_acme"
  std::string short_name;  // "acme": used inside generated ids
  int leads = 0;           // backfill leads
  std::vector<StatusDef> statuses;
  std::vector<UserDef> users;
};

OrgProfile BuildOrgProfile(int index, const GeneratorOptions& options);

// When leads arrive over the backfill span: weekdays and office hours (UTC)
// dominate, and the business grows over the span.
class ArrivalCurve {
 public:
  ArrivalCurve(int64_t start_ms, int64_t end_ms);
  // The instant before which a fraction u in [0, 1) of the arrivals fall;
  // non-decreasing in u, within [start_ms, end_ms).
  int64_t TimeAt(double u) const;

 private:
  int64_t start_ms_;
  int64_t end_ms_;
  std::vector<double> cumulative_;  // arrival weight before each hour
};

struct ActivityType {
  int code;          // LeadSquared ActivityEvent
  const char* name;
  double weight;     // relative frequency
};

// Activities a lead accumulates over its life.
std::span<const ActivityType> ActivityTypes();
// Logged right at lead creation for web leads (not counted as a contact).
const ActivityType& LeadCaptureActivity();

// Vocabulary for lead fields.
std::span<const std::string_view> FirstNames();
std::span<const std::string_view> LastNames();
std::span<const std::string_view> Cities();
std::span<const std::string_view> Companies();
// Lead sources with their relative frequency.
struct SourceDef {
  std::string_view name;
  double weight;
};
std::span<const SourceDef> Sources();

// Writes the members of a new lead's "fields" object into w (FirstName,
// LastName, EmailAddress, Source, City, EngagementScore, ...). Sets *web when
// the lead came from the web (such leads get a Lead Capture activity).
void WriteCreatedFields(Rng& rng, uint32_t lead_num, int64_t now_ms, JsonWriter& w, bool* web);
// Writes the members of a lead.updated "fields" object: one to three keys
// (a null removes a key), or none when allow_empty and the dice say so.
void WriteUpdatedFields(Rng& rng, int64_t now_ms, bool allow_empty, JsonWriter& w);

// "Anne O'Brien" -> "anne.obrien": lower-case ASCII letters of both names.
std::string EmailLocalPart(std::string_view first, std::string_view last);

}  // namespace leadflow::tools

#endif  // LEADFLOW_TOOLS_EVENTGEN_CATALOG_H_
