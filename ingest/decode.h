// Decode: one Kafka message value (a JSON object) into a validated Event, by
// the rules of contract section 1.
//
// Thread safety: pure function.
#ifndef LEADFLOW_INGEST_DECODE_H_
#define LEADFLOW_INGEST_DECODE_H_

#include <optional>
#include <string_view>

#include "state/status.h"
#include "views/event.h"

namespace leadflow::ingest {

// Decodes and validates value. When key is given (the Kafka message key), it
// must equal the event's org_id. OK and *out set on success; otherwise
// InvalidArgument whose message is the reason, fit for a dead-letter header
// ("missing field lead_id", "occurred_at is not an RFC 3339 timestamp", ...).
Status DecodeEvent(std::string_view value, std::optional<std::string_view> key, views::Event* out);

}  // namespace leadflow::ingest

#endif  // LEADFLOW_INGEST_DECODE_H_
