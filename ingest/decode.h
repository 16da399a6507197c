// Decode: one Kafka message value (a JSON object) into a validated Event, by
// the rules of contract section 1 and the limits below.
//
// Every message comes from outside and may be hostile, so decoding costs time
// linear in the message's size and bounded memory, whatever the bytes: the
// size is checked before parsing, the JSON is parsed in one pass (simdjson On
// Demand, detail/event_json.h) that refuses nesting past kMaxJsonDepth
// (nothing recurses on the input's shape) and finds duplicate keys with one
// lookup per key, and the limits on `fields` bound what one event may add to
// a lead (the views derive a lead's index keys in time linear in its fields).
// Unknown keys are ignored, but their values are validated like the rest.
//
// Thread safety: pure function (each thread parses with its own buffers).
#ifndef LEADFLOW_INGEST_DECODE_H_
#define LEADFLOW_INGEST_DECODE_H_

#include <cstddef>
#include <optional>
#include <string_view>

#include "state/status.h"
#include "views/event.h"

namespace leadflow::ingest {

// The size of a message value, checked before it is parsed.
// Default: 1 MiB, librdkafka's default fetch.message.max.bytes and the
// broker's default message.max.bytes, so a larger value could not normally
// arrive anyway; a realistic CRM event is under 10 KiB.
inline constexpr size_t kMaxEventBytes = size_t{1} << 20;

// Keys in one event's `fields` object (user.upserted, lead.created,
// lead.updated). Default: 1000, far above the custom fields of a real CRM
// account; every key becomes index keys of the lead, so this bounds the
// index writes of one event.
inline constexpr size_t kMaxFields = 1000;

// Bytes of one key of `fields`; a key is never empty. Default: 256, well
// above a CRM field's schema name; the name is part of every index key of
// the field.
inline constexpr size_t kMaxFieldNameBytes = 256;

// Bytes of one string value in `fields`. Default: 32 KiB, room for a long
// note; a value is copied into an index key (a RocksDB key), which should
// stay small.
inline constexpr size_t kMaxFieldValueBytes = 32768;

// Nesting of objects and arrays, the message's own object counting as 1.
// Default: 32. Events are flat (depth 2 with `fields`); unknown keys may
// nest, but no deeper than this, so that no later recursive walk of the
// document (copy, destruction, dump) can exhaust the stack.
inline constexpr size_t kMaxJsonDepth = 32;

// Decodes and validates value. When key is given (the Kafka message key), it
// must equal the event's org_id. OK and *out set on success; otherwise
// InvalidArgument whose message is the reason, fit for a dead-letter header,
// and *out unspecified (decoding writes into it in place). Reasons include:
//   "event is 1200000 bytes; at most 1048576 are allowed"
//   "not valid JSON at byte 17"
//   "not valid JSON: unexpected end of input"
//   "not valid JSON: invalid UTF-8 in a string at byte 17"
//   "number out of range: 1e400"
//   "duplicate key \"org_id\""        (in any object, `fields` included)
//   "JSON nesting deeper than 32 levels"
//   "not a JSON object"
//   "missing field lead_id", "occurred_at is not an RFC 3339 timestamp", ...
//   "occurred_at is outside the years 0001-9999 in UTC"   (after its offset)
//   "fields has 100000 keys; at most 1000 are allowed"
//   "fields has an empty key"
//   "fields has a key of 300 bytes; at most 256 are allowed"
//   "fields.note is 40000 bytes; at most 32768 are allowed"
// Long tokens and keys are cut in reasons (to 40 bytes and 64 bytes).
Status DecodeEvent(std::string_view value, std::optional<std::string_view> key, views::Event* out);

}  // namespace leadflow::ingest

#endif  // LEADFLOW_INGEST_DECODE_H_
