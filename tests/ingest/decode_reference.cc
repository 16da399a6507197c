#include "tests/ingest/decode_reference.h"

#include <cmath>
#include <string>
#include <utility>
#include <vector>

#include <nlohmann/json.hpp>

#include "ingest/decode.h"
#include "views/time.h"

namespace leadflow::ingest::testing_ref {
namespace {

// An integer literal past 64 bits (nlohmann reads it as a float), or a
// whole-number float as large: out of range, not "not an integer".
bool BeyondInt64(const nlohmann::json& v) {
  if (!v.is_number_float()) return false;
  const double d = v.get<double>();
  return std::isfinite(d) && d == std::floor(d) && std::fabs(d) >= 9223372036854775808.0;
}

using nlohmann::json;
using views::EventType;

size_t CodePoints(std::string_view s) {
  size_t n = 0;
  for (unsigned char c : s) n += (c & 0xC0) != 0x80;
  return n;
}

// text cut to at most max bytes, "..." marking a cut.
std::string Cut(std::string_view text, size_t max) {
  if (text.size() <= max) return std::string(text);
  return std::string(text.substr(0, max)) + "...";
}

// key quoted as a JSON string (cut to 64 bytes first; a character split by
// the cut becomes U+FFFD), for reasons.
std::string QuotedKey(std::string_view key) {
  return json(Cut(key, 64)).dump(-1, ' ', false, json::error_handler_t::replace);
}

// A SAX handler that builds the document like json::parse, but refuses a
// duplicate key in any object (one ordered lookup per key) and nesting past
// kMaxJsonDepth, and turns parse errors into reasons. It never recurses, so
// the parse is one linear pass whatever the input's shape.
class DocumentBuilder {
 public:
  // size: the bytes of the text parsed, to tell its end from an error inside.
  explicit DocumentBuilder(size_t size) : size_(size) {}

  // The document; valid after sax_parse returned true.
  json& root() { return root_; }
  // Why sax_parse returned false.
  const std::string& error() const { return error_; }

  bool null() { return Value(nullptr) != nullptr; }
  bool boolean(bool v) { return Value(v) != nullptr; }
  bool number_integer(json::number_integer_t v) { return Value(v) != nullptr; }
  bool number_unsigned(json::number_unsigned_t v) { return Value(v) != nullptr; }
  bool number_float(json::number_float_t v, const std::string& /*text*/) { return Value(v) != nullptr; }
  bool string(std::string& v) { return Value(std::move(v)) != nullptr; }
  bool binary(json::binary_t& /*v*/) { return Fail("binary values are not JSON"); }  // never from JSON text

  bool start_object(size_t /*elements*/) { return Open(json::value_t::object); }
  bool end_object() { return Close(); }
  bool start_array(size_t /*elements*/) { return Open(json::value_t::array); }
  bool end_array() { return Close(); }

  bool key(std::string& k) {
    auto* object = open_.back()->get_ptr<json::object_t*>();
    auto [it, inserted] = object->try_emplace(std::move(k));  // k is left intact when present
    if (!inserted) return Fail("duplicate key " + QuotedKey(k));
    member_ = &it->second;
    return true;
  }

  bool parse_error(size_t position, const std::string& token, const json::exception& ex) {
    if (ex.id == 406) return Fail("number out of range: " + Cut(token, 40));  // overflows a double
    if (position > size_) return Fail("not valid JSON: unexpected end of input");
    const std::string_view what = ex.what();
    // position is the last byte read. When the lexer refused a byte, that is
    // the byte. When the parser refused a whole string, number or literal,
    // point at its first byte: token is then its text (it holds no raw
    // control character). A refused structural character is one byte, and
    // token may hold earlier ones, so it is not used.
    if (what.find(" - unexpected ") != std::string_view::npos && !token.empty() && token.size() <= position &&
        std::string_view("[]{},:").find(token.back()) == std::string_view::npos) {
      position -= token.size() - 1;
    }
    const std::string at = " at byte " + std::to_string(position);
    if (what.find("ill-formed UTF-8") != std::string_view::npos) {
      return Fail("not valid JSON: invalid UTF-8 in a string" + at);
    }
    if (what.find("control character") != std::string_view::npos) {
      return Fail("not valid JSON: unescaped control character in a string" + at);
    }
    return Fail("not valid JSON" + at);
  }

 private:
  // Places v as the root, the next array element or the value of the last
  // key; returns where it is stored.
  template <typename T>
  json* Value(T&& v) {
    if (open_.empty()) {
      root_ = json(std::forward<T>(v));
      return &root_;
    }
    json* parent = open_.back();
    if (parent->is_array()) {
      parent->get_ptr<json::array_t*>()->emplace_back(std::forward<T>(v));
      return &parent->get_ptr<json::array_t*>()->back();
    }
    *member_ = json(std::forward<T>(v));
    return member_;
  }

