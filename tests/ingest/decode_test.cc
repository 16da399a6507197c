#include "ingest/decode.h"

#include <doctest/doctest.h>

#include <chrono>
#include <optional>
#include <sstream>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "tests/ingest/same_event.h"
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

// The reason DecodeEvent gives for value, or "OK".
std::string Reason(std::string_view value) {
  views::Event e;
  Status s = DecodeEvent(value, std::nullopt, &e);
  if (s.ok()) return "OK";
  CHECK(s.IsInvalidArgument());
  return s.message();
}

// A lead.created whose fields are n keys "0".."<n-1>", each with value 0.
std::string LeadWithFields(size_t n) {
  std::string out = R"({"event_id":"e1","type":"lead.created","org_id":"org1",)"
                    R"("occurred_at":"2024-05-01T10:00:00Z","lead_id":"l1","status_id":"s1","fields":{)";
  for (size_t i = 0; i < n; ++i) out += (i ? ",\"" : "\"") + std::to_string(i) + "\":0";
  return out + "}}";
}

// A valid lead.deleted whose unknown key "pad" holds a string that makes the
// whole value exactly size bytes.
std::string LeadDeletedOfSize(size_t size) {
  const std::string head = Ev("lead.deleted", {{"lead_id", "l1"}});
  const std::string prefix = head.substr(0, head.size() - 1) + R"(,"pad":")";
  const std::string suffix = "\"}";
  REQUIRE(size >= prefix.size() + suffix.size());
  return prefix + std::string(size - prefix.size() - suffix.size(), 'x') + suffix;
}

// value wrapped in n arrays: [[...[value]...]].
std::string Nested(size_t n, const std::string& value) {
  return std::string(n, '[') + value + std::string(n, ']');
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
      {"occurred_at before year 1 in UTC",
       Ev("lead.deleted", {{"lead_id", "l1"}, {"occurred_at", "0001-01-01T00:59:59.999+01:00"}}),
       "occurred_at is outside the years 0001-9999 in UTC"},
      {"occurred_at after year 9999 in UTC",
       Ev("lead.deleted", {{"lead_id", "l1"}, {"occurred_at", "9999-12-31T23:00:00-01:00"}}),
       "occurred_at is outside the years 0001-9999 in UTC"},
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
    Status s = DecodeEvent(c.value, std::nullopt, &e);
    REQUIRE_FALSE(s.ok());
    CHECK(s.IsInvalidArgument());
    CHECK_MESSAGE(s.message().find(c.reason_mentions) != std::string::npos, s.message());
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
      {"0001-01-01T01:00:00+01:00", "0001-01-01T00:00:00.000Z"},
      {"9999-12-31T22:59:59.999-01:00", "9999-12-31T23:59:59.999Z"},
  };
  for (const auto& [in, out] : cases) {
    CAPTURE(in);
    views::Event e;
    REQUIRE_OK(DecodeEvent(Ev("lead.deleted", {{"lead_id", "l1"}, {"occurred_at", in}}), std::nullopt, &e));
    CHECK(views::FormatRfc3339Ms(e.occurred_at_ms) == out);
  }
}

TEST_CASE("an event of at most kMaxEventBytes is parsed and a larger one is refused before parsing") {
  CHECK(kMaxEventBytes == 1048576);
  const std::string at_limit = LeadDeletedOfSize(kMaxEventBytes);
  REQUIRE(at_limit.size() == kMaxEventBytes);
  CHECK(Reason(at_limit) == "OK");
  const std::string over = LeadDeletedOfSize(kMaxEventBytes + 1);
  CHECK(Reason(over) == "event is 1048577 bytes; at most 1048576 are allowed");
  // Not JSON at all, but the size is the first thing checked.
  CHECK(Reason(std::string(1200000, '{')) == "event is 1200000 bytes; at most 1048576 are allowed");
}

TEST_CASE("fields may hold at most kMaxFields keys in every event type that has fields") {
  CHECK(kMaxFields == 1000);
  CHECK(Reason(LeadWithFields(kMaxFields)) == "OK");
  CHECK(Reason(LeadWithFields(kMaxFields + 1)) == "fields has 1001 keys; at most 1000 are allowed");
  json many = json::object();
  for (size_t i = 0; i <= kMaxFields; ++i) many["k" + std::to_string(i)] = "v";
  CHECK(Reason(Ev("user.upserted", {{"user_id", "u1"}, {"fields", many}})) ==
        "fields has 1001 keys; at most 1000 are allowed");
  CHECK(Reason(Ev("lead.updated", {{"lead_id", "l1"}, {"fields", many}})) ==
        "fields has 1001 keys; at most 1000 are allowed");
  many.erase("k0");
  CHECK(Reason(Ev("lead.updated", {{"lead_id", "l1"}, {"fields", many}})) == "OK");
}

