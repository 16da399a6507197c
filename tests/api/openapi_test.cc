#include "api/openapi.h"

#include <doctest/doctest.h>

#include <algorithm>
#include <fstream>
#include <set>
#include <sstream>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "api/credentials.h"
#include "api/router.h"
#include "tests/testing/check_ok.h"
#include "tests/testing/harness.h"

namespace leadflow::api {
namespace {

namespace http = boost::beast::http;
using nlohmann::json;

// The route labels of api/router.cc that are endpoints of the service, which
// are also the paths of docs/openapi.json ("invalid" and "other" are not).
const std::set<std::string> kRoutes = {
    "/",
    "/lsq/",
    "/search/{query}/",
    "/assets/{name}",
    "/api/v1/me/",
    "/healthz",
    "/readyz",
    "/metrics",
    "/cluster",
    "/openapi.json",
    "/schemas/events.json",
    "/api/v1/report/statuses/lead/{org_id}/",
    "/api/v1/report/statuses/lead/{org_id}/stream",
    "/api/v1/lead/",
    "/api/v1/saved_search/",
    "/api/v1/saved_search/{id}/",
    "/Leads/NotContacted",
};
// The keys of a path item that are operations.
const std::set<std::string> kMethods = {"get", "put", "post", "delete", "options", "head", "patch", "trace"};
// Routes that answer any method alike.
const std::set<std::string> kAnyMethod = {"/healthz", "/readyz", "/metrics"};

struct Service {
  Service() {
    REQUIRE_OK(Credentials::Parse(R"([{"org_id": "org1", "api_key": "key-org1",
                                       "lsq_access_key": "u$access1", "lsq_secret_key": "secret1"}])",
                                  &credentials));
    ctx.store = db.store();
    ctx.credentials = &credentials;
  }

  // A request as a client of every API sends it: the org's credentials of
  // both APIs, Close's method override, a JSON body for the methods that take one.
  Response Send(http::verb verb, const std::string& target, std::string* route) {
    Request req{verb, target, 11};
    req.set(http::field::authorization, "Bearer key-org1");
    req.set("x-LSQ-AccessKey", "u$access1");
    req.set("x-LSQ-SecretKey", "secret1");
    req.set("x-http-method-override", "GET");
    if (verb == http::verb::post || verb == http::verb::put || verb == http::verb::patch) {
      req.set(http::field::content_type, "application/json");
      req.body() = R"({"name": "v", "query": ""})";
    }
    req.prepare_payload();
    return HandleRequest(req, ctx, route);
  }

  testing::TestDb db;
  Credentials credentials;
  ServiceContext ctx;
};

json ServedDocument() {
  Service s;
  Request req{http::verb::get, "/openapi.json", 11};
  std::string route;
  const Response res = HandleRequest(req, s.ctx, &route);
  REQUIRE(res.result() == http::status::ok);
  return json::parse(res.body());
}

// A concrete target for a path template.
std::string Concrete(const std::string& path) {
  std::string out = path;
  for (const auto& [param, value] :
       {std::pair<std::string, std::string>{"{org_id}", "org1"}, {"{id}", "save_00000000000000000000000000000000"}}) {
    if (size_t at = out.find(param); at != std::string::npos) out.replace(at, param.size(), value);
  }
  return out;
}

// Every "$ref" under node, with where it was found.
void CollectRefs(const json& node, const std::string& where, std::vector<std::pair<std::string, std::string>>* out) {
  if (node.is_object()) {
    for (auto it = node.begin(); it != node.end(); ++it) {
      if (it.key() == "$ref" && it->is_string()) out->emplace_back(it->get<std::string>(), where);
      CollectRefs(*it, where + "/" + it.key(), out);
    }
  } else if (node.is_array()) {
    for (size_t i = 0; i < node.size(); ++i) CollectRefs(node[i], where + "/" + std::to_string(i), out);
  }
}

