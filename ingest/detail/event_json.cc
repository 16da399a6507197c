#include "ingest/detail/event_json.h"

#include <simdjson.h>

#include <cstring>
#include <utility>
#include <vector>

#include "ingest/decode.h"
#include "ingest/detail/json_text.h"
#include "ingest/detail/key_set.h"

namespace leadflow::ingest::detail {
namespace {

namespace ondemand = simdjson::ondemand;
using nlohmann::json;
using ondemand::json_type;

// In the order of Member.
constexpr std::array<std::string_view, kMembers> kMemberNames = {
    "event_id", "type",     "org_id",   "occurred_at",        "status_id",   "label",          "position",
    "user_id",  "lead_id",  "owner_id", "previous_status_id", "fields",      "activity_id",    "activity_event",
    "activity_name",
};

// The index of the member named key, or kMembers.
size_t MemberIndex(std::string_view key) {
  size_t i = 0;
  while (i < kMembers && kMemberNames[i] != key) ++i;
  return i;
}

// key quoted as a JSON string (cut to 64 bytes first; a character split by
// the cut becomes U+FFFD), for reasons.
std::string QuotedKey(std::string_view key) {
  std::string cut(key.substr(0, 64));
  if (key.size() > 64) cut += "...";
  return json(cut).dump(-1, ' ', false, json::error_handler_t::replace);
}

json ToJson(const Value& v) {
  switch (v.type) {
    case Value::Type::kNull: return nullptr;
    case Value::Type::kBoolean: return v.boolean;
    case Value::Type::kString: return std::string(v.string);
    case Value::Type::kInteger: return v.integer;
    case Value::Type::kUnsigned: return v.unsigned_integer;
    case Value::Type::kFloat: return v.number;
    case Value::Type::kObject: return json::object();
    case Value::Type::kArray: return json::array();
  }
  return nullptr;
}

// An open object or array while a document is read. Its iterator is
// advanced past an element only once the element was read whole.
struct Frame {
  bool is_object = false;
  bool started = false;    // an element was taken: advance before the next
  uint32_t id = 0;         // the object's number in the KeySet
  json* fields = nullptr;  // the `fields` object being filled, if this is it
  json* member = nullptr;  // in `fields`: the value of the last key
  ondemand::object_iterator object_at, object_end;
  ondemand::array_iterator array_at, array_end;
};

// Per-thread scratch reused across messages, so that decoding a message
// allocates nothing for parsing once the thread has seen one as large.
struct Scratch {
  ondemand::parser parser;
  std::vector<char> padded;  // the message, then SIMDJSON_PADDING zero bytes
  KeySet keys;
  std::array<Frame, kMaxJsonDepth> open;  // the open objects and arrays, outermost first
};

// Reads a whole document in one pass over simdjson's tokens and validates
// all of it as decode.h promises: nesting by an explicit stack of open
// objects and arrays (no recursion), duplicate keys by one lookup per key,
// every scalar read (escapes, numbers, literals), nothing after the root.
// simdjson's first pass has already checked UTF-8 and control characters.
class Reader {
 public:
  // text: the message; its bytes from start on (past a byte order mark) are
  // in scratch->padded, where doc was parsed.
  Reader(std::string_view text, size_t start, Scratch* scratch, ondemand::document* doc)
      : text_(text), start_(start), padded_(scratch->padded.data()), doc_(doc), keys_(&scratch->keys),
        open_(scratch->open) {}

  // "" when the document is valid JSON within the limits; then *is_object
  // tells whether the root is an object, whose members are in *members.
  std::string Read(EventMembers* members, bool* is_object);

 private:
  size_t OffsetOf(const char* p) const { return start_ + static_cast<size_t>(p - padded_); }
  // The reason for a structural error where simdjson's iterator stopped.
  std::string ErrorHere() const;
  std::string ReadRootScalar(json_type type);
  std::string Open(ondemand::value& value, json_type type, json* fields);
  // Reads the next element of the innermost open object or array, or closes
  // it when it has none left.
  std::string Step();
  bool AddKey(Frame& frame, std::string_view key, size_t member);
  // member: which named member of the root object the element is, or
  // kMembers.
  std::string ReadElement(size_t member, ondemand::value& value);
  std::string ReadScalar(ondemand::value& v, json_type type, Value* out);

