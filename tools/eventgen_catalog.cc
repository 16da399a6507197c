#include "tools/eventgen_catalog.h"

#include <algorithm>
#include <array>

#include "tools/eventgen_util.h"

namespace leadflow::tools {
namespace {

constexpr std::array<std::string_view, 12> kOrgNames = {
    "acme",  "globex",  "initech", "umbrella", "hooli",     "vandelay",
    "stark", "wayne",   "wonka",   "soylent",  "cyberdyne", "tyrell",
};

// Pipeline order; the first statuses_per_org are used.
constexpr std::array<std::string_view, 12> kStatusLabels = {
    "Potential",     "Interested",  "Qualified", "Customer",
    "Bad Fit",       "Contacted",   "Demo Scheduled", "Proposal Sent",
    "Negotiation",   "On Hold",     "Churned",   "Lost",
};

constexpr std::array<ActivityType, 7> kActivityTypes = {{
    {22, "Outbound Phone Call Activity", 30},
    {21, "Inbound Phone Call Activity", 12},
    {201, "Email Sent", 25},
    {202, "Email Opened", 15},
    {203, "Meeting", 8},
    {208, "Document Collection", 5},
    {213, "Field Visit", 5},
}};
constexpr ActivityType kLeadCapture = {23, "Lead Capture", 0};

constexpr std::array<std::string_view, 32> kFirstNames = {
    "Anne",   "Ben",    "Chloe",  "David",   "Elena",  "Farid",  "Grace",  "Hiro",
    "Ines",   "Jamal",  "Karin",  "Liam",    "Maya",   "Noah",   "Olga",   "Pablo",
    "Quinn",  "Rosa",   "Sven",   "Tara",    "Umar",   "Vera",   "Wei",    "Ximena",
    "Yusuf",  "Zoe",    "Björn",  "Chiara",  "Dmitri", "Léa",    "Mateo",  "Priya",
};

constexpr std::array<std::string_view, 32> kLastNames = {
    "Smith",   "O'Brien",  "García",   "Müller", "Nguyen",  "Kowalski", "Rossi",
    "Tanaka",  "Okafor",   "Johansson", "Dubois", "Silva",   "Patel",    "Cohen",
    "Novak",   "Larsen",   "Kim",      "Haddad", "Fischer", "Moreau",   "Costa",
    "Ivanova", "Schmidt",  "Brown",    "Lopez",  "Wright",  "Chen",     "Ali",
    "Svensson", "Yilmaz",  "Kaur",     "Walker",
};

constexpr std::array<std::string_view, 20> kCities = {
    "New York", "London",  "Berlin",    "Paris",     "Madrid",   "Toronto", "Austin",
    "Chicago",  "Sydney",  "Singapore", "Bangalore", "Tokyo",    "Dublin",  "Lisbon",
    "Warsaw",   "Zürich",  "São Paulo", "Montréal",  "Cape Town", "O'Fallon",
};

constexpr std::array<std::string_view, 16> kCompanies = {
    "Northwind",      "Contoso",  "Fabrikam",        "Tailspin Toys", "Litware",
    "Adventure Works", "Proseware", "Wide World Importers", "Blue Yonder", "Coho Winery",
    "Lucerne Publishing", "Margie's Travel", "Alpine Ski House", "Trey Research",
    "Fourth Coffee",  "Woodgrove Bank",
};

constexpr std::array<SourceDef, 6> kSources = {{
    {"web", 40}, {"referral", 20}, {"event", 10}, {"cold call", 15}, {"partner", 10},
    {"linkedin", 5},
}};

constexpr std::array<std::string_view, 3> kRoles = {"Sales User", "Sales Manager", "Admin"};

std::string OrgShortName(int index) {
  if (index < static_cast<int>(kOrgNames.size())) {
    return std::string(kOrgNames[static_cast<size_t>(index)]);
  }
  return std::to_string(index + 1);
}

std::string StatusLabel(size_t k) {
  if (k < kStatusLabels.size()) return std::string(kStatusLabels[k]);
  return "Stage " + std::to_string(k + 1);
}

}  // namespace

OrgProfile BuildOrgProfile(int index, const GeneratorOptions& options) {
  OrgProfile org;
  org.short_name = OrgShortName(index + options.first_org);
  org.id = "org_" + org.short_name;
  org.leads = (index == 0 && options.big_org_leads > 0) ? options.big_org_leads
                                                         : options.leads_per_org;
  const std::string& s = org.short_name;

  const size_t n = static_cast<size_t>(std::max(1, options.statuses_per_org));
  for (size_t k = 0; k < n; ++k) {
    StatusDef status;
    status.id = "stat_" + s + "_" + std::to_string(k + 1);
    status.label = StatusLabel(k);
    status.position = static_cast<int>(k);
    org.statuses.push_back(std::move(status));
  }
  // Escaping and Unicode fixtures: a label with a double quote in the second
  // org (the first when there is only one), a non-ASCII label in the third.
  const size_t second = std::min<size_t>(1, n - 1);
  if (index == std::min(1, options.orgs - 1)) {
    org.statuses[second].label = "Interested \"Warm\"";
  }
  if (index == 2) {
    org.statuses[std::min<size_t>(2, n - 1)].label = "Qualifié";
    // Pipeline changes over time: a status added mid-history without a
    // position, and one deleted later (it stays in history).
    StatusDef nurture;
    nurture.id = "stat_" + s + "_" + std::to_string(n + 1);
    nurture.label = "Nurture";
    nurture.added_at = 0.35;
    org.statuses.push_back(std::move(nurture));
    if (n >= 3) org.statuses[second].deleted_at = 0.7;
  }

  Rng rng(MixSeed(options.seed ^ 0x5EED, static_cast<uint64_t>(index) + 1));
  const int users = std::max(1, options.users_per_org);
  for (int k = 0; k < users; ++k) {
    UserDef user;
    user.id = "user_" + s + "_" + std::to_string(k + 1);
    user.first_name = std::string(kFirstNames[rng.Below(kFirstNames.size())]);
    user.last_name = std::string(kLastNames[rng.Below(kLastNames.size())]);
    user.email = EmailLocalPart(user.first_name, user.last_name) + "@" + s + ".example.com";
    user.role = std::string(k == 0 ? kRoles[2] : k == 1 ? kRoles[1] : kRoles[0]);
    user.team_id = "team_" + s + "_" + std::to_string(k % 2 + 1);
    org.users.push_back(std::move(user));
  }
  if (index == 0 && users >= 3) {
    // A hire mid-history and a promotion later on.
    org.users.back().added_at = 0.6;
    org.users[2].promoted_at = 0.5;
    org.users[2].promoted_role = std::string(kRoles[1]);
  }
  return org;
}

namespace {

double HourWeight(int64_t hour_start_ms, double progress) {
  static constexpr double kDayWeight[7] = {1.0, 1.0, 1.0, 1.0, 0.9, 0.35, 0.25};  // Mon..Sun
  const int64_t day = hour_start_ms / kMsPerDay;
  const int64_t hour = hour_start_ms % kMsPerDay / kMsPerHour;
  const double hour_weight =
      hour < 7 ? 0.15 : hour < 8 ? 0.5 : hour < 18 ? 1.0 : hour < 21 ? 0.6 : 0.3;
  return kDayWeight[WeekdayOfDay(day)] * hour_weight * (0.8 + 0.4 * progress);
}

}  // namespace

ArrivalCurve::ArrivalCurve(int64_t start_ms, int64_t end_ms)
    : start_ms_(start_ms), end_ms_(end_ms) {
  const int64_t span = std::max<int64_t>(0, end_ms - start_ms);
  const int64_t hours = (span + kMsPerHour - 1) / kMsPerHour;
  cumulative_.assign(1, 0.0);
  for (int64_t h = 0; h < hours; ++h) {
    const int64_t width = std::min(kMsPerHour, span - h * kMsPerHour);
    const double w = HourWeight(start_ms + h * kMsPerHour,
                                static_cast<double>(h) / static_cast<double>(hours));
    cumulative_.push_back(cumulative_.back() + w * static_cast<double>(width) / kMsPerHour);
  }
}

int64_t ArrivalCurve::TimeAt(double u) const {
  if (cumulative_.size() < 2) return start_ms_;
  const double target = u * cumulative_.back();
  const auto it = std::upper_bound(cumulative_.begin(), cumulative_.end(), target);
  const size_t hour = std::min(static_cast<size_t>(it - cumulative_.begin()) - 1,
                               cumulative_.size() - 2);
  const double mass = cumulative_[hour + 1] - cumulative_[hour];
  const double fraction = mass > 0 ? (target - cumulative_[hour]) / mass : 0;
  const int64_t hour_start = start_ms_ + static_cast<int64_t>(hour) * kMsPerHour;
  const int64_t width = std::min(kMsPerHour, end_ms_ - hour_start);
  const int64_t t = hour_start + static_cast<int64_t>(fraction * static_cast<double>(width));
  return std::min(t, end_ms_ - 1);
}

std::span<const ActivityType> ActivityTypes() { return kActivityTypes; }
const ActivityType& LeadCaptureActivity() { return kLeadCapture; }
std::span<const std::string_view> FirstNames() { return kFirstNames; }
std::span<const std::string_view> LastNames() { return kLastNames; }
std::span<const std::string_view> Cities() { return kCities; }
std::span<const std::string_view> Companies() { return kCompanies; }
std::span<const SourceDef> Sources() { return kSources; }

namespace {

template <typename T>
std::string_view PickOne(Rng& rng, const T& list) {
  return list[rng.Below(list.size())];
}

std::string_view PickSource(Rng& rng) {
  double weights[kSources.size()];
  for (size_t i = 0; i < kSources.size(); ++i) weights[i] = kSources[i].weight;
  return kSources[rng.Weighted(weights, kSources.size())].name;
}

std::string Phone(Rng& rng) {
  return "+1-555-01" + std::to_string(10 + rng.Below(90));  // fictional 555-01xx
}

// A follow-up date 1-14 days ahead, on the hour between 09:00 and 17:00.
std::string FollowUpDate(Rng& rng, int64_t now_ms) {
  int64_t day = now_ms / kMsPerDay + 1 + static_cast<int64_t>(rng.Below(14));
  return FormatSqlDateTime(day * kMsPerDay + (9 + static_cast<int64_t>(rng.Below(9))) * kMsPerHour);
}

// Keys a lead.updated may touch, with relative frequencies.
enum UpdateKey { kScore, kCity, kSource, kPhone, kFollowUp, kDoNotEmail, kBudget, kCompany, kKeys };
constexpr double kUpdateWeights[kKeys] = {35, 12, 8, 10, 15, 5, 10, 5};

}  // namespace

void WriteCreatedFields(Rng& rng, uint32_t lead_num, int64_t now_ms, JsonWriter& w, bool* web) {
  std::string_view first = PickOne(rng, kFirstNames);
  std::string_view last = PickOne(rng, kLastNames);
  w.Str("FirstName", first).Str("LastName", last);
  w.Str("EmailAddress",
        EmailLocalPart(first, last) + "." + std::to_string(lead_num) + "@mail.example.org");
  if (rng.Chance(0.7)) w.Str("Phone", Phone(rng));
  std::string_view source = PickSource(rng);
  *web = source == "web";
  w.Str("Source", source);
  if (rng.Chance(0.9)) w.Str("City", PickOne(rng, kCities));
  if (rng.Chance(0.6)) w.Str("Company", PickOne(rng, kCompanies));
  if (rng.Chance(0.85)) w.Int("EngagementScore", static_cast<int64_t>(rng.Below(61)));
  w.Bool("DoNotEmail", rng.Chance(0.05));
  if (rng.Chance(0.25)) w.Str("mx_NextFollowUp", FollowUpDate(rng, now_ms));
}

void WriteUpdatedFields(Rng& rng, int64_t now_ms, bool allow_empty, JsonWriter& w) {
  if (allow_empty && rng.Chance(0.5)) return;
  const int count = rng.Chance(0.6) ? 1 : rng.Chance(0.75) ? 2 : 3;
  unsigned used = 0;
  for (int i = 0; i < count; ++i) {
    auto key = static_cast<UpdateKey>(rng.Weighted(kUpdateWeights, kKeys));
    if (used & (1u << key)) continue;
    used |= 1u << key;
    switch (key) {
      case kScore:
        w.Int("EngagementScore", static_cast<int64_t>(rng.Below(101)));
        break;
      case kCity:
        w.Str("City", PickOne(rng, kCities));
        break;
      case kSource:
        w.Str("Source", PickSource(rng));
        break;
      case kPhone:
        if (rng.Chance(0.5)) {
          w.Null("Phone");
        } else {
          w.Str("Phone", Phone(rng));
        }
        break;
      case kFollowUp:
        if (rng.Chance(0.4)) {
          w.Null("mx_NextFollowUp");
        } else {
          w.Str("mx_NextFollowUp", FollowUpDate(rng, now_ms));
        }
        break;
      case kDoNotEmail:
        w.Bool("DoNotEmail", rng.Chance(0.5));
        break;
      case kBudget:
        w.Num("mx_Budget", 500.0 * static_cast<double>(1 + rng.Below(200)) +
                               (rng.Chance(0.2) ? 0.5 : 0.0));
        break;
      case kCompany:
        w.Str("Company", PickOne(rng, kCompanies));
        break;
      case kKeys:
        break;
    }
  }
}

std::string EmailLocalPart(std::string_view first, std::string_view last) {
  std::string out;
  auto append = [&out](std::string_view name) {
    for (char c : name) {
      if (c >= 'A' && c <= 'Z') out.push_back(static_cast<char>(c - 'A' + 'a'));
      if (c >= 'a' && c <= 'z') out.push_back(c);
    }
  };
  append(first);
  out.push_back('.');
  append(last);
  return out;
}

}  // namespace leadflow::tools