// Checks what every document route gives (api/router.cc's Document): the
// bytes of file, which the build embedded as embedded, under content_type at
// target with no credential and no freshness headers; HEAD the header
// alone; refused (another method) 405 naming GET and HEAD. Returns the body.
std::string CheckServedDocument(Service& s, const std::string& target, const std::string& content_type,
                                const char* file_path, std::string_view embedded, http::verb refused) {
  Request req{http::verb::get, target, 11};
  std::string route;
  const Response res = HandleRequest(req, s.ctx, &route);
  CHECK(res.result() == http::status::ok);
  CHECK(route == target);
  CHECK(std::string(res[http::field::content_type]) == content_type);
  CHECK(res.count(http::field::www_authenticate) == 0);
  CHECK(res.count("Leadflow-Ready") == 0);  // not an answer computed from the state
  // The bytes of the file in the tree: the build embeds the current one.
  std::ifstream file(file_path, std::ios::binary);
  REQUIRE(file);
  std::stringstream text;
  text << file.rdbuf();
  CHECK(res.body() == text.str());
  CHECK(embedded == text.str());

  Request head{http::verb::head, target, 11};
  const Response header_only = HandleRequest(head, s.ctx, &route);
  CHECK(header_only.result() == http::status::ok);
  CHECK(header_only.body().empty());
  CHECK(std::string(header_only[http::field::content_length]) == std::to_string(text.str().size()));
  Request other{refused, target, 11};
  const Response refusal = HandleRequest(other, s.ctx, &route);
  CHECK(refusal.result() == http::status::method_not_allowed);
  CHECK(std::string(refusal[http::field::allow]) == "GET, HEAD");
  return res.body();
}

}  // namespace

TEST_CASE("GET /openapi.json serves docs/openapi.json as JSON, with no credential") {
  Service s;
  const std::string body = CheckServedDocument(s, "/openapi.json", "application/json", LEADFLOW_OPENAPI_JSON,
                                               OpenApiDocument(), http::verb::post);
  const json doc = json::parse(body, nullptr, false);
  REQUIRE_FALSE(doc.is_discarded());
  CHECK(doc.value("openapi", "") == "3.1.0");
  CHECK(doc["info"].contains("title"));
  CHECK(doc["info"].contains("version"));
}

TEST_CASE("GET /schemas/events.json serves docs/events.schema.json as a JSON Schema, with no credential") {
  Service s;
  const std::string body = CheckServedDocument(s, "/schemas/events.json", "application/schema+json",
                                               LEADFLOW_EVENTS_SCHEMA_JSON, EventsSchemaDocument(), http::verb::put);

  // A draft 2020-12 schema with a definition of every event type, each
  // selected by its type (tests/schema/events_schema_test.sh checks it
  // against the decoder).
  const json doc = json::parse(body, nullptr, false);
  REQUIRE_FALSE(doc.is_discarded());
  CHECK(doc.value("$schema", "") == "https://json-schema.org/draft/2020-12/schema");
  CHECK_FALSE(doc.value("$id", "").empty());
  const std::vector<std::string> types = {"status.upserted", "status.deleted", "user.upserted",
                                          "lead.created",    "lead.updated",   "lead.status_changed",
                                          "lead.deleted",    "activity.logged"};
  CHECK(doc["properties"]["type"]["enum"] == json(types));
  REQUIRE(doc["allOf"].size() == types.size());
  for (size_t i = 0; i < types.size(); ++i) {
    CAPTURE(types[i]);
    CHECK(doc["allOf"][i]["if"]["properties"]["type"]["const"] == types[i]);
    CHECK(doc["allOf"][i]["then"]["$ref"] == "#/$defs/" + types[i]);
    CHECK(doc["$defs"].contains(types[i]));
  }
  std::vector<std::pair<std::string, std::string>> refs;
  CollectRefs(doc, "", &refs);
  for (const auto& [ref, where] : refs) {
    CAPTURE(where);
    REQUIRE(ref.rfind("#/", 0) == 0);
    CHECK(doc.contains(json::json_pointer(ref.substr(1))));
  }
}

