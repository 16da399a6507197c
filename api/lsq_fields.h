// Field-level readers for the LeadSquared-compatible API (contract section 3):
// JSON keys matched ASCII case-insensitively, column names, LSQ date-times,
// and quoting of client input inside error messages.
//
// Thread safety: pure functions, callable from any thread.
#ifndef LEADFLOW_API_LSQ_FIELDS_H_
#define LEADFLOW_API_LSQ_FIELDS_H_

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

#include <nlohmann/json.hpp>

#include "views/ascii.h"

namespace leadflow::api {

// True when a and b are equal ignoring ASCII case (views/ascii.h).
using views::EqualsNoCase;
// True when s starts with prefix, ignoring ASCII case.
bool HasPrefixNoCase(std::string_view s, std::string_view prefix);
// s with ASCII letters lowered.
std::string LowerAscii(std::string_view s);
// s without leading and trailing spaces and tabs.
std::string_view TrimSpaces(std::string_view s);

// The member of obj named name, ASCII case-insensitively (an exact match is
// preferred when two keys differ only in case). nullptr when obj is not an
// object, when there is no such member, or when its value is null: a null
// member counts as absent. The pointer is valid while obj is unchanged.
const nlohmann::json* FindKey(const nlohmann::json& obj, std::string_view name);

// True when s is a column name: one or more of [A-Za-z0-9_].
bool IsColumnName(std::string_view s);

// Parses an LSQ date-time "yyyy-MM-dd HH:mm:ss" (UTC), optionally followed by
// a fraction of 1 to 7 digits (".fff"), which is ignored: LSQ dates compare
// at whole seconds. Returns the milliseconds since the epoch of the start of
// that second; nullopt when malformed or not a calendar date/time (years
// 0001-9999).
std::optional<int64_t> ParseLsqDateTime(std::string_view text);

// Client input for an error message: text as is, cut to 64 bytes with "..."
// when longer. The result may hold invalid UTF-8: render it with a replacing
// JSON dump.
std::string Quoted(std::string_view text);
// The same for a JSON value: a string's text, any other value's JSON text.
std::string QuotedValue(const nlohmann::json& value);

}  // namespace leadflow::api

#endif  // LEADFLOW_API_LSQ_FIELDS_H_
