// Rendering of a Leads Not Contacted result (contract section 3) as
// LeadSquared's JSON or as CSV, and of the LSQ error body.
//
// JSON: {"TotalCount":"<n>","Results":[{<col>: <value>, ...}, ...]}, keys in
// column order, TotalCount a string, values keeping their JSON type.
// CSV (RFC 4180): a header row of the columns, then one row per result row;
// every row ends with CRLF; a cell is quoted when it holds '"', ',', CR or LF
// (quotes doubled). null is an empty cell, booleans true/false, numbers their
// JSON text; a text cell starting with '=', '+', '-', '@', tab or CR gets a
// "'" prefix first (against formula injection in spreadsheets). UTF-8, no BOM.
// A row shorter than the columns is padded with nulls; cells past the columns
// are dropped. Invalid UTF-8 in a value is replaced (U+FFFD) in JSON and
// passed through in CSV; rendering never throws on it.
//
// Thread safety: pure functions.
#ifndef LEADFLOW_API_LSQ_RENDER_H_
#define LEADFLOW_API_LSQ_RENDER_H_

#include <string>
#include <string_view>

#include <nlohmann/json.hpp>

#include "views/not_contacted.h"

namespace leadflow::api {

std::string RenderNotContactedJson(const views::NotContactedResult& result);
std::string RenderNotContactedCsv(const views::NotContactedResult& result);

// One CSV cell for value, quoted and guarded as above (exposed for tests).
std::string CsvCell(const nlohmann::json& value);

// {"Status":"Error","ExceptionType":type,"ExceptionMessage":message}.
std::string RenderLsqError(std::string_view type, std::string_view message);

}  // namespace leadflow::api

#endif  // LEADFLOW_API_LSQ_RENDER_H_
