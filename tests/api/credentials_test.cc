#include "api/credentials.h"

#include <doctest/doctest.h>

#include <fstream>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "tests/testing/check_ok.h"
#include "tests/testing/harness.h"

namespace leadflow::api {
namespace {

using namespace std::string_view_literals;

const char* kCredentials = R"([
  {"org_id": "org1", "api_key": "k1-secret", "lsq_access_key": "u$r-1", "lsq_secret_key": "s3cr3t-1"},
  {"org_id": "org2", "api_key": "k2"},
  {"org_id": "org3", "lsq_access_key": "u$r-3", "lsq_secret_key": "s3cr3t-3"},
  {"org_id": "org4", "api_key": null, "lsq_access_key": null, "lsq_secret_key": null}
])";

Credentials Loaded() {
  Credentials c;
  REQUIRE_OK(Credentials::Parse(kCredentials, &c));
  return c;
}

}  // namespace

TEST_CASE("a credentials file that is not an array of well-formed entries is rejected with the reason") {
  struct Case {
    std::string name, json, mentions;
  };
  const std::vector<Case> cases = {
      {"not JSON", "[{", "array"},
      {"an object, not an array", R"({"org_id": "org1", "api_key": "k"})", "array"},
      {"a string", R"("k1")", "array"},
      {"an entry that is not an object", R"([{"org_id": "org1"}, "k"])", "entry 1"},
      {"an entry without org_id", R"([{"api_key": "k"}])", "org_id"},
      {"an empty org_id", R"([{"org_id": "", "api_key": "k"}])", "org_id"},
      {"a numeric org_id", R"([{"org_id": 1, "api_key": "k"}])", "org_id"},
      {"a numeric api_key", R"([{"org_id": "org1", "api_key": 1234}])", "string"},
      {"an api_key array", R"([{"org_id": "org1", "api_key": ["k"]}])", "string"},
      {"a numeric secret", R"([{"org_id": "o", "lsq_access_key": "a", "lsq_secret_key": 5}])", "string"},
      {"an access key without a secret", R"([{"org_id": "org1", "lsq_access_key": "a"}])", "lsq_secret_key"},
      {"a secret without an access key", R"([{"org_id": "org1", "lsq_secret_key": "s"}])", "lsq_access_key"},
      {"an access key with an empty secret", R"([{"org_id": "o", "lsq_access_key": "a", "lsq_secret_key": ""}])",
       "lsq_secret_key"},
  };
  for (const auto& c : cases) {
    CAPTURE(c.name);
    Credentials out = Loaded();
    Status s = Credentials::Parse(c.json, &out);
    CHECK(s.IsInvalidArgument());
    CHECK_MESSAGE(s.message().find(c.mentions) != std::string::npos, s.message());
    CHECK(out.size() == 4);  // untouched on failure
  }
}

TEST_CASE("a valid credentials file loads every entry") {
  CHECK(Loaded().size() == 4);
  Credentials empty;
  CHECK_OK(Credentials::Parse("[]", &empty));
  CHECK(empty.size() == 0);
  CHECK_FALSE(empty.OrgForApiKey("k").has_value());
}

TEST_CASE("OrgForApiKey matches only an exact key") {
  const Credentials creds = Loaded();
  struct Case {
    std::string key;
    std::optional<std::string> org;
  };
  const std::vector<Case> cases = {
      {"k1-secret", "org1"},
      {"k2", "org2"},
      {"k1-secre", std::nullopt},     // a prefix
      {"k1-secretX", std::nullopt},   // longer
      {"k1-secret ", std::nullopt},   // trailing space
      {" k1-secret", std::nullopt},
      {"K1-SECRET", std::nullopt},    // case matters
      {"k", std::nullopt},
      {"", std::nullopt},             // org3 and org4 have no api_key: empty never matches
      {"u$r-1", std::nullopt},        // an LSQ key is not an API key
      {"s3cr3t-1", std::nullopt},
      {std::string("k2\0", 3), std::nullopt},  // an embedded NUL is not the end
  };
  for (const auto& c : cases) {
    CAPTURE(c.key);
    CHECK(creds.OrgForApiKey(c.key) == c.org);
  }
}

TEST_CASE("OrgForLsqKeys needs both keys of one entry") {
  const Credentials creds = Loaded();
  struct Case {
    std::string access, secret;
    std::optional<std::string> org;
  };
  const std::vector<Case> cases = {
      {"u$r-1", "s3cr3t-1", "org1"},
      {"u$r-3", "s3cr3t-3", "org3"},
      {"u$r-1", "s3cr3t-3", std::nullopt},  // keys of two different entries
      {"u$r-3", "s3cr3t-1", std::nullopt},
      {"s3cr3t-1", "u$r-1", std::nullopt},  // swapped
      {"u$r-1", "", std::nullopt},
      {"", "s3cr3t-1", std::nullopt},
      {"", "", std::nullopt},               // org2 and org4 have no LSQ keys
      {"u$r-1", "s3cr3t-", std::nullopt},   // a prefix of the secret
      {"u$r-1", "s3cr3t-11", std::nullopt}, // longer secret
      {"u$r-", "s3cr3t-1", std::nullopt},   // a prefix of the access key
      {"k1-secret", "s3cr3t-1", std::nullopt},
  };
  for (const auto& c : cases) {
    CAPTURE(c.access);
    CAPTURE(c.secret);
    CHECK(creds.OrgForLsqKeys(c.access, c.secret) == c.org);
  }
}

TEST_CASE("HasOrg names only the orgs of the file") {
  const Credentials c = Loaded();
  CHECK(c.HasOrg("org1"));
  CHECK(c.HasOrg("org4"));
  CHECK_FALSE(c.HasOrg("org"));
  CHECK_FALSE(c.HasOrg("org5"));
  CHECK_FALSE(c.HasOrg(""));
}

