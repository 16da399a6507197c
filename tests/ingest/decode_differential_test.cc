// DecodeEvent (simdjson On Demand) against DecodeEventReference, the
// nlohmann::json decoder it replaced, over the fuzz corpus, mutations of it
// and generated streams: both must accept with the same event or refuse with
// the same reason. Only where the input is not valid JSON may the reasons
// differ, both being refusals: simdjson checks UTF-8, control characters and
// string quotes over the whole input before anything else, so an error there
// is reported before an earlier one that nlohmann::json met first.
#include <doctest/doctest.h>

#include <algorithm>
#include <cstdint>
#include <filesystem>
#include <fstream>
#include <iterator>
#include <random>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "ingest/decode.h"
#include "tests/ingest/decode_reference.h"
#include "tests/ingest/same_event.h"
#include "tools/eventgen.h"

namespace leadflow::ingest {
namespace {

using testing_ref::DecodeEventReference;

bool IsSyntaxError(const Status& s) { return s.message().starts_with("not valid JSON"); }

// Decodes value with both decoders, without a key and with key, and checks
// that they agree. Returns whether they agreed on the reasons too.
bool CheckAgree(const std::string& value, std::string_view key = "org1") {
  bool same_reasons = true;
  for (const std::optional<std::string_view> k : {std::optional<std::string_view>(), std::optional(key)}) {
    views::Event got, want;
    const Status s = DecodeEvent(value, k, &got);
    const Status r = DecodeEventReference(value, k, &want);
    CAPTURE(nlohmann::json(value.substr(0, 300)).dump(-1, ' ', false, nlohmann::json::error_handler_t::replace));
    CAPTURE(s.ToString());
    CAPTURE(r.ToString());
    REQUIRE(s.ok() == r.ok());
    if (s.ok()) {
      CheckSameEvent(got, want);
    } else if (s.message() != r.message()) {
      same_reasons = false;
      CHECK(s.IsInvalidArgument());
      CHECK((IsSyntaxError(s) || IsSyntaxError(r)));
      CHECK_FALSE(nlohmann::json::accept(value));
    }
  }
  return same_reasons;
}

std::vector<std::string> Corpus() {
  std::vector<std::filesystem::path> paths;
  for (const auto& entry : std::filesystem::directory_iterator(LEADFLOW_EVENT_CORPUS_DIR)) {
    if (entry.is_regular_file()) paths.push_back(entry.path());
  }
  std::sort(paths.begin(), paths.end());
  std::vector<std::string> values;
  for (const auto& path : paths) {
    std::ifstream in(path, std::ios::binary);
    values.emplace_back(std::istreambuf_iterator<char>(in), std::istreambuf_iterator<char>());
  }
  return values;
}

// Bytes that, put anywhere, most often change what a JSON parser sees.
constexpr std::string_view kTrickyBytes = "\"\\{}[],:-.0e \x01\xC3\xFF";

}  // namespace

TEST_CASE("the two decoders agree on every corpus event, with the same reason for every refusal") {
  const std::vector<std::string> corpus = Corpus();
  REQUIRE(corpus.size() >= 50);
  for (const std::string& value : corpus) CHECK(CheckAgree(value));
}

TEST_CASE("the two decoders agree on every truncation and single-byte change of the corpus events") {
  std::mt19937_64 rng(20240501);
  size_t inputs = 0, other_reasons = 0;
  auto check = [&](const std::string& value) {
    ++inputs;
    if (!CheckAgree(value)) ++other_reasons;
  };
  for (const std::string& value : Corpus()) {
    if (value.size() <= 4096) {
      for (size_t n = 0; n < value.size(); ++n) check(value.substr(0, n));
    }
    // Every position of a small event, 256 random ones of a large one.
    const size_t positions = std::min<size_t>(value.size(), 256);
    for (size_t k = 0; k < positions; ++k) {
      const size_t i = value.size() <= 256 ? k : rng() % value.size();
      std::string changed = value;
      changed[i] = static_cast<char>(changed[i] ^ (1 << (rng() % 8)));
      check(changed);
      changed[i] = kTrickyBytes[rng() % kTrickyBytes.size()];
      check(changed);
      changed = value;
      changed.erase(i, 1);
      check(changed);
    }
  }
  MESSAGE(inputs << " inputs, " << other_reasons << " refused for another syntax reason");
  CHECK(inputs > 25000);
}

TEST_CASE("the two decoders agree on generated streams with duplicates and invalid messages") {
  tools::GeneratorOptions o;
  o.seed = 7;
  o.orgs = 2;
  o.leads_per_org = 120;
  o.days = 20;
  o.dup_share = 0.05;
  o.ooo_share = 0.05;
  o.invalid_share = 0.05;
  tools::EventGenerator gen(o);
  tools::Event e;
  size_t events = 0;
  while (gen.Next(&e)) {
    ++events;
    CHECK(CheckAgree(e.value, e.key));
  }
  MESSAGE(events << " generated messages");
  CHECK(events > 2000);
}

}  // namespace leadflow::ingest