  const std::string_view text_;
  const size_t start_;
  const char* const padded_;
  ondemand::document* const doc_;
  KeySet* const keys_;
  EventMembers* members_ = nullptr;  // the root's, while the root is an object
  uint32_t seen_members_ = 0;        // bit i: member i met in the root object
  uint32_t objects_ = 0;             // objects opened so far, for their numbers
  std::array<Frame, kMaxJsonDepth>& open_;
  size_t depth_ = 0;
};

std::string Reader::ErrorHere() const {
  const char* p = nullptr;
  if (doc_->current_location().get(p) != simdjson::SUCCESS) return SyntaxErrorAt(text_, text_.size());
  return UnexpectedTokenReason(text_, OffsetOf(p));
}

std::string Reader::Read(EventMembers* members, bool* is_object) {
  json_type type;
  if (doc_->type().get(type) != simdjson::SUCCESS) return ErrorHere();
  *is_object = type == json_type::object;
  if (type != json_type::object && type != json_type::array) return ReadRootScalar(type);
  ondemand::value root;
  if (doc_->get_value().get(root) != simdjson::SUCCESS) return ErrorHere();
  if (*is_object) members_ = members;
  if (std::string err = Open(root, type, nullptr); !err.empty()) return err;
  while (depth_ > 0) {
    if (std::string err = Step(); !err.empty()) return err;
  }
  const char* after = nullptr;
  if (doc_->current_location().get(after) == simdjson::SUCCESS) return UnexpectedTokenReason(text_, OffsetOf(after));
  return "";
}

// A scalar root is no event, but decode.h still names what is wrong with it
// first; simdjson's root scalar readers stop short of that (trailing content,
// long numbers), so the token is read here.
std::string Reader::ReadRootScalar(json_type type) {
  std::string_view token;
  if (doc_->raw_json_token().get(token) != simdjson::SUCCESS) return ErrorHere();
  const size_t at = OffsetOf(token.data());
  std::string err;
  double number = 0;
  std::string_view string;
  if (type == json_type::string) {
    if (doc_->get_string().get(string) != simdjson::SUCCESS) err = InvalidEscapeReason(text_, at);
  } else if (type == json_type::number) {
    err = ReadNumberSlowly(text_, at, &number);
  } else {
    err = CheckLiteral(text_, at);
  }
  if (!err.empty()) return err;
  // The token reaches to the next one, if any.
  if (at + token.size() < text_.size()) return UnexpectedTokenReason(text_, at + token.size());
  return "";
}

std::string Reader::Open(ondemand::value& value, json_type type, json* fields) {
  if (depth_ == kMaxJsonDepth) return "JSON nesting deeper than " + std::to_string(kMaxJsonDepth) + " levels";
  Frame& frame = open_[depth_];
  frame = Frame{};
  frame.is_object = type == json_type::object;
  frame.fields = fields;
  if (frame.is_object) {
    ondemand::object object;
    if (value.get_object().get(object) != simdjson::SUCCESS) return ErrorHere();
    frame.id = objects_++;
    frame.object_at = object.begin().value_unsafe();
    frame.object_end = object.end().value_unsafe();
  } else {
    ondemand::array array;
    if (value.get_array().get(array) != simdjson::SUCCESS) return ErrorHere();
    frame.array_at = array.begin().value_unsafe();
    frame.array_end = array.end().value_unsafe();
  }
  ++depth_;
  return "";
}

std::string Reader::Step() {
  Frame& frame = open_[depth_ - 1];
  // Elements are used in place, not copied out of their simdjson_result (see
  // ReadElement).
  if (frame.is_object) {
    if (frame.started) ++frame.object_at;
    frame.started = true;
    if (!(frame.object_at != frame.object_end)) {
      --depth_;
      return "";
    }
    auto field = *frame.object_at;
    if (field.error() != simdjson::SUCCESS) return ErrorHere();
    const char* quote = field.value_unsafe().key().raw() - 1;
    std::string_view key;
    if (field.value_unsafe().unescaped_key().get(key) != simdjson::SUCCESS) {
      return InvalidEscapeReason(text_, OffsetOf(quote));
    }
    const size_t member = depth_ == 1 && members_ ? MemberIndex(key) : kMembers;
    if (!AddKey(frame, key, member)) return "duplicate key " + QuotedKey(key);
    return ReadElement(member, field.value_unsafe().value());
  }
  if (frame.started) ++frame.array_at;
  frame.started = true;
  if (!(frame.array_at != frame.array_end)) {
    --depth_;
    return "";
  }
  auto element = *frame.array_at;
  if (element.error() != simdjson::SUCCESS) return ErrorHere();
  return ReadElement(kMembers, element.value_unsafe());
}

bool Reader::AddKey(Frame& frame, std::string_view key, size_t member) {
  if (frame.fields) {
    auto [it, inserted] = frame.fields->get_ref<json::object_t&>().try_emplace(std::string(key));
    frame.member = &it->second;
    return inserted;
  }
  if (member < kMembers) {
    // The root's named members are told apart by a bit each.
    const uint32_t bit = uint32_t{1} << member;
    if (seen_members_ & bit) return false;
    seen_members_ |= bit;
    return true;
  }
  return keys_->Insert(frame.id, key);
}

// Reads the element just taken from the innermost open object or array,
// opening it when it is an object or array.
std::string Reader::ReadElement(size_t member, ondemand::value& value) {
  const Frame& frame = open_[depth_ - 1];
  json_type type;
  if (value.type().get(type) != simdjson::SUCCESS) return ErrorHere();
  // Read in place: a copy of a Value just written field by field would wait
  // on store forwarding, a measurable share of the whole decode.
  Value unnamed;
  Value* read = member < kMembers ? &members_->values[member] : &unnamed;
  if (type == json_type::object || type == json_type::array) {
    read->type = type == json_type::object ? Value::Type::kObject : Value::Type::kArray;
    json* fields = nullptr;
    if (member == static_cast<size_t>(Member::kFields) && type == json_type::object) {
      members_->fields = json::object();
      fields = &members_->fields;
    }
    if (frame.fields) *frame.member = ToJson(*read);
    return Open(value, type, fields);
  }
  if (std::string err = ReadScalar(value, type, read); !err.empty()) return err;
  if (frame.fields) *frame.member = ToJson(*read);
  return "";
}

std::string Reader::ReadScalar(ondemand::value& v, json_type type, Value* out) {
  const char* token = v.raw_json_token().data();
  const size_t at = OffsetOf(token);
  switch (type) {
    case json_type::string:
      out->type = Value::Type::kString;
      if (v.get_string().get(out->string) != simdjson::SUCCESS) return InvalidEscapeReason(text_, at);
      return "";
    case json_type::number: {
      ondemand::number n;
      if (v.get_number().get(n) != simdjson::SUCCESS) {
        out->type = Value::Type::kFloat;
        return ReadNumberSlowly(text_, at, &out->number);
      }
      if (n.is_double()) {
        // simdjson 3.0.1's get_number() loses the value of a float of more
        // than 19 digits (it comes out 0); get_double() reads it right.
        out->type = Value::Type::kFloat;
        if (v.get_double().get(out->number) != simdjson::SUCCESS) {
          return ReadNumberSlowly(text_, at, &out->number);
        }
      } else if (*token == '-') {
        out->type = Value::Type::kInteger;
        out->integer = n.get_int64();
      } else {
        out->type = Value::Type::kUnsigned;
        out->unsigned_integer = n.is_uint64() ? n.get_uint64() : static_cast<uint64_t>(n.get_int64());
      }
      return "";
    }
    default:
      // true, false and null are read here: simdjson's readers would only
      // say whether the token is one. An unread scalar is skipped by the
      // iterator of its object or array.
      out->type = *token == 'n' ? Value::Type::kNull : Value::Type::kBoolean;
      out->boolean = *token == 't';
      return CheckLiteral(text_, at);
  }
}

// Copies value past a byte order mark (which nlohmann::json skipped too) into
// the thread's padded buffer; returns the bytes skipped.
size_t Pad(std::string_view value, std::vector<char>* padded) {
  constexpr std::string_view kBom = "\xEF\xBB\xBF";
  const size_t start = value.starts_with(kBom) ? kBom.size() : 0;
  const size_t size = value.size() - start;
  // Zeros after the text: no token starts with one, so simdjson's iterator
  // stops at the first of them on a document that ends early.
  if (padded->size() < size + simdjson::SIMDJSON_PADDING) padded->resize(size + simdjson::SIMDJSON_PADDING);
  std::memcpy(padded->data(), value.data() + start, size);
  std::memset(padded->data() + size, 0, simdjson::SIMDJSON_PADDING);
  return start;
}

}  // namespace

const char* MemberName(Member m) { return kMemberNames[static_cast<size_t>(m)].data(); }

std::string ReadEventJson(std::string_view value, EventMembers* members) {
  thread_local Scratch scratch;
  const size_t start = Pad(value, &scratch.padded);
  scratch.keys.Clear();
  const size_t size = value.size() - start;
  ondemand::document doc;
  const auto padded = simdjson::padded_string_view(scratch.padded.data(), size, scratch.padded.size());
  if (scratch.parser.iterate(padded).get(doc) != simdjson::SUCCESS) return EncodingErrorReason(value, start);
  Reader reader(value, start, &scratch, &doc);
  bool is_object = false;
  if (std::string err = reader.Read(members, &is_object); !err.empty()) return err;
  return is_object ? "" : "not a JSON object";
}

}  // namespace leadflow::ingest::detail