  bool Open(json::value_t type) {
    if (open_.size() >= kMaxJsonDepth) {
      return Fail("JSON nesting deeper than " + std::to_string(kMaxJsonDepth) + " levels");
    }
    open_.push_back(Value(json(type)));
    return true;
  }

  bool Close() {
    open_.pop_back();
    return true;
  }

  bool Fail(std::string reason) {
    if (error_.empty()) error_ = std::move(reason);
    return false;
  }

  const size_t size_;
  json root_;
  std::vector<json*> open_;  // the open objects and arrays, outermost first
  json* member_ = nullptr;   // the value slot of the last key
  std::string error_;
};

// Parses value into *doc with the rules of DocumentBuilder; "" or the reason.
std::string Parse(std::string_view value, json* doc) {
  DocumentBuilder builder(value.size());
  if (!json::sax_parse(value.begin(), value.end(), &builder)) {
    return builder.error().empty() ? "not valid JSON" : builder.error();
  }
  *doc = std::move(builder.root());
  return "";
}

// Field readers: each returns an empty string on success, else the reason.
class Fields {
 public:
  explicit Fields(const json& obj) : obj_(obj) {}

  // A present, non-null value; nullptr when absent or null.
  const json* Find(const char* name) const {
    auto it = obj_.find(name);
    if (it == obj_.end() || it->is_null()) return nullptr;
    return &*it;
  }

  std::string Id(const char* name, bool required, std::string* out) const {
    const json* v = Find(name);
    if (!v) return required ? std::string("missing field ") + name : "";
    if (!v->is_string()) return std::string(name) + " must be a string";
    const auto& s = v->get_ref<const std::string&>();
    size_t n = CodePoints(s);
    if (n < 1 || n > 128) return std::string(name) + " must be 1-128 characters";
    *out = s;
    return "";
  }

  std::string OptId(const char* name, std::optional<std::string>* out) const {
    std::string s;
    std::string err = Id(name, false, &s);
    if (err.empty() && Find(name)) *out = std::move(s);
    return err;
  }

  std::string FieldsObject(const char* name, bool required, json* out) const {
    const json* v = Find(name);
    if (!v) {
      if (required) return std::string("missing field ") + name;
      *out = json::object();
      return "";
    }
    if (!v->is_object()) return std::string(name) + " must be an object";
    if (v->size() > kMaxFields) {
      return std::string(name) + " has " + std::to_string(v->size()) + " keys; at most " +
             std::to_string(kMaxFields) + " are allowed";
    }
    for (auto it = v->begin(); it != v->end(); ++it) {
      const std::string& k = it.key();
      if (k.empty()) return std::string(name) + " has an empty key";
      if (k.size() > kMaxFieldNameBytes) {
        return std::string(name) + " has a key of " + std::to_string(k.size()) + " bytes; at most " +
               std::to_string(kMaxFieldNameBytes) + " are allowed";
      }
      if (it->is_object() || it->is_array()) {
        return std::string(name) + "." + k + " must be a string, number, boolean or null";
      }
      if (it->is_string() && it->get_ref<const std::string&>().size() > kMaxFieldValueBytes) {
        return std::string(name) + "." + k + " is " + std::to_string(it->get_ref<const std::string&>().size()) +
               " bytes; at most " + std::to_string(kMaxFieldValueBytes) + " are allowed";
      }
    }
    *out = *v;
    return "";
  }

