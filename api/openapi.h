// The OpenAPI 3.1 description of the HTTP API, docs/openapi.json, built into
// the binary (api/embed_file.cmake turns the file into a source at build
// time; editing the file rebuilds it) and served at GET /openapi.json.
//
// Thread safety: immutable data.
#ifndef LEADFLOW_API_OPENAPI_H_
#define LEADFLOW_API_OPENAPI_H_

#include <string_view>

namespace leadflow::api {

// The bytes of docs/openapi.json as they were at build time.
std::string_view OpenApiDocument();

}  // namespace leadflow::api

#endif  // LEADFLOW_API_OPENAPI_H_