TEST_CASE("the description names every route the router serves, under the router's route label") {
  const json doc = ServedDocument();
  std::set<std::string> paths;
  for (auto it = doc["paths"].begin(); it != doc["paths"].end(); ++it) paths.insert(it.key());
  CHECK(paths == kRoutes);
  Service s;
  for (const std::string& path : kRoutes) {
    CAPTURE(path);
    std::string route;
    s.Send(http::verb::get, Concrete(path), &route);
    CHECK(route == path);
  }
}

TEST_CASE("every documented method is served; the APIs refuse the others with 405") {
  const json doc = ServedDocument();
  Service s;
  const std::vector<std::pair<std::string, http::verb>> methods = {{"get", http::verb::get},
                                                                   {"post", http::verb::post},
                                                                   {"put", http::verb::put},
                                                                   {"delete", http::verb::delete_},
                                                                   {"patch", http::verb::patch}};
  for (auto it = doc["paths"].begin(); it != doc["paths"].end(); ++it) {
    const std::string& path = it.key();
    for (auto op = it->begin(); op != it->end(); ++op) {
      CAPTURE(path);
      if (kMethods.count(op.key()) == 0) continue;
      CHECK_MESSAGE(std::any_of(methods.begin(), methods.end(), [&](const auto& m) { return m.first == op.key(); }),
                    (std::string("an operation this test does not send: ") + op.key()));
    }
    for (const auto& [name, verb] : methods) {
      CAPTURE(path);
      CAPTURE(name);
      std::string route;
      const Response res = s.Send(verb, Concrete(path), &route);
      if (it->contains(name)) {
        CHECK(res.result() != http::status::method_not_allowed);
        CHECK(res.result_int() < 500);
        // A documented answer: its status is among the operation's responses.
        CHECK((*it)[name]["responses"].contains(std::to_string(res.result_int())));
      } else if (kAnyMethod.count(path) == 0) {
        CHECK(res.result() == http::status::method_not_allowed);
        // Allow (RFC 9110) names exactly the documented methods (and HEAD
        // where it is served).
        std::set<std::string> allowed, documented;
        std::string allow(res[http::field::allow]);
        for (size_t start = 0; start < allow.size();) {
          size_t comma = allow.find(',', start);
          if (comma == std::string::npos) comma = allow.size();
          std::string m = allow.substr(start, comma - start);
          while (!m.empty() && m.front() == ' ') m.erase(m.begin());
          for (char& c : m) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
          if (m != "head") allowed.insert(m);
          start = comma + 1;
        }
        for (const auto& [doc_name, doc_verb] : methods) {
          if (it->contains(doc_name)) documented.insert(doc_name);
        }
        CHECK_MESSAGE(allowed == documented, "Allow: ", allow);
      }
    }
  }
}

TEST_CASE("every operation has an id, responses and a security requirement; every $ref resolves") {
  const json doc = ServedDocument();
  std::set<std::string> ids;
  for (auto path = doc["paths"].begin(); path != doc["paths"].end(); ++path) {
    for (auto op = path->begin(); op != path->end(); ++op) {
      if (kMethods.count(op.key()) == 0) continue;  // parameters, description
      CAPTURE(path.key());
      CAPTURE(op.key());
      REQUIRE(op->contains("operationId"));
      CHECK(ids.insert((*op)["operationId"].get<std::string>()).second);
      CHECK_FALSE((*op)["responses"].empty());
      REQUIRE(op->contains("security"));
      for (const json& requirement : (*op)["security"]) {
        for (auto scheme = requirement.begin(); scheme != requirement.end(); ++scheme) {
          CHECK(doc["components"]["securitySchemes"].contains(scheme.key()));
        }
      }
    }
  }
  std::vector<std::pair<std::string, std::string>> refs;
  CollectRefs(doc, "", &refs);
  CHECK(refs.size() > 50);
  for (const auto& [ref, where] : refs) {
    CAPTURE(where);
    REQUIRE(ref.rfind("#/", 0) == 0);
    CHECK(doc.contains(json::json_pointer(ref.substr(1))));
  }
}

}  // namespace leadflow::api
