// MessagePack encoding of a JSON value, appended to a string: the same bytes
// as nlohmann::json::to_msgpack (smallest integer form, float32 when the
// double survives the round trip, objects in the json's key order), without
// its intermediate byte vector and per-byte virtual calls. The write path
// encodes every touched lead's fields and row with it
// (views/records.cc, views/lead_attributes.cc); readers decode with
// nlohmann::json::from_msgpack.
//
// tests/views/msgpack_writer_test.cc compares the bytes with nlohmann's on
// random values.
//
// Thread safety: pure functions.
#ifndef LEADFLOW_VIEWS_DETAIL_MSGPACK_WRITER_H_
#define LEADFLOW_VIEWS_DETAIL_MSGPACK_WRITER_H_

#include <cstdint>
#include <string>
#include <string_view>

#include <nlohmann/json.hpp>

namespace leadflow::views::detail {

void AppendMsgpack(std::string* out, const nlohmann::json& j);
// Pieces, for callers that write a map of their own (LeadAttributes::Encode).
void AppendMsgpackMapHeader(std::string* out, size_t n);
void AppendMsgpackStr(std::string* out, std::string_view s);
void AppendMsgpackInt(std::string* out, int64_t v);
void AppendMsgpackNil(std::string* out);

}  // namespace leadflow::views::detail

#endif  // LEADFLOW_VIEWS_DETAIL_MSGPACK_WRITER_H_
