#include "ingest/dead_letter.h"

#include <doctest/doctest.h>

#include <nlohmann/json.hpp>

#include "views/utf8.h"

namespace leadflow::ingest {
namespace {

using nlohmann::json;

DeadLetter Letter(std::string value, std::string reason = "unknown type lead.bogus") {
  DeadLetter d;
  d.reason = std::move(reason);
  d.value = std::move(value);
  d.key = "org1";
  d.source = SourcePosition{"events", 2};
  d.offset = 17;
  return d;
}

}  // namespace

TEST_CASE("a small letter carries its original once, as text") {
  json j = json::parse(DeadLetterEnvelope(Letter("not json"), 1000000));
  CHECK(j["original"] == "not json");
  CHECK(!j.contains("original_base64"));
  CHECK(!j.contains("original_truncated"));
  CHECK(j["reason"] == "unknown type lead.bogus");
  CHECK(j["topic"] == "events");
  CHECK(j["partition"] == 2);
  CHECK(j["offset"] == 17);
  CHECK(j["key"] == "org1");
}

TEST_CASE("an original that is not UTF-8 is carried as base64 only") {
  json j = json::parse(DeadLetterEnvelope(Letter("\xff\xfe binary"), 1000000));
  CHECK(j["original"].is_null());
  CHECK(j["original_base64"] == "//4gYmluYXJ5");
}

TEST_CASE("an envelope over the limit carries a cut copy that says so, and fits") {
  for (size_t limit : {size_t{5000}, size_t{100000}, size_t{1000000}}) {
    for (const std::string& unit : {std::string("x"), std::string("\"\\"), std::string("\xc3\xa9"), std::string("\x01")}) {
      std::string original;
      while (original.size() < 2 * limit) original += unit;
      const std::string envelope = DeadLetterEnvelope(Letter(original), limit);
      INFO("limit ", limit, " unit ", unit);
      CHECK(envelope.size() <= limit);
      json j = json::parse(envelope);
      CHECK(j["original_truncated"] == true);
      CHECK(j["original_bytes"] == original.size());
      const std::string kept = j["original"].get<std::string>();
      CHECK(kept.size() > limit / 8);                      // not needlessly small
      CHECK(original.compare(0, kept.size(), kept) == 0);  // a prefix, cut at a character boundary
    }
  }
  // Not UTF-8: a cut base64 copy.
  std::string binary(300000, '\xff');
  json j = json::parse(DeadLetterEnvelope(Letter(binary), 100000));
  CHECK(j["original"].is_null());
  CHECK(j["original_truncated"] == true);
  CHECK(j["original_base64"].get<std::string>().size() > 50000);
}

TEST_CASE("the smallest envelope has no copy of the original and still locates it") {
  json j = json::parse(DeadLetterEnvelope(Letter(std::string(500000, 'x')), 1000000, /*omit_original=*/true));
  CHECK(j["original"].is_null());
  CHECK(j["original_truncated"] == true);
  CHECK(j["original_bytes"] == 500000);
  CHECK(j["offset"] == 17);
}

TEST_CASE("a huge reason and key are cut, so the envelope stays within the limit") {
  DeadLetter d = Letter(std::string(10000, 'y'), "unknown type " + std::string(600000, 'z'));
  d.key = std::string(600000, 'k');
  const std::string envelope = DeadLetterEnvelope(d, 8192);
  CHECK(envelope.size() <= 8192);
  json j = json::parse(envelope);
  CHECK(j["reason"].get<std::string>().size() <= kMaxReasonBytes + 3);
  CHECK(j["key"].get<std::string>().size() <= kMaxKeyBytes + 3);
}

TEST_CASE("CutUtf8 never splits a character") {
  CHECK(views::CutUtf8("abc", 5) == "abc");
  CHECK(views::CutUtf8("abcdef", 3) == "abc...");
  CHECK(views::CutUtf8("a\xc3\xa9", 2) == "a...");
  CHECK(views::IsValidUtf8("a\xc3\xa9"));
  CHECK(!views::IsValidUtf8("a\xc3"));
  CHECK(!views::IsValidUtf8("\xed\xa0\x80"));  // a surrogate
}

}  // namespace leadflow::ingest