TEST_CASE("a field name is 1 to kMaxFieldNameBytes bytes") {
  CHECK(kMaxFieldNameBytes == 256);
  auto lead = [](const std::string& name) {
    return Ev("lead.updated", {{"lead_id", "l1"}, {"fields", {{name, "v"}}}});
  };
  CHECK(Reason(lead("a")) == "OK");
  CHECK(Reason(lead(Repeat("n", 256))) == "OK");
  CHECK(Reason(lead(Repeat("\xC3\xA9", 128))) == "OK");  // 256 bytes, 128 characters
  CHECK(Reason(lead(Repeat("n", 257))) == "fields has a key of 257 bytes; at most 256 are allowed");
  CHECK(Reason(lead(Repeat("\xC3\xA9", 129))) == "fields has a key of 258 bytes; at most 256 are allowed");
  CHECK(Reason(lead("")) == "fields has an empty key");
}

TEST_CASE("a string field value is at most kMaxFieldValueBytes bytes and other values are not limited") {
  CHECK(kMaxFieldValueBytes == 32768);
  auto lead = [](json value) { return Ev("lead.updated", {{"lead_id", "l1"}, {"fields", {{"note", value}}}}); };
  CHECK(Reason(lead(Repeat("x", 32768))) == "OK");
  CHECK(Reason(lead(Repeat("x", 32769))) == "fields.note is 32769 bytes; at most 32768 are allowed");
  CHECK(Reason(lead(Repeat("\xE6\x97\xA5", 10923))) == "fields.note is 32769 bytes; at most 32768 are allowed");
  CHECK(Reason(lead(1e308)) == "OK");
  CHECK(Reason(lead(-9223372036854775807LL)) == "OK");
  // Strings outside fields are bounded by the event size only.
  CHECK(Reason(Ev("status.upserted", {{"status_id", "s"}, {"label", Repeat("x", 40000)}})) == "OK");
}

TEST_CASE("nesting deeper than kMaxJsonDepth is refused at any size without exhausting the stack") {
  CHECK(kMaxJsonDepth == 32);
  const std::string base = Ev("lead.deleted", {{"lead_id", "l1"}});
  auto with_extra = [&](const std::string& extra) {
    return base.substr(0, base.size() - 1) + R"(,"extra":)" + extra + "}";
  };
  // The event's object is level 1, so "extra" may nest 31 more.
  CHECK(Reason(with_extra(Nested(31, "1"))) == "OK");
  CHECK(Reason(with_extra(Nested(32, "1"))) == "JSON nesting deeper than 32 levels");
  std::string objects = "1";
  for (int i = 0; i < 31; ++i) objects = R"({"a":)" + objects + "}";
  CHECK(Reason(with_extra(objects)) == "OK");
  CHECK(Reason(with_extra(R"({"a":)" + objects + "}")) == "JSON nesting deeper than 32 levels");
  // A megabyte of brackets, open or balanced, before anything else is wrong.
  CHECK(Reason(std::string(kMaxEventBytes, '[')) == "JSON nesting deeper than 32 levels");
  CHECK(Reason(Nested(kMaxEventBytes / 2, "")) == "JSON nesting deeper than 32 levels");
  std::string deep_objects;
  while (deep_objects.size() + 5 <= kMaxEventBytes) deep_objects += R"({"a":)";
  CHECK(Reason(deep_objects) == "JSON nesting deeper than 32 levels");
}

