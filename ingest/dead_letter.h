// Dead-letter envelopes: what leadflow publishes to the dead-letter topic for
// a message it cannot apply (contract section 1), built so that it always
// fits the topic's message size limit.
//
// The envelope is a JSON object: reason, topic, partition, offset, key, and
// the original bytes once: as text in `original` when they are valid UTF-8,
// else as base64 in `original_base64` (`original` is then null). When the
// whole envelope would exceed max_bytes, the copy of the original is cut
// (at a UTF-8 boundary) and the envelope says so: `original_truncated: true`
// and `original_bytes` (the original's full size); the topic, partition and
// offset still locate the whole message in the source topic. The reason and
// the key are cut to kMaxReasonBytes and kMaxKeyBytes.
//
// Thread safety: pure functions.
#ifndef LEADFLOW_INGEST_DEAD_LETTER_H_
#define LEADFLOW_INGEST_DEAD_LETTER_H_

#include <cstddef>
#include <string>
#include <string_view>

#include "ingest/pipeline.h"

namespace leadflow::ingest {

// Longest reason and key copied into an envelope (and into the
// leadflow-reason header); longer ones are cut and end in "...".
inline constexpr size_t kMaxReasonBytes = 1024;
inline constexpr size_t kMaxKeyBytes = 1024;
// The smallest max_bytes DeadLetterEnvelope honours: room for every field
// but the original, at their caps.
inline constexpr size_t kMinEnvelopeBytes = 4096;

// The envelope of d, at most max(max_bytes, kMinEnvelopeBytes) bytes. With
// omit_original, no copy of the original at all (original_truncated: true):
// the fallback when the topic refuses even a cut envelope as too large.
std::string DeadLetterEnvelope(const DeadLetter& d, size_t max_bytes, bool omit_original = false);

std::string Base64(std::string_view in);

}  // namespace leadflow::ingest

#endif  // LEADFLOW_INGEST_DEAD_LETTER_H_
