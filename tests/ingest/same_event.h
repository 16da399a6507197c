// CheckSameEvent: every member of two decoded events, for tests that decode
// one input two ways (tests/ingest/decode_differential_test.cc: two
// decoders; decode_test.cc: a fresh and a reused Event). `fields` is
// compared as its JSON text, so a number's type counts too (1, 1.0 and -0
// differ). A member added to views::Event is added here too.
#ifndef LEADFLOW_TESTS_INGEST_SAME_EVENT_H_
#define LEADFLOW_TESTS_INGEST_SAME_EVENT_H_

#include <doctest/doctest.h>

#include "views/event.h"

namespace leadflow::ingest {

inline void CheckSameEvent(const views::Event& a, const views::Event& b) {
  CHECK(a.event_id == b.event_id);
  CHECK(a.type == b.type);
  CHECK(a.org_id == b.org_id);
  CHECK(a.occurred_at_ms == b.occurred_at_ms);
  CHECK(a.status_id == b.status_id);
  CHECK(a.label == b.label);
  CHECK(a.position == b.position);
  CHECK(a.user_id == b.user_id);
  CHECK(a.lead_id == b.lead_id);
  CHECK(a.owner_id == b.owner_id);
  CHECK(a.previous_status_id == b.previous_status_id);
  CHECK(a.fields.dump() == b.fields.dump());
  CHECK(a.activity_id == b.activity_id);
  CHECK(a.activity_event == b.activity_event);
  CHECK(a.activity_name == b.activity_name);
  CHECK(a.arrival == b.arrival);
  CHECK(a.shard == b.shard);
}

}  // namespace leadflow::ingest

#endif  // LEADFLOW_TESTS_INGEST_SAME_EVENT_H_
