// libFuzzer target for ingest/decode.h: any message value, with and without a
// Kafka key, is either decoded into an event that keeps the contract's
// invariants (contract section 1 and the limits of decode.h), or refused with
// InvalidArgument and a non-empty reason. A decoded event, written out again
// as JSON, decodes to the same event; a key can only refuse, never rescue.
// Any violation aborts.
//
// Built as a fuzzer with -DLEADFLOW_FUZZ=ON (clang), and into the corpus
// replay test of the default build (replay_main.cc); see README.md.
#include <algorithm>
#include <cstddef>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <optional>
#include <string>
#include <string_view>

#include <nlohmann/json.hpp>

#include "ingest/decode.h"
#include "views/event.h"
#include "views/time.h"

namespace {

using leadflow::Status;
using leadflow::ingest::DecodeEvent;
using leadflow::views::Event;
using leadflow::views::EventType;
using nlohmann::json;

[[noreturn]] void Fail(const char* what, std::string_view input, const std::string& detail) {
  std::fprintf(stderr, "event_decoder_fuzz: %s\n  input (%zu bytes): [%.*s]\n  %s\n", what, input.size(),
               static_cast<int>(std::min<size_t>(input.size(), 2000)), input.data(), detail.c_str());
  std::abort();
}

size_t CodePoints(std::string_view s) {
  size_t n = 0;
  for (unsigned char c : s) n += (c & 0xC0) != 0x80;
  return n;
}

bool ValidId(const std::string& id) { return CodePoints(id) >= 1 && CodePoints(id) <= 128; }

bool ValidOrg(const std::string& org) {
  if (org.empty() || org.size() > 64) return false;
  for (char c : org) {
    if (!((c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '_' || c == '-')) {
      return false;
    }
  }
  return true;
}

bool HasFields(EventType t) {
  return t == EventType::kUserUpserted || t == EventType::kLeadCreated || t == EventType::kLeadUpdated;
}

// The contract's invariants of a decoded event; "" or the one broken.
std::string Broken(const Event& e) {
  using leadflow::ingest::kMaxFieldNameBytes;
  using leadflow::ingest::kMaxFields;
  using leadflow::ingest::kMaxFieldValueBytes;
  const EventType t = e.type;
  if (leadflow::views::EventTypeFromName(leadflow::views::EventTypeName(t)) != t) return "type";
  if (!ValidId(e.event_id)) return "event_id";
  if (!ValidOrg(e.org_id)) return "org_id";
  if (leadflow::views::ParseRfc3339Ms(leadflow::views::FormatRfc3339Ms(e.occurred_at_ms)) != e.occurred_at_ms) {
    return "occurred_at does not survive formatting";
  }
  const bool status = t == EventType::kStatusUpserted || t == EventType::kStatusDeleted ||
                      t == EventType::kLeadCreated || t == EventType::kLeadStatusChanged;
  if (status != !e.status_id.empty() || (status && !ValidId(e.status_id))) return "status_id";
  const bool lead = t != EventType::kStatusUpserted && t != EventType::kStatusDeleted && t != EventType::kUserUpserted;
  if (lead != !e.lead_id.empty() || (lead && !ValidId(e.lead_id))) return "lead_id";
  if (t == EventType::kUserUpserted && !ValidId(e.user_id)) return "user_id";
  if (!e.user_id.empty() && !ValidId(e.user_id)) return "user_id";
  if (!e.previous_status_id.empty() && !ValidId(e.previous_status_id)) return "previous_status_id";
  if (e.owner_id && !ValidId(*e.owner_id)) return "owner_id";
  if ((t == EventType::kActivityLogged) != !e.activity_id.empty()) return "activity_id";
  if (!e.activity_id.empty() && !ValidId(e.activity_id)) return "activity_id";
  if (e.activity_event < 0) return "activity_event";
  if (HasFields(t) != e.fields.is_object()) return "fields is not an object";
  if (e.fields.is_object()) {
    if (e.fields.size() > kMaxFields) return "too many fields";
    for (auto it = e.fields.begin(); it != e.fields.end(); ++it) {
      if (it.key().empty() || it.key().size() > kMaxFieldNameBytes) return "field name length";
      if (it->is_structured()) return "a field is not a scalar";
      if (it->is_string() && it->get_ref<const std::string&>().size() > kMaxFieldValueBytes) return "field value";
    }
  }
  return "";
}

// e as a message value, by the contract's field names.
std::string Encode(const Event& e) {
  json j = {{"event_id", e.event_id},
            {"type", leadflow::views::EventTypeName(e.type)},
            {"org_id", e.org_id},
            {"occurred_at", leadflow::views::FormatRfc3339Ms(e.occurred_at_ms)}};
  if (!e.status_id.empty()) j["status_id"] = e.status_id;
  if (e.type == EventType::kStatusUpserted) j["label"] = e.label;
  if (e.position) j["position"] = *e.position;
  if (!e.user_id.empty()) j["user_id"] = e.user_id;
  if (!e.lead_id.empty()) j["lead_id"] = e.lead_id;
  if (e.owner_id) j["owner_id"] = *e.owner_id;
  if (!e.previous_status_id.empty()) j["previous_status_id"] = e.previous_status_id;
  if (HasFields(e.type)) j["fields"] = e.fields;
  if (!e.activity_id.empty()) {
    j["activity_id"] = e.activity_id;
    j["activity_event"] = e.activity_event;
  }
  if (e.activity_name) j["activity_name"] = *e.activity_name;
  return j.dump();
}

bool Same(const Event& a, const Event& b) {
  return a.event_id == b.event_id && a.type == b.type && a.org_id == b.org_id &&
         a.occurred_at_ms == b.occurred_at_ms && a.status_id == b.status_id && a.label == b.label &&
         a.position == b.position && a.user_id == b.user_id && a.lead_id == b.lead_id && a.owner_id == b.owner_id &&
         a.previous_status_id == b.previous_status_id && a.fields == b.fields && a.activity_id == b.activity_id &&
         a.activity_event == b.activity_event && a.activity_name == b.activity_name;
}

void CheckRefusal(const Status& s, std::string_view input, const char* when) {
  if (!s.IsInvalidArgument()) Fail("error is not InvalidArgument", input, std::string(when) + ": " + s.ToString());
  if (s.message().empty()) Fail("empty reason", input, when);
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  const std::string_view value(reinterpret_cast<const char*>(data), size);
  Event e;
  const Status s = DecodeEvent(value, std::nullopt, &e);
  // The pipeline decodes into reused slots (DecodeEvent writes in place; a
  // refusal leaves the slot unspecified): into whatever the last inputs left
  // in this one, the answer is the same as into a fresh event.
  static Event reused;
  const Status into_reused = DecodeEvent(value, std::nullopt, &reused);
  if (into_reused.ok() != s.ok() || into_reused.message() != s.message()) {
    Fail("decoding into a reused event answers differently", value, into_reused.ToString());
  }
  if (s.ok() && !Same(e, reused)) Fail("decoding into a reused event gives another event", value, Encode(reused));
  if (!s.ok()) {
    CheckRefusal(s, value, "without a key");
    Event keyed;
    const Status with_key = DecodeEvent(value, std::string_view("org1"), &keyed);
    if (with_key.ok()) Fail("a key made a refused event valid", value, s.ToString());
    CheckRefusal(with_key, value, "with a key");
    return 0;
  }
  if (size > leadflow::ingest::kMaxEventBytes) Fail("an event over kMaxEventBytes decoded", value, "");
  if (std::string broken = Broken(e); !broken.empty()) Fail("decoded event breaks an invariant", value, broken);

  Event keyed;
  const Status right_key = DecodeEvent(value, std::string_view(e.org_id), &keyed);
  if (!right_key.ok()) Fail("the org_id as key refused the event", value, right_key.ToString());
  if (!Same(e, keyed)) Fail("the key changed the event", value, Encode(keyed));
  const Status wrong_key = DecodeEvent(value, std::string_view(e.org_id + "x"), &keyed);
  if (wrong_key.ok() || wrong_key.message() != "message key does not match org_id") {
    Fail("a wrong key was not refused", value, wrong_key.ToString());
  }

  const std::string again = Encode(e);
  if (again.size() > leadflow::ingest::kMaxEventBytes) return 0;  // escaping may grow it past the limit
  Event decoded;
  const Status s2 = DecodeEvent(again, std::nullopt, &decoded);
  if (!s2.ok()) Fail("the re-encoded event is refused", value, again + "\n  " + s2.ToString());
  if (!Same(e, decoded)) Fail("the re-encoded event decodes differently", value, again + "\n  -> " + Encode(decoded));
  return 0;
}