TEST_CASE("a duplicate key is refused in any object, fields and nested objects included") {
  const std::string common = R"("event_id":"e1","type":"lead.updated","occurred_at":"2024-05-01T10:00:00Z")"
                             R"(,"lead_id":"l1")";
  const std::vector<std::pair<std::string, std::string>> cases = {
      {R"({"org_id":"a","org_id":"b",)" + common + R"(,"fields":{}})", R"(duplicate key "org_id")"},
      {R"({"org_id":"a","org_id":"a",)" + common + R"(,"fields":{}})", R"(duplicate key "org_id")"},
      {R"({"org_id":"a",)" + common + R"(,"fields":{"City":"X","City":null}})", R"(duplicate key "City")"},
      {R"({"org_id":"a",)" + common + R"(,"fields":{},"fields":{}})", R"(duplicate key "fields")"},
      {R"({"org_id":"a",)" + common + R"(,"fields":{},"x":[{"k":1},{"k":1,"k":2}]})", R"(duplicate key "k")"},
      // The same key after escapes are decoded.
      {R"({"org_id":"a",)" + common + R"(,"fields":{"a":1,"a":2}})", R"(duplicate key "a")"},
      {R"({"org_id":"a",)" + common + R"(,"fields":{"q\"":1,"q\"":2}})", R"(duplicate key "q\"")"},
      {R"({"org_id":"a",)" + common + R"(,"fields":{")" + Repeat("k", 100) + R"(":1,")" + Repeat("k", 100) +
           R"(":2}})",
       "duplicate key \"" + Repeat("k", 64) + "...\""},
      // Not duplicates: another object, another case.
      {R"({"org_id":"a",)" + common + R"(,"fields":{"k":1,"K":2},"x":[{"k":1},{"k":1}],"y":{"k":{"k":1}}})",
       "OK"},
  };
  for (const auto& [value, reason] : cases) {
    CAPTURE(value);
    CHECK(Reason(value) == reason);
  }
}

TEST_CASE("a position or activity code past 64 bits is out of range, not a non-integer") {
  auto status = [](const std::string& position) {
    return R"({"event_id":"e1","type":"status.upserted","org_id":"org1","occurred_at":"2024-05-01T10:00:00Z",)"
           R"("status_id":"s1","label":"Open","position":)" + position + "}";
  };
  auto activity = [](const std::string& code) {
    return R"({"event_id":"e1","type":"activity.logged","org_id":"org1","occurred_at":"2024-05-01T10:00:00Z",)"
           R"("lead_id":"l1","activity_id":"a1","activity_event":)" + code + "}";
  };
  // Integer literals past 64 bits (read as doubles), and floats as large.
  CHECK(Reason(status("123456789012345678901234")) == "position is out of range");
  CHECK(Reason(status("-123456789012345678901234")) == "position is out of range");
  CHECK(Reason(status("1e30")) == "position is out of range");
  CHECK(Reason(activity("123456789012345678901234")) == "activity_event is out of range");
  CHECK(Reason(activity("9223372036854775808")) == "activity_event is out of range");  // a uint64
  // The edges and non-integers keep their reasons.
  CHECK(Reason(status("9223372036854775807")) == "OK");
  CHECK(Reason(status("-9223372036854775808")) == "OK");
  CHECK(Reason(status("9223372036854775808")) == "position is out of range");  // a uint64
  CHECK(Reason(status("1.5")) == "position must be an integer");
  CHECK(Reason(status("3.0")) == "position must be an integer");
  CHECK(Reason(activity("-123456789012345678901234")) == "activity_event must be an integer >= 0");
  CHECK(Reason(activity("2.5")) == "activity_event must be an integer >= 0");
}

TEST_CASE("a number beyond the range of a double is refused as out of range, naming it") {
  auto lead = [](const std::string& number) {
    return R"({"event_id":"e1","type":"lead.updated","org_id":"org1","occurred_at":"2024-05-01T10:00:00Z",)"
           R"("lead_id":"l1","fields":{"n":)" + number + "}}";
  };
  CHECK(Reason(lead("1e400")) == "number out of range: 1e400");
  CHECK(Reason(lead("-1.5E+309")) == "number out of range: -1.5E+309");
  CHECK(Reason(lead(Repeat("9", 400))) == "number out of range: " + Repeat("9", 40) + "...");
  CHECK(Reason(lead(Repeat("9", 40) + "e300")) == "number out of range: " + Repeat("9", 40) + "...");
  // Within a double: accepted (a big integer becomes a double, a tiny one 0).
  CHECK(Reason(lead("1e308")) == "OK");
  CHECK(Reason(lead(Repeat("9", 300))) == "OK");
  CHECK(Reason(lead("1e-400")) == "OK");
  CHECK(Reason(lead("18446744073709551615")) == "OK");
}

