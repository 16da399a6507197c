#include "ingest/decode.h"

#include <doctest/doctest.h>

#include <optional>
#include <sstream>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "tests/testing/check_ok.h"
#include "views/time.h"

namespace leadflow::ingest {
namespace {

using nlohmann::json;

// The decoded event as one readable line: common fields, then every
// type-specific field that is set.
std::string Describe(const views::Event& e) {
  std::ostringstream out;
  out << views::EventTypeName(e.type) << " " << e.event_id << " " << e.org_id << " "
      << views::FormatRfc3339Ms(e.occurred_at_ms);
  if (!e.status_id.empty()) out << " status=" << e.status_id;
  if (e.type == views::EventType::kStatusUpserted) out << " label=" << e.label;
  if (e.position) out << " position=" << *e.position;
  if (!e.user_id.empty()) out << " user=" << e.user_id;
  if (!e.lead_id.empty()) out << " lead=" << e.lead_id;
  if (e.owner_id) out << " owner=" << *e.owner_id;
  if (!e.previous_status_id.empty()) out << " previous=" << e.previous_status_id;
  if (!e.fields.is_null()) out << " fields=" << e.fields.dump();
  if (!e.activity_id.empty()) out << " activity=" << e.activity_id << " code=" << e.activity_event;
  if (e.activity_name) out << " name=" << *e.activity_name;
  return out.str();
}

// An event of type with the common fields valid, then extra merged in (a
// null in extra removes the key).
std::string Ev(const std::string& type, json extra) {
  json j = {{"event_id", "e1"}, {"type", type}, {"org_id", "org1"}, {"occurred_at", "2024-05-01T10:00:00Z"}};
  for (auto it = extra.begin(); it != extra.end(); ++it) {
    if (it->is_null()) {
      j.erase(it.key());
    } else {
      j[it.key()] = *it;
    }
  }
  return j.dump();
}

std::string Repeat(const std::string& s, int n) {
  std::string out;
  for (int i = 0; i < n; ++i) out += s;
  return out;
}

struct Valid {
  std::string name;
  std::string value;
  std::string expected;
};

struct Invalid {
  std::string name;
  std::string value;
  std::string reason_mentions;
};

}  // namespace

TEST_CASE("every event type decodes with its own fields") {
  const std::string at = " e1 org1 2024-05-01T10:00:00.000Z";
  const std::vector<Valid> cases = {
      {"status.upserted with a position",
       Ev("status.upserted", {{"status_id", "stat_1"}, {"label", "Potential"}, {"position", 3}}),
       "status.upserted" + at + " status=stat_1 label=Potential position=3"},
      {"status.upserted without a position",
       Ev("status.upserted", {{"status_id", "stat_1"}, {"label", "Bad Fit"}}),
       "status.upserted" + at + " status=stat_1 label=Bad Fit"},
      {"status.upserted with a negative position",
       Ev("status.upserted", {{"status_id", "s"}, {"label", "L"}, {"position", -2}}),
       "status.upserted" + at + " status=s label=L position=-2"},
      {"status.deleted", Ev("status.deleted", {{"status_id", "stat_1"}}), "status.deleted" + at + " status=stat_1"},
      {"user.upserted", Ev("user.upserted", {{"user_id", "u1"}, {"fields", {{"FirstName", "Ann"}, {"TeamId", 7}}}}),
       "user.upserted" + at + R"( user=u1 fields={"FirstName":"Ann","TeamId":7})"},
      {"lead.created with owner and fields",
       Ev("lead.created", {{"lead_id", "l1"}, {"status_id", "s1"}, {"owner_id", "u1"},
                           {"fields", {{"a", "x"}, {"b", 1.5}, {"c", true}, {"d", nullptr}}}}),
       "lead.created" + at + R"( status=s1 lead=l1 owner=u1 fields={"a":"x","b":1.5,"c":true,"d":null})"},
      {"lead.created without the optional fields", Ev("lead.created", {{"lead_id", "l1"}, {"status_id", "s1"}}),
       "lead.created" + at + " status=s1 lead=l1 fields={}"},
      {"lead.updated with a null value (a removal) and an owner",
       Ev("lead.updated", {{"lead_id", "l1"}, {"owner_id", "u2"}, {"fields", {{"city", nullptr}, {"n", 2}}}}),
       "lead.updated" + at + R"( lead=l1 owner=u2 fields={"city":null,"n":2})"},
      {"lead.updated with empty fields", Ev("lead.updated", {{"lead_id", "l1"}, {"fields", json::object()}}),
       "lead.updated" + at + " lead=l1 fields={}"},
      {"lead.status_changed with previous status and user",
       Ev("lead.status_changed", {{"lead_id", "l1"}, {"status_id", "s2"}, {"previous_status_id", "s1"},
                                  {"user_id", "u1"}}),
       "lead.status_changed" + at + " status=s2 user=u1 lead=l1 previous=s1"},
      {"lead.status_changed alone", Ev("lead.status_changed", {{"lead_id", "l1"}, {"status_id", "s2"}}),
       "lead.status_changed" + at + " status=s2 lead=l1"},
      {"lead.deleted", Ev("lead.deleted", {{"lead_id", "l1"}}), "lead.deleted" + at + " lead=l1"},
      {"activity.logged with name and user",
       Ev("activity.logged", {{"lead_id", "l1"}, {"activity_id", "a1"}, {"activity_event", 21},
                              {"activity_name", "Email Opened"}, {"user_id", "u1"}}),
       "activity.logged" + at + " user=u1 lead=l1 activity=a1 code=21 name=Email Opened"},
      {"activity.logged with code 0 and no name",
       Ev("activity.logged", {{"lead_id", "l1"}, {"activity_id", "a1"}, {"activity_event", 0}}),
       "activity.logged" + at + " lead=l1 activity=a1 code=0"},
  };
  for (const auto& c : cases) {
    CAPTURE(c.name);
    views::Event e;
    REQUIRE_OK(DecodeEvent(c.value, std::nullopt, &e));
    CHECK(Describe(e) == c.expected);
  }
}

TEST_CASE("optional fields sent as null count as absent and unknown keys are ignored") {
  const std::string at = " e1 org1 2024-05-01T10:00:00.000Z";
  // Ev drops keys whose value is null, so these are written out.
  const std::vector<Valid> nulls = {
      {"null position",
       R"({"event_id":"e1","type":"status.upserted","org_id":"org1","occurred_at":"2024-05-01T10:00:00Z",)"
       R"("status_id":"s","label":"L","position":null})",
       "status.upserted" + at + " status=s label=L"},
      {"null owner and fields on lead.created",
       R"({"event_id":"e1","type":"lead.created","org_id":"org1","occurred_at":"2024-05-01T10:00:00Z",)"
       R"("lead_id":"l1","status_id":"s1","owner_id":null,"fields":null})",
       "lead.created" + at + " status=s1 lead=l1 fields={}"},
      {"null previous status and user on lead.status_changed",
       R"({"event_id":"e1","type":"lead.status_changed","org_id":"org1","occurred_at":"2024-05-01T10:00:00Z",)"
       R"("lead_id":"l1","status_id":"s2","previous_status_id":null,"user_id":null})",
       "lead.status_changed" + at + " status=s2 lead=l1"},
      {"null name and user on activity.logged",
       R"({"event_id":"e1","type":"activity.logged","org_id":"org1","occurred_at":"2024-05-01T10:00:00Z",)"
       R"("lead_id":"l1","activity_id":"a1","activity_event":5,"activity_name":null,"user_id":null})",
       "activity.logged" + at + " lead=l1 activity=a1 code=5"},
      {"unknown extra keys",
       Ev("lead.deleted", {{"lead_id", "l1"}, {"producer", "crm"}, {"extra", {{"nested", {1, 2}}}}}),
       "lead.deleted" + at + " lead=l1"},
  };
  for (const auto& c : nulls) {
    CAPTURE(c.name);
    views::Event e;
    REQUIRE_OK(DecodeEvent(c.value, std::nullopt, &e));
    CHECK(Describe(e) == c.expected);
  }
}

TEST_CASE("ids are counted in characters, not bytes") {
  const std::vector<std::pair<std::string, bool>> ids = {
      {"x", true},
      {Repeat("x", 128), true},
      {Repeat("x", 129), false},
      {Repeat("\xC3\xA9", 128), true},        // 128 two-byte characters
      {Repeat("\xE6\x97\xA5", 128), true},    // 128 three-byte characters
      {Repeat("\xF0\x9F\x98\x80", 128), true},  // 128 four-byte characters
      {Repeat("\xC3\xA9", 129), false},
      {"", false},
  };
  for (const std::string field : {"event_id", "lead_id", "status_id"}) {
    for (const auto& [id, valid] : ids) {
      CAPTURE(field);
      CAPTURE(id.size());
      json extra = {{"lead_id", "l1"}, {"status_id", "s1"}};
      extra[field] = id;
      views::Event e;
      Status s = DecodeEvent(Ev("lead.created", extra), std::nullopt, &e);
      CHECK(s.ok() == valid);
      if (valid) {
        const std::string& decoded = field == "event_id"  ? e.event_id
                                     : field == "lead_id" ? e.lead_id
                                                          : e.status_id;
        CHECK(decoded == id);
      } else {
        CHECK(s.IsInvalidArgument());
        CHECK(s.message().find(field) != std::string::npos);
      }
    }
  }
}

TEST_CASE("an invalid event is rejected as InvalidArgument with a reason naming the problem") {
  const std::string lead = R"("lead_id":"l1")";
  const std::vector<Invalid> cases = {
      {"not JSON", "{not json", "JSON"},
      {"empty message", "", "JSON"},
      {"trailing garbage", Ev("lead.deleted", {{"lead_id", "l1"}}) + " x", "JSON"},
      {"invalid UTF-8", "{\"event_id\":\"\xFF\"}", "JSON"},
      {"an array", "[1,2]", "object"},
      {"a string", "\"lead.created\"", "object"},
      {"missing event_id", Ev("lead.deleted", {{"lead_id", "l1"}, {"event_id", nullptr}}), "event_id"},
      {"event_id a number", Ev("lead.deleted", {{"lead_id", "l1"}, {"event_id", 7}}), "event_id"},
      {"missing type", Ev("lead.deleted", {{"lead_id", "l1"}, {"type", nullptr}}), "type"},
      {"type a number", Ev("lead.deleted", {{"lead_id", "l1"}, {"type", 3}}), "type"},
      {"unknown type", Ev("lead.exploded", {{"lead_id", "l1"}}), "lead.exploded"},
      {"type in the wrong case", Ev("Lead.Deleted", {{"lead_id", "l1"}}), "Lead.Deleted"},
      {"missing org_id", Ev("lead.deleted", {{"lead_id", "l1"}, {"org_id", nullptr}}), "org_id"},
      {"org_id a number", Ev("lead.deleted", {{"lead_id", "l1"}, {"org_id", 1}}), "org_id"},
      {"empty org_id", Ev("lead.deleted", {{"lead_id", "l1"}, {"org_id", ""}}), "org_id"},
      {"org_id with a space", Ev("lead.deleted", {{"lead_id", "l1"}, {"org_id", "org 1"}}), "org_id"},
      {"org_id with a slash", Ev("lead.deleted", {{"lead_id", "l1"}, {"org_id", "org/1"}}), "org_id"},
      {"org_id with a dot", Ev("lead.deleted", {{"lead_id", "l1"}, {"org_id", "org.1"}}), "org_id"},
      {"org_id with a non-ASCII letter", Ev("lead.deleted", {{"lead_id", "l1"}, {"org_id", "org\xC3\xA9"}}), "org_id"},
      {"org_id of 65 characters", Ev("lead.deleted", {{"lead_id", "l1"}, {"org_id", Repeat("a", 65)}}), "org_id"},
      {"missing occurred_at", Ev("lead.deleted", {{"lead_id", "l1"}, {"occurred_at", nullptr}}), "occurred_at"},
      {"occurred_at a number", Ev("lead.deleted", {{"lead_id", "l1"}, {"occurred_at", 1714557600000}}), "occurred_at"},
      {"occurred_at a date", Ev("lead.deleted", {{"lead_id", "l1"}, {"occurred_at", "2024-05-01"}}), "occurred_at"},
      {"occurred_at without a zone", Ev("lead.deleted", {{"lead_id", "l1"}, {"occurred_at", "2024-05-01T10:00:00"}}),
       "occurred_at"},
      {"occurred_at an invalid date", Ev("lead.deleted", {{"lead_id", "l1"}, {"occurred_at", "2023-02-29T10:00:00Z"}}),
       "occurred_at"},
      {"occurred_at in words", Ev("lead.deleted", {{"lead_id", "l1"}, {"occurred_at", "yesterday"}}), "occurred_at"},
      {"status.upserted without status_id", Ev("status.upserted", {{"label", "L"}}), "status_id"},
      {"status.upserted without label", Ev("status.upserted", {{"status_id", "s"}}), "label"},
      {"label a number", Ev("status.upserted", {{"status_id", "s"}, {"label", 5}}), "label"},
      {"position a string", Ev("status.upserted", {{"status_id", "s"}, {"label", "L"}, {"position", "3"}}), "position"},
      {"position a fraction", Ev("status.upserted", {{"status_id", "s"}, {"label", "L"}, {"position", 1.5}}),
       "position"},
      {"position beyond int64",
       R"({"event_id":"e1","type":"status.upserted","org_id":"org1","occurred_at":"2024-05-01T10:00:00Z",)"
       R"("status_id":"s","label":"L","position":9223372036854775808})",
       "position"},
      {"position a boolean", Ev("status.upserted", {{"status_id", "s"}, {"label", "L"}, {"position", true}}),
       "position"},
      {"status.deleted without status_id", Ev("status.deleted", json::object()), "status_id"},
      {"user.upserted without user_id", Ev("user.upserted", {{"fields", json::object()}}), "user_id"},
      {"user.upserted without fields", Ev("user.upserted", {{"user_id", "u1"}}), "fields"},
      {"lead.created without lead_id", Ev("lead.created", {{"status_id", "s1"}}), "lead_id"},
      {"lead.created without status_id", Ev("lead.created", {{"lead_id", "l1"}}), "status_id"},
      {"owner_id a number", Ev("lead.created", {{"lead_id", "l1"}, {"status_id", "s1"}, {"owner_id", 9}}), "owner_id"},
      {"empty owner_id", Ev("lead.created", {{"lead_id", "l1"}, {"status_id", "s1"}, {"owner_id", ""}}), "owner_id"},
      {"lead_id a number", Ev("lead.created", {{"lead_id", 1}, {"status_id", "s1"}}), "lead_id"},
      {"fields a string", Ev("lead.created", {{"lead_id", "l1"}, {"status_id", "s1"}, {"fields", "x"}}), "fields"},
      {"fields an array", Ev("lead.created", {{"lead_id", "l1"}, {"status_id", "s1"}, {"fields", {1, 2}}}), "fields"},
      {"a field value an object",
       Ev("lead.created", {{"lead_id", "l1"}, {"status_id", "s1"}, {"fields", {{"addr", {{"city", "X"}}}}}}), "addr"},
      {"a field value an array",
       Ev("lead.updated", {{"lead_id", "l1"}, {"fields", {{"tags", json::array({"a", "b"})}}}}), "tags"},
      {"lead.updated without fields", Ev("lead.updated", {{"lead_id", "l1"}}), "fields"},
      {"lead.updated with null fields",
       R"({"event_id":"e1","type":"lead.updated","org_id":"org1","occurred_at":"2024-05-01T10:00:00Z",)"
       R"("lead_id":"l1","fields":null})",
       "fields"},
      {"lead.updated without lead_id", Ev("lead.updated", {{"fields", json::object()}}), "lead_id"},
      {"lead.status_changed without status_id", Ev("lead.status_changed", {{"lead_id", "l1"}}), "status_id"},
      {"user_id a number", Ev("lead.status_changed", {{"lead_id", "l1"}, {"status_id", "s"}, {"user_id", 4}}),
       "user_id"},
      {"previous_status_id too long",
       Ev("lead.status_changed", {{"lead_id", "l1"}, {"status_id", "s"}, {"previous_status_id", Repeat("p", 129)}}),
       "previous_status_id"},
      {"lead.deleted without lead_id", Ev("lead.deleted", json::object()), "lead_id"},
      {"activity.logged without activity_id", Ev("activity.logged", {{"lead_id", "l1"}, {"activity_event", 1}}),
       "activity_id"},
      {"activity.logged without activity_event", Ev("activity.logged", {{"lead_id", "l1"}, {"activity_id", "a"}}),
       "activity_event"},
      {"activity_event negative",
       Ev("activity.logged", {{"lead_id", "l1"}, {"activity_id", "a"}, {"activity_event", -1}}), "activity_event"},
      {"activity_event a fraction",
       Ev("activity.logged", {{"lead_id", "l1"}, {"activity_id", "a"}, {"activity_event", 2.5}}), "activity_event"},
      {"activity_event a string",
       Ev("activity.logged", {{"lead_id", "l1"}, {"activity_id", "a"}, {"activity_event", "21"}}), "activity_event"},
      {"activity_event beyond int64",
       R"({"event_id":"e1","type":"activity.logged","org_id":"org1","occurred_at":"2024-05-01T10:00:00Z",)"
       R"("lead_id":"l1","activity_id":"a","activity_event":18446744073709551615})",
       "activity_event"},
      {"activity_name a number",
       Ev("activity.logged", {{"lead_id", "l1"}, {"activity_id", "a"}, {"activity_event", 1}, {"activity_name", 3}}),
       "activity_name"},
  };
  for (const auto& c : cases) {
    CAPTURE(c.name);
    views::Event e;
    e.event_id = "untouched";
    Status s = DecodeEvent(c.value, std::nullopt, &e);
    REQUIRE_FALSE(s.ok());
    CHECK(s.IsInvalidArgument());
    CHECK_MESSAGE(s.message().find(c.reason_mentions) != std::string::npos, s.message());
    CHECK(e.event_id == "untouched");
  }
}

TEST_CASE("an org_id of 64 characters of letters, digits, _ and - is valid") {
  const std::string org = Repeat("aZ0_-", 12) + "abcd";
  REQUIRE(org.size() == 64);
  views::Event e;
  REQUIRE_OK(DecodeEvent(Ev("lead.deleted", {{"lead_id", "l1"}, {"org_id", org}}), std::nullopt, &e));
  CHECK(e.org_id == org);
}

TEST_CASE("the message key must equal the org_id") {
  const std::string value = Ev("lead.deleted", {{"lead_id", "l1"}});
  views::Event e;
  CHECK_OK(DecodeEvent(value, std::string_view("org1"), &e));
  CHECK(e.org_id == "org1");
  for (const std::string key : {"org2", "", "ORG1", "org1 "}) {
    CAPTURE(key);
    Status s = DecodeEvent(value, std::string_view(key), &e);
    CHECK(s.IsInvalidArgument());
    CHECK(s.message().find("key") != std::string::npos);
  }
}

TEST_CASE("occurred_at offsets are applied and fractions finer than a millisecond are truncated") {
  const std::vector<std::pair<std::string, std::string>> cases = {
      {"2024-05-01T10:00:00.123999+02:00", "2024-05-01T08:00:00.123Z"},
      {"2024-05-01T10:00:00Z", "2024-05-01T10:00:00.000Z"},
      {"2024-05-01T10:00:00.5Z", "2024-05-01T10:00:00.500Z"},
      {"2024-05-01T10:00:00.9999999z", "2024-05-01T10:00:00.999Z"},
      {"2024-05-01t00:30:00-05:30", "2024-05-01T06:00:00.000Z"},
      {"2024-01-01T01:00:00.001+02:00", "2023-12-31T23:00:00.001Z"},
      {"1969-12-31T23:59:59.9999Z", "1969-12-31T23:59:59.999Z"},
  };
  for (const auto& [in, out] : cases) {
    CAPTURE(in);
    views::Event e;
    REQUIRE_OK(DecodeEvent(Ev("lead.deleted", {{"lead_id", "l1"}, {"occurred_at", in}}), std::nullopt, &e));
    CHECK(views::FormatRfc3339Ms(e.occurred_at_ms) == out);
  }
}

}  // namespace leadflow::ingest
