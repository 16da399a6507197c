// DecodeEventReference: the event decoder as it was before ingest/decode.cc
// moved to simdjson On Demand, kept unchanged (renamed) as the oracle of
// tests/ingest/decode_differential_test.cc. It parses with a nlohmann::json
// SAX handler that builds the whole document, then validates it; its
// contract is ingest/decode.h's, word for word.
//
// Test-only: compiled into leadflow_unit_tests alone.
//
// Thread safety: pure function.
#ifndef LEADFLOW_TESTS_INGEST_DECODE_REFERENCE_H_
#define LEADFLOW_TESTS_INGEST_DECODE_REFERENCE_H_

#include <optional>
#include <string_view>

#include "state/status.h"
#include "views/event.h"

namespace leadflow::ingest::testing_ref {

// Same contract as leadflow::ingest::DecodeEvent (ingest/decode.h).
Status DecodeEventReference(std::string_view value, std::optional<std::string_view> key, views::Event* out);

}  // namespace leadflow::ingest::testing_ref

#endif  // LEADFLOW_TESTS_INGEST_DECODE_REFERENCE_H_