TEST_CASE("a number in fields keeps its value and its JSON type") {
  auto field = [](const std::string& number) {
    const std::string value = R"({"event_id":"e1","type":"lead.updated","org_id":"org1",)"
                              R"("occurred_at":"2024-05-01T10:00:00Z","lead_id":"l1","fields":{"n":)" +
                              number + "}}";
    views::Event e;
    const Status s = DecodeEvent(value, std::nullopt, &e);
    return s.ok() ? e.fields["n"].dump() : s.message();
  };
  // Integers without a sign are unsigned, with one signed; past 64 bits and
  // with a fraction or an exponent they are doubles.
  CHECK(field("7") == "7");
  CHECK(field("-7") == "-7");
  CHECK(field("-0") == "0");
  CHECK(field("-0.0") == "-0.0");
  CHECK(field("18446744073709551615") == "18446744073709551615");
  CHECK(field("18446744073709551616") == "1.8446744073709552e+19");
  CHECK(field("-9223372036854775808") == "-9223372036854775808");
  CHECK(field("-9223372036854775809") == "-9.223372036854776e+18");
  CHECK(field("1E2") == "100.0");
  CHECK(field("0.1") == "0.1");
  // More digits than a double holds: rounded, not lost.
  CHECK(field("3.14159265358979323846264338327950288") == "3.141592653589793");
  CHECK(field("-922337203685477580.8") == "-9.223372036854776e+17");
  CHECK(field(Repeat("9", 300)) == "1e+300");
  CHECK(field("1e-400") == "0.0");
  CHECK(field("4.9e-324") == "5e-324");
}

TEST_CASE("the values of unknown keys are validated like the rest") {
  const std::string base = Ev("lead.deleted", {{"lead_id", "l1"}});
  auto with_extra = [&](const std::string& extra) {
    return base.substr(0, base.size() - 1) + R"(,"extra":)" + extra + "}";
  };
  // Byte numbers count from 1: byte at + k is the extra value's k-th byte, from 0.
  const size_t at = with_extra("").size();
  CHECK(Reason(with_extra(R"([1,{"a":[true,false,null,"s",-1.5e3]}])")) == "OK");
  CHECK(Reason(with_extra("[1e400]")) == "number out of range: 1e400");
  CHECK(Reason(with_extra("[01]")) == "not valid JSON at byte " + std::to_string(at + 2));
  CHECK(Reason(with_extra("[1.]")) == "not valid JSON at byte " + std::to_string(at + 3));
  CHECK(Reason(with_extra("[tru]")) == "not valid JSON at byte " + std::to_string(at + 4));
  CHECK(Reason(with_extra("[nulls]")) == "not valid JSON at byte " + std::to_string(at + 5));
  CHECK(Reason(with_extra(R"("a\qb")")) == "not valid JSON at byte " + std::to_string(at + 3));
  CHECK(Reason(with_extra(R"({"s":"\ud800"})")) == "not valid JSON at byte " + std::to_string(at + 12));
  CHECK(Reason(with_extra("[1 2]")) == "not valid JSON at byte " + std::to_string(at + 3));
  CHECK(Reason(with_extra(R"({"k":1,"k":2})")) == R"(duplicate key "k")");
}

TEST_CASE("a message that is not JSON is refused with the byte where parsing failed") {
  const std::string ok = Ev("lead.deleted", {{"lead_id", "l1"}});
  const std::vector<std::pair<std::string, std::string>> cases = {
      {"{not json", "not valid JSON at byte 3"},
      {"this is not json", "not valid JSON at byte 2"},
      {std::string("\xff\xfe binary", 9), "not valid JSON at byte 1"},
      {R"({"event_id":"e1",})", "not valid JSON at byte 18"},
      {R"({"event_id" "e1"})", "not valid JSON at byte 13"},
      {ok + " x", "not valid JSON at byte " + std::to_string(ok.size() + 2)},
      {"", "not valid JSON: unexpected end of input"},
      {"   ", "not valid JSON: unexpected end of input"},
      {ok.substr(0, ok.size() - 1), "not valid JSON: unexpected end of input"},
      {R"({"event_id":"e1)", "not valid JSON: unexpected end of input"},
      {"{\"event_id\":\"\xFF\"}", "not valid JSON: invalid UTF-8 in a string at byte 14"},
      {"{\"event_id\":\"ab\xC0\xAF\"}", "not valid JSON: invalid UTF-8 in a string at byte 16"},  // overlong
      {"{\"event_id\":\"\xED\xA0\x80\"}", "not valid JSON: invalid UTF-8 in a string at byte 15"},  // surrogate
      {"{\"e\xE9\":1}", "not valid JSON: invalid UTF-8 in a string at byte 5"},  // in a key, Latin-1
      {"{\"event_id\":\"a\tb\"}", "not valid JSON: unescaped control character in a string at byte 15"},
      {"[1,2]", "not a JSON object"},
  };
  for (const auto& [value, reason] : cases) {
    CAPTURE(value);
    CHECK(Reason(value) == reason);
  }
}

