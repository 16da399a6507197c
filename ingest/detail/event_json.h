// ReadEventJson: the JSON layer of DecodeEvent (ingest/decode.h). Parses one
// message value with simdjson On Demand and validates all of it as decode.h
// promises, in one linear pass: its size is checked by the caller first;
// nesting past kMaxJsonDepth, a duplicate key in any object, invalid UTF-8,
// an unescaped control character, a malformed escape, literal or number, a
// number past a double's range and anything after the root are refused,
// unknown keys included. It keeps only what the contract reads: the root
// object's named members and the members of its `fields` object.
//
// simdjson itself neither finds duplicate keys nor looks at what it is not
// asked for, so every value is visited, by an explicit stack of the open
// objects and arrays (no recursion on the input's shape); duplicates are
// found with one lookup per key (detail/key_set.h). simdjson needs
// SIMDJSON_PADDING readable bytes after the text, so the text is copied into
// a padded buffer first: one memcpy, far cheaper than the parse.
//
// Thread safety: pure function. Each thread keeps its own parser and
// buffers (thread_local), grown to the largest message it has decoded, at
// most a few times kMaxEventBytes.
#ifndef LEADFLOW_INGEST_DETAIL_EVENT_JSON_H_
#define LEADFLOW_INGEST_DETAIL_EVENT_JSON_H_

#include <array>
#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>

#include <nlohmann/json.hpp>

namespace leadflow::ingest::detail {

// The members of an event that the contract names; every other key is
// validated and ignored.
enum class Member {
  kEventId,
  kType,
  kOrgId,
  kOccurredAt,
  kStatusId,
  kLabel,
  kPosition,
  kUserId,
  kLeadId,
  kOwnerId,
  kPreviousStatusId,
  kFields,
  kActivityId,
  kActivityEvent,
  kActivityName,
};
inline constexpr size_t kMembers = 15;

// The key of m in the message ("event_id").
const char* MemberName(Member m);

// A value as read: scalars whole, objects and arrays by type only (their
// contents are validated, not kept; `fields` is kept apart).
struct Value {
  // kInteger and kUnsigned split integers as nlohmann::json did: a minus
  // sign makes an int64, none a uint64; integers past both are kFloat.
  enum class Type { kNull, kBoolean, kString, kInteger, kUnsigned, kFloat, kObject, kArray };
  Type type = Type::kNull;
  std::string_view string;  // kString, unescaped: valid until the thread's next ReadEventJson
  bool boolean = false;
  int64_t integer = 0;
  uint64_t unsigned_integer = 0;
  double number = 0;
};

// The root object's named members (kNull when absent or null, which the
// contract reads alike) and, when `fields` is an object, its members as
// nlohmann::json (the rest of leadflow reads them so), objects and arrays
// among them left empty (they only make the event invalid).
struct EventMembers {
  std::array<Value, kMembers> values;
  nlohmann::json fields;

  const Value& operator[](Member m) const { return values[static_cast<size_t>(m)]; }
};

// Parses and validates value (REQUIRES: at most kMaxEventBytes), filling
// *members. "" on success; else the reason, one of decode.h's: "not valid
// JSON at byte N", "not valid JSON: ...", "number out of range: ...",
// "duplicate key ...", "JSON nesting deeper than 32 levels", or "not a JSON
// object" for valid JSON whose root is no object.
std::string ReadEventJson(std::string_view value, EventMembers* members);

}  // namespace leadflow::ingest::detail

#endif  // LEADFLOW_INGEST_DETAIL_EVENT_JSON_H_
