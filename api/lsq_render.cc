#include "api/lsq_render.h"

namespace leadflow::api {
namespace {

using nlohmann::json;

std::string Dump(const json& value) { return value.dump(-1, ' ', false, json::error_handler_t::replace); }

const json& CellAt(const std::vector<json>& row, size_t i) {
  static const json kNull;
  return i < row.size() ? row[i] : kNull;
}

std::string TextCell(std::string_view text) {
  std::string cell;
  if (!text.empty() && (text.front() == '=' || text.front() == '+' || text.front() == '-' ||
                        text.front() == '@' || text.front() == '\t' || text.front() == '\r')) {
    cell.push_back('\'');
  }
  cell.append(text);
  if (cell.find_first_of("\",\r\n") == std::string::npos) return cell;
  std::string quoted = "\"";
  for (char c : cell) {
    if (c == '"') quoted.push_back('"');
    quoted.push_back(c);
  }
  quoted.push_back('"');
  return quoted;
}

}  // namespace

std::string CsvCell(const json& value) {
  if (value.is_null()) return "";
  if (value.is_boolean()) return value.get<bool>() ? "true" : "false";
  if (value.is_number()) return value.dump();
  if (value.is_string()) return TextCell(value.get_ref<const std::string&>());
  return TextCell(Dump(value));  // objects and arrays, which no column should hold
}

std::string RenderNotContactedJson(const views::NotContactedResult& result) {
  std::string out = "{\"TotalCount\":" + Dump(std::to_string(result.total_count)) + ",\"Results\":[";
  for (size_t r = 0; r < result.rows.size(); ++r) {
    if (r > 0) out.push_back(',');
    out.push_back('{');
    for (size_t c = 0; c < result.columns.size(); ++c) {
      if (c > 0) out.push_back(',');
      out += Dump(result.columns[c]);
      out.push_back(':');
      out += Dump(CellAt(result.rows[r], c));
    }
    out.push_back('}');
  }
  out += "]}";
  return out;
}

std::string RenderNotContactedCsv(const views::NotContactedResult& result) {
  std::string out;
  for (size_t c = 0; c < result.columns.size(); ++c) {
    if (c > 0) out.push_back(',');
    out += TextCell(result.columns[c]);
  }
  out += "\r\n";
  for (const auto& row : result.rows) {
    for (size_t c = 0; c < result.columns.size(); ++c) {
      if (c > 0) out.push_back(',');
      out += CsvCell(CellAt(row, c));
    }
    out += "\r\n";
  }
  return out;
}

std::string RenderLsqError(std::string_view type, std::string_view message) {
  return "{\"Status\":\"Error\",\"ExceptionType\":" + Dump(std::string(type)) +
         ",\"ExceptionMessage\":" + Dump(std::string(message)) + "}";
}

}  // namespace leadflow::api