TEST_CASE("ConstantTimeEquals is plain equality of bytes") {
  struct Case {
    std::string_view a, b;
    bool equal;
  };
  const std::vector<Case> cases = {
      {""sv, ""sv, true},
      {"a"sv, "a"sv, true},
      {"k1-secret"sv, "k1-secret"sv, true},
      {"a"sv, "b"sv, false},
      {"a"sv, "ab"sv, false},
      {"ab"sv, "a"sv, false},
      {""sv, "a"sv, false},
      {"abc\0"sv, "abc"sv, false},  // shorter padded with NUL must still differ
      {"\0"sv, ""sv, false},
      {"abc"sv, "abC"sv, false},
      {"\xff\x01"sv, "\xff\x01"sv, true},
      {"\xff\x01"sv, "\x7f\x01"sv, false},
  };
  for (const auto& c : cases) {
    CAPTURE(std::string(c.a));
    CAPTURE(std::string(c.b));
    CHECK(ConstantTimeEquals(c.a, c.b) == c.equal);
    CHECK(ConstantTimeEquals(c.b, c.a) == c.equal);
  }
}

TEST_CASE("ApiKeyFromAuthorization takes Basic with the key as user name and an empty password, or Bearer") {
  using testing::Base64;
  struct Case {
    std::string header, key;
  };
  const std::vector<Case> cases = {
      {"Basic " + Base64("key-org1:"), "key-org1"},  // curl -u key-org1:
      {"basic " + Base64("key-org1:"), "key-org1"},
      {"BASIC " + Base64("key-org1:"), "key-org1"},
      {"Basic   " + Base64("key-org1:") + "  ", "key-org1"},
      {"  Basic " + Base64("key-org1:"), "key-org1"},
      {"Basic " + Base64("k:"), "k"},                        // "azo=": one padding character
      {"Basic " + Base64("ab:"), "ab"},                      // "YWI6": no padding needed
      {"Basic " + Base64("key:"), "key"},                    // "a2V5Og==": two
      {"Basic a2V5Og", "key"},                               // padding omitted
      {"Basic azo", "k"},
      {"Basic " + Base64("key-org1"), "key-org1"},           // no colon: the whole user-pass is the key
      {"Basic " + Base64("k+/?~\xff:"), "k+/?~\xff"},        // any bytes in the key
      {"Bearer key-org1", "key-org1"},
      {"bearer key-org1", "key-org1"},
      {"BEARER key-org1", "key-org1"},
      {"Bearer   key-org1  ", "key-org1"},
      {"  Bearer key-org1", "key-org1"},
  };
  for (const auto& c : cases) {
    CAPTURE(c.header);
    CHECK(ApiKeyFromAuthorization(c.header) == c.key);
  }
}

TEST_CASE("ApiKeyFromAuthorization refuses a password, malformed base64 and other schemes") {
  using testing::Base64;
  const std::vector<std::string> refused = {
      // A non-empty password, whatever it is.
      "Basic " + Base64("key-org1:password"),
      "Basic " + Base64("key-org1: "),
      "Basic " + Base64("key-org1::"),
      "Basic " + Base64("key-org1:key-org1"),
      // No user name.
      "Basic " + Base64(":"),
      "Basic " + Base64(":key-org1"),
      "Basic " + Base64(""),
      // Malformed base64.
      "Basic !!!!",
      "Basic a2V5Og=",       // padding that does not complete a quantum
      "Basic a2V5Og===",     // too much padding
      "Basic a2V5O===",
      "Basic a2V5Og==a2V5",  // padding inside
      "Basic =a2V5Og=",
      "Basic a2V5O",         // a length no encoding has (4n + 1)
      "Basic a2V5Oh==",      // unused bits not zero: only a2V5Og== spells "key:"
      "Basic azp=",          // likewise for "k:" (azo=)
      "Basic a2V5LW9yZzE6 extra",
      "Basic a2V5\tLW9yZzE6",
      "Basic a2V5-W9yZzE6",  // the URL-safe alphabet is not HTTP Basic's
      "Basic a2V5_W9yZzE6",
      "Basic " + Base64("key-org1:") + "\x80",
      // Not Basic or Bearer, or no credentials after the scheme.
      "", " ", "Basic", "Basic ", "Basic    ", "Bearer", "Bearer ", "key-org1", "Token key-org1",
      "Digest username=\"key-org1\"", "Basickey-org1", "Bearerkey-org1", "Basic\t" + Base64("key-org1:"),
  };
  for (const auto& header : refused) {
    CAPTURE(header);
    CHECK(ApiKeyFromAuthorization(header) == "");
  }
}

TEST_CASE("LoadFile reads a file and names it in errors") {
  testing::TempDir dir;
  const std::string good = dir.path() + "/credentials.json";
  std::ofstream(good) << kCredentials;
  Credentials c;
  REQUIRE_OK(Credentials::LoadFile(good, &c));
  CHECK(c.OrgForApiKey("k2") == std::optional<std::string>("org2"));

  const std::string bad = dir.path() + "/bad.json";
  std::ofstream(bad) << R"([{"api_key": "k"}])";
  Status s = Credentials::LoadFile(bad, &c);
  CHECK(s.IsInvalidArgument());
  CHECK(s.message().find("bad.json") != std::string::npos);

  s = Credentials::LoadFile(dir.path() + "/missing.json", &c);
  CHECK_FALSE(s.ok());
  CHECK(s.message().find("missing.json") != std::string::npos);
}

}  // namespace leadflow::api