TEST_CASE("a lead.created with 100,000 fields is refused in linear time") {
  // About 10 bytes a field: 100,000 fields fit in kMaxEventBytes, so the
  // field count is what refuses it. Decoding used to take seconds (and applying
  // it minutes); now it is one parse.
  const std::string value = LeadWithFields(100000);
  REQUIRE(value.size() < kMaxEventBytes);
  const auto start = std::chrono::steady_clock::now();
  const std::string reason = Reason(value);
  const double seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
  MESSAGE("decoding 100,000 fields (" << value.size() << " bytes) took " << seconds << " s");
  CHECK(reason == "fields has 100000 keys; at most 1000 are allowed");
  CHECK(seconds < 1.0);
}

TEST_CASE("an event decoded into a reused Event equals one decoded into a fresh Event") {
  // DecodeEvent writes in place (the pipeline reuses a block's slots): each
  // of these, decoded over whatever the slot held before (every other type,
  // with every optional member set, and failed decodes that leave the slot
  // half written), must come out as it does in a fresh Event.
  const std::vector<std::string> events = {
      Ev("status.upserted", {{"status_id", "s1"}, {"label", "Qualified lead, long label"}, {"position", 3}}),
      Ev("lead.created", {{"lead_id", "lead-with-a-long-id-0001"}, {"status_id", "s1"}, {"owner_id", "owner-1"},
                          {"fields", {{"score", 7}, {"email", "a@b.c"}}}}),
      Ev("activity.logged", {{"lead_id", "l1"}, {"activity_id", "activity-with-a-long-id"}, {"activity_event", 21},
                             {"activity_name", "Call"}, {"user_id", "u1"}}),
      Ev("lead.status_changed",
         {{"lead_id", "l1"}, {"status_id", "s2"}, {"previous_status_id", "s1"}, {"user_id", "user-with-a-long-id"}}),
      Ev("user.upserted", {{"user_id", "u1"}, {"fields", {{"name", "Ann"}}}}),
      Ev("lead.updated", {{"lead_id", "l1"}, {"fields", {{"score", 8}}}, {"owner_id", "owner-2"}}),
      Ev("status.deleted", {{"status_id", "s1"}}),
      Ev("lead.deleted", {{"lead_id", "l1"}}),
      Ev("status.upserted", {{"status_id", "s3"}, {"label", "No position"}}),
      Ev("lead.created", {{"lead_id", "l2"}, {"status_id", "s3"}}),
      Ev("lead.updated", {{"lead_id", "l2"}, {"fields", json::object()}}),
      Ev("activity.logged", {{"lead_id", "l2"}, {"activity_id", "a2"}, {"activity_event", 1}}),
      Ev("lead.status_changed", {{"lead_id", "l2"}, {"status_id", "s1"}}),
  };
  const std::vector<std::string> failing = {
      Ev("lead.created", {{"lead_id", "l9"}, {"status_id", 5}}),
      Ev("activity.logged", {{"lead_id", "l9"}, {"activity_id", "a"}, {"activity_event", -1}}),
      "{\"event_id\":\"half\"",
  };
  views::Event reused;
  for (int round = 0; round < 3; ++round) {
    for (size_t i = 0; i < events.size(); ++i) {
      for (size_t j = 0; j < events.size(); ++j) {
        CAPTURE(i);
        CAPTURE(j);
        // Slot holds event i (or a failed decode's remains), then takes j.
        REQUIRE_OK(DecodeEvent(events[i], std::nullopt, &reused));
        if (round > 0) CHECK_FALSE(DecodeEvent(failing[(i + j + round) % failing.size()], std::nullopt, &reused).ok());
        REQUIRE_OK(DecodeEvent(events[j], std::nullopt, &reused));
        views::Event fresh;
        REQUIRE_OK(DecodeEvent(events[j], std::nullopt, &fresh));
        CheckSameEvent(reused, fresh);
      }
    }
  }
}

}  // namespace leadflow::ingest
