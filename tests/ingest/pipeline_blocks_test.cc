// The pipeline decodes a full block in the background while it applies the
// block before it (ingest/pipeline.h). Blocks are still applied in the
// order they were added: on 2 workers the state, the counts and the dead
// letters (their order and lines) are those of 1 worker, across batch
// boundaries inside and between blocks, with bad lines in every block.
#include <doctest/doctest.h>

#include <algorithm>
#include <map>
#include <sstream>
#include <string>
#include <vector>

#include "ingest/file_ingest.h"
#include "tests/testing/check_ok.h"
#include "tests/testing/harness.h"
#include "tools/eventgen.h"

namespace leadflow::ingest {
namespace {

std::string StreamText() {
  tools::GeneratorOptions o;
  o.seed = 5;
  o.orgs = 2;
  o.leads_per_org = 3500;  // more than 4 blocks of Pipeline::kBlockMessages
  o.days = 60;
  o.changes_per_lead = 4;
  o.activities_per_lead = 5;
  o.dup_share = 0.05;
  o.ooo_share = 0.1;
  o.delete_share = 0.05;
  tools::EventGenerator gen(o);
  std::string text;
  tools::Event e;
  size_t n = 0;
  while (gen.Next(&e)) {
    text += e.value + "\n";
    if (++n % 997 == 0) text += "{\"not\": \"an event\"}\n";
  }
  return text;
}

struct Run {
  std::map<std::string, std::string> state;
  std::string dead_letters;
  FileIngestResult result;
};

Run Ingest(const std::string& text, size_t batch, size_t workers, size_t tables_from) {
  state::Store::Options options;
  options.table_write_min_ops = tables_from;
  testing::TestDb db(options);
  std::istringstream in(text);
  std::ostringstream dead;
  Run run;
  REQUIRE_OK(IngestStream(in, db.store(), batch, &dead, &run.result, {}, workers));
  run.state = testing::DumpState(db.store(), true);
  run.dead_letters = dead.str();
  return run;
}

TEST_CASE("blocks decoded ahead on 2 workers apply as on 1: same state, counts and dead letters") {
  const std::string text = StreamText();
  const size_t lines = static_cast<size_t>(std::count(text.begin(), text.end(), '\n'));
  REQUIRE(lines > 4 * Pipeline::kBlockMessages);
  for (size_t batch : {size_t{5000}, size_t{3 * Pipeline::kBlockMessages}, size_t{1000000}}) {
    CAPTURE(batch);
    const Run one = Ingest(text, batch, 1, 0);
    REQUIRE(one.result.lines == lines);
    REQUIRE(one.result.dead_lettered == lines / 998);
    REQUIRE(one.state.size() > 1000);
    for (size_t tables_from : {size_t{0}, size_t{1}}) {
      CAPTURE(tables_from);
      const Run two = Ingest(text, batch, 2, tables_from);
      CHECK(two.result.lines == one.result.lines);
      CHECK(two.result.applied == one.result.applied);
      CHECK(two.result.duplicates == one.result.duplicates);
      CHECK(two.result.dead_lettered == one.result.dead_lettered);
      CHECK(two.dead_letters == one.dead_letters);
      CHECK(two.state == one.state);
    }
  }
}

}  // namespace
}  // namespace leadflow::ingest
