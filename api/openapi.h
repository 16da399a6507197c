// The documents of docs/ that the service serves, built into the binary
// (api/embed_file.cmake turns each file into a source at build time; editing
// the file rebuilds it), no credential needed:
//   docs/openapi.json, the OpenAPI 3.1 description of the HTTP API, at
//     GET /openapi.json;
//   docs/events.schema.json, the JSON Schema (draft 2020-12) of the events
//     producers publish (contract section 1), at GET /schemas/events.json.
//
// Thread safety: immutable data.
#ifndef LEADFLOW_API_OPENAPI_H_
#define LEADFLOW_API_OPENAPI_H_

#include <string_view>

namespace leadflow::api {

// The bytes of docs/openapi.json as they were at build time.
std::string_view OpenApiDocument();

// The bytes of docs/events.schema.json as they were at build time.
std::string_view EventsSchemaDocument();

}  // namespace leadflow::api

#endif  // LEADFLOW_API_OPENAPI_H_