 private:
  const json& obj_;
};

}  // namespace

Status DecodeEventReference(std::string_view value, std::optional<std::string_view> key, views::Event* out) {
  if (value.size() > kMaxEventBytes) {
    return Status::InvalidArgument("event is " + std::to_string(value.size()) + " bytes; at most " +
                                   std::to_string(kMaxEventBytes) + " are allowed");
  }
  json doc;
  if (std::string err = Parse(value, &doc); !err.empty()) return Status::InvalidArgument(err);
  if (!doc.is_object()) return Status::InvalidArgument("not a JSON object");
  Fields f(doc);
  views::Event e;
  std::string err;
  auto fail = [](const std::string& reason) { return Status::InvalidArgument(reason); };

  if (!(err = f.Id("event_id", true, &e.event_id)).empty()) return fail(err);
  const json* type = f.Find("type");
  if (!type) return fail("missing field type");
  if (!type->is_string()) return fail("type must be a string");
  auto parsed_type = views::EventTypeFromName(type->get_ref<const std::string&>());
  if (!parsed_type) return fail("unknown type " + type->get<std::string>());
  e.type = *parsed_type;

  const json* org = f.Find("org_id");
  if (!org) return fail("missing field org_id");
  if (!org->is_string()) return fail("org_id must be a string");
  e.org_id = org->get<std::string>();
  if (e.org_id.empty() || e.org_id.size() > 64) return fail("org_id must be 1-64 characters");
  for (char c : e.org_id) {
    if (!((c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '_' || c == '-')) {
      return fail("org_id may contain only A-Z, a-z, 0-9, _ and -");
    }
  }
  if (key && *key != e.org_id) return fail("message key does not match org_id");

  const json* occurred = f.Find("occurred_at");
  if (!occurred) return fail("missing field occurred_at");
  if (!occurred->is_string()) return fail("occurred_at must be a string");
  auto at = views::ParseRfc3339Ms(occurred->get_ref<const std::string&>());
  if (!at) return fail("occurred_at is not an RFC 3339 timestamp");
  // An offset can move a valid local time out of the years every other part
  // of leadflow reads and writes (0001-9999), where formatting it would give
  // a time that no longer parses.
  static const int64_t kFirstMs = *views::ParseRfc3339Ms("0001-01-01T00:00:00Z");
  static const int64_t kLastMs = *views::ParseRfc3339Ms("9999-12-31T23:59:59.999Z");
  if (*at < kFirstMs || *at > kLastMs) return fail("occurred_at is outside the years 0001-9999 in UTC");
  e.occurred_at_ms = *at;

  switch (e.type) {
    case EventType::kStatusUpserted: {
      if (!(err = f.Id("status_id", true, &e.status_id)).empty()) return fail(err);
      const json* label = f.Find("label");
      if (!label) return fail("missing field label");
      if (!label->is_string()) return fail("label must be a string");
      e.label = label->get<std::string>();
      if (const json* pos = f.Find("position")) {
        if (BeyondInt64(*pos)) return fail("position is out of range");
        if (!pos->is_number_integer()) return fail("position must be an integer");
        if (pos->is_number_unsigned() && pos->get<uint64_t>() > static_cast<uint64_t>(INT64_MAX)) {
          return fail("position is out of range");
        }
        e.position = pos->get<int64_t>();
      }
      break;
    }
    case EventType::kStatusDeleted:
      if (!(err = f.Id("status_id", true, &e.status_id)).empty()) return fail(err);
      break;
    case EventType::kUserUpserted:
      if (!(err = f.Id("user_id", true, &e.user_id)).empty()) return fail(err);
      if (!(err = f.FieldsObject("fields", true, &e.fields)).empty()) return fail(err);
      break;
    case EventType::kLeadCreated:
      if (!(err = f.Id("lead_id", true, &e.lead_id)).empty()) return fail(err);
      if (!(err = f.Id("status_id", true, &e.status_id)).empty()) return fail(err);
      if (!(err = f.OptId("owner_id", &e.owner_id)).empty()) return fail(err);
      if (!(err = f.FieldsObject("fields", false, &e.fields)).empty()) return fail(err);
      break;
    case EventType::kLeadUpdated:
      if (!(err = f.Id("lead_id", true, &e.lead_id)).empty()) return fail(err);
      if (!(err = f.FieldsObject("fields", true, &e.fields)).empty()) return fail(err);
      if (!(err = f.OptId("owner_id", &e.owner_id)).empty()) return fail(err);
      break;
    case EventType::kLeadStatusChanged: {
      if (!(err = f.Id("lead_id", true, &e.lead_id)).empty()) return fail(err);
      if (!(err = f.Id("status_id", true, &e.status_id)).empty()) return fail(err);
      std::optional<std::string> prev, user;
      if (!(err = f.OptId("previous_status_id", &prev)).empty()) return fail(err);
      if (!(err = f.OptId("user_id", &user)).empty()) return fail(err);
      e.previous_status_id = prev.value_or("");
      e.user_id = user.value_or("");
      break;
    }
    case EventType::kLeadDeleted:
      if (!(err = f.Id("lead_id", true, &e.lead_id)).empty()) return fail(err);
      break;
    case EventType::kActivityLogged: {
      if (!(err = f.Id("lead_id", true, &e.lead_id)).empty()) return fail(err);
      if (!(err = f.Id("activity_id", true, &e.activity_id)).empty()) return fail(err);
      const json* code = f.Find("activity_event");
      if (!code) return fail("missing field activity_event");
      if (BeyondInt64(*code) && code->get<double>() > 0) return fail("activity_event is out of range");
      if (!code->is_number_integer() || (code->is_number_integer() && !code->is_number_unsigned() &&
                                         code->get<int64_t>() < 0)) {
        return fail("activity_event must be an integer >= 0");
      }
      if (code->get<uint64_t>() > static_cast<uint64_t>(INT64_MAX)) return fail("activity_event is out of range");
      e.activity_event = code->get<int64_t>();
      if (const json* name = f.Find("activity_name")) {
        if (!name->is_string()) return fail("activity_name must be a string");
        e.activity_name = name->get<std::string>();
      }
      std::optional<std::string> user;
      if (!(err = f.OptId("user_id", &user)).empty()) return fail(err);
      e.user_id = user.value_or("");
      break;
    }
  }
  *out = std::move(e);
  return Status::Ok();
}

}  // namespace leadflow::ingest::testing_ref
