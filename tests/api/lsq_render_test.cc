#include "api/lsq_render.h"

#include <doctest/doctest.h>

#include <string>
#include <vector>

#include <nlohmann/json.hpp>

namespace leadflow::api {
namespace {

using nlohmann::json;

views::NotContactedResult Result(int64_t total, std::vector<std::string> columns,
                                 std::vector<std::vector<json>> rows) {
  views::NotContactedResult r;
  r.total_count = total;
  r.columns = std::move(columns);
  r.rows = std::move(rows);
  return r;
}

}  // namespace

TEST_CASE("JSON has TotalCount as a string and rows keyed in column order, values keeping their type") {
  const auto r = Result(7, {"ProspectID", "FirstName", "Score", "IsVip", "mx_City", "CreatedOn"},
                        {{"l2", "Asha", 12.5, true, nullptr, "2024-05-01 10:00:00"},
                         {"l1", "Ravi", 3, false, "Pune", "2024-05-02 00:00:00"}});
  const std::string body = RenderNotContactedJson(r);
  CHECK(body ==
        R"({"TotalCount":"7","Results":[)"
        R"({"ProspectID":"l2","FirstName":"Asha","Score":12.5,"IsVip":true,"mx_City":null,"CreatedOn":"2024-05-01 10:00:00"},)"
        R"({"ProspectID":"l1","FirstName":"Ravi","Score":3,"IsVip":false,"mx_City":"Pune","CreatedOn":"2024-05-02 00:00:00"}]})");
  const json parsed = json::parse(body);
  CHECK(parsed["TotalCount"].is_string());
  CHECK(parsed["Results"][0]["Score"].is_number());
}

TEST_CASE("an empty result is TotalCount \"0\" with an empty Results array") {
  CHECK(RenderNotContactedJson(Result(0, {"ProspectID"}, {})) == R"({"TotalCount":"0","Results":[]})");
  // TotalCount counts before paging, so it may exceed the rows.
  CHECK(RenderNotContactedJson(Result(250, {"ProspectID"}, {{"l1"}})) ==
        R"({"TotalCount":"250","Results":[{"ProspectID":"l1"}]})");
}

TEST_CASE("aggregate rows render like list rows, the null group key included") {
  const auto r = Result(2, {"OwnerId", "Average"}, {{nullptr, nullptr}, {"u1", 7.25}});
  CHECK(RenderNotContactedJson(r) ==
        R"({"TotalCount":"2","Results":[{"OwnerId":null,"Average":null},{"OwnerId":"u1","Average":7.25}]})");
  CHECK(RenderNotContactedCsv(r) == "OwnerId,Average\r\n,\r\nu1,7.25\r\n");
}

TEST_CASE("JSON escapes text and never fails on invalid UTF-8") {
  const auto r = Result(1, {"Note"}, {{"say \"hi\"\n\\ \xE2\x82\xAC"}});
  CHECK(RenderNotContactedJson(r) == R"({"TotalCount":"1","Results":[{"Note":"say \"hi\"\n\\ €"}]})");
  const auto bad = Result(1, {"Note"}, {{std::string("a\xFF" "b")}});
  CHECK(RenderNotContactedJson(bad) == "{\"TotalCount\":\"1\",\"Results\":[{\"Note\":\"a\xEF\xBF\xBD" "b\"}]}");
}

TEST_CASE("rows shorter than the columns are padded with null; extra cells are dropped") {
  const auto r = Result(1, {"A", "B"}, {{"x"}, {"y", "z", "extra"}});
  CHECK(RenderNotContactedJson(r) == R"({"TotalCount":"1","Results":[{"A":"x","B":null},{"A":"y","B":"z"}]})");
  CHECK(RenderNotContactedCsv(r) == "A,B\r\nx,\r\ny,z\r\n");
}

TEST_CASE("CSV is a header row and one CRLF-terminated row per result row") {
  const auto r = Result(2, {"ProspectID", "FirstName", "Score", "IsVip", "mx_City"},
                        {{"l1", "Asha", 12.5, true, nullptr}, {"l2", "Ravi", -3, false, "Pune"}});
  CHECK(RenderNotContactedCsv(r) ==
        "ProspectID,FirstName,Score,IsVip,mx_City\r\n"
        "l1,Asha,12.5,true,\r\n"
        "l2,Ravi,-3,false,Pune\r\n");
  CHECK(RenderNotContactedCsv(Result(0, {"ProspectID", "FirstName"}, {})) == "ProspectID,FirstName\r\n");
}

TEST_CASE("CSV cells follow RFC 4180 quoting") {
  struct Case {
    json value;
    std::string cell;
  };
  const std::vector<Case> cases = {
      {"plain", "plain"},
      {"", ""},
      {"a,b", "\"a,b\""},
      {"say \"hi\"", "\"say \"\"hi\"\"\""},
      {"\"", "\"\"\"\""},
      {"line1\nline2", "\"line1\nline2\""},
      {"line1\r\nline2", "\"line1\r\nline2\""},
      {"a;b c'd", "a;b c'd"},
      {"\xE2\x82\xAC uro", "\xE2\x82\xAC uro"},  // UTF-8 passes through, no BOM
      {nullptr, ""},
      {true, "true"},
      {false, "false"},
      {42, "42"},
      {-7, "-7"},  // numbers are not text: no guard
      {2.5, "2.5"},
      {static_cast<uint64_t>(18446744073709551615ULL), "18446744073709551615"},
  };
  for (const auto& c : cases) {
    CAPTURE(c.value.dump());
    CHECK(CsvCell(c.value) == c.cell);
  }
}

TEST_CASE("a CSV text cell starting with = + - @ tab or CR gets a ' prefix, then quoting if needed") {
  struct Case {
    std::string text, cell;
  };
  const std::vector<Case> cases = {
      {"=SUM(A1:A9)", "'=SUM(A1:A9)"},
      {"+1 555 0100", "'+1 555 0100"},
      {"-5", "'-5"},
      {"@cmd", "'@cmd"},
      {"\tindent", "'\tindent"},
      {"\rreturn", "\"'\rreturn\""},
      {"=HYPERLINK(\"http://x\",\"y\")", "\"'=HYPERLINK(\"\"http://x\"\",\"\"y\"\")\""},
      {"-a,b", "\"'-a,b\""},
      {"a=b", "a=b"},
      {" =x", " =x"},
      {"'already", "'already"},
  };
  for (const auto& c : cases) {
    CAPTURE(c.text);
    CHECK(CsvCell(json(c.text)) == c.cell);
  }
  // In a whole document too.
  const auto r = Result(1, {"FirstName"}, {{"=cmd|' /C calc'!A0"}});
  CHECK(RenderNotContactedCsv(r) == "FirstName\r\n'=cmd|' /C calc'!A0\r\n");
}

TEST_CASE("the LSQ error body has Status, ExceptionType and ExceptionMessage") {
  CHECK(RenderLsqError("MXAPIRateLimitExceededException", "API calls exceeded the limit of 25 in 5 second(s)") ==
        R"({"Status":"Error","ExceptionType":"MXAPIRateLimitExceededException",)"
        R"x("ExceptionMessage":"API calls exceeded the limit of 25 in 5 second(s)"})x");
  const json j = json::parse(RenderLsqError("MXInvalidInputException", "bad 'x\"y' \xFF"));
  CHECK(j["ExceptionMessage"] == "bad 'x\"y' \xEF\xBF\xBD");
}

}  // namespace leadflow::api
