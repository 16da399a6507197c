// Credentials: the API keys of contract section 4, loaded from a JSON file
// [{"org_id", "api_key", "lsq_access_key", "lsq_secret_key"}].
//
// Lookups compare every stored secret in constant time (no early exit on the
// first differing byte, no short-circuit across entries), so response timing
// reveals neither a key nor which entry matched. Secrets are never logged.
//
// Thread safety: immutable after Load; any thread may call the lookups.
#ifndef LEADFLOW_API_CREDENTIALS_H_
#define LEADFLOW_API_CREDENTIALS_H_

#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "state/status.h"

namespace leadflow::api {

class Credentials {
 public:
  struct Entry {
    std::string org_id;
    std::string api_key;         // may be empty: no Close-compatible access
    std::string lsq_access_key;  // may be empty: no LeadSquared-compatible access
    std::string lsq_secret_key;
  };

  // Parses the file's JSON text. InvalidArgument names the problem.
  static Status Parse(std::string_view json_text, Credentials* out);
  static Status LoadFile(const std::string& path, Credentials* out);

  // The org of the entry whose api_key equals key; nullopt when none does.
  std::optional<std::string> OrgForApiKey(std::string_view key) const;
  // The org of the entry whose access and secret keys both match.
  std::optional<std::string> OrgForLsqKeys(std::string_view access_key, std::string_view secret_key) const;
  // True when some entry names the org.
  bool HasOrg(std::string_view org) const;

  size_t size() const { return entries_.size(); }

 private:
  std::vector<Entry> entries_;
};

// Compares a and b in time that depends only on their lengths' maximum.
bool ConstantTimeEquals(std::string_view a, std::string_view b);

// The Close API key that an Authorization header value presents (contract
// section 2): "Basic base64(KEY:)", HTTP Basic (RFC 7617) with the key as user
// name and an EMPTY password, as `curl -u KEY:` sends it; or "Bearer KEY".
// Scheme names are ASCII case-insensitive; blanks around the value and the
// token are ignored. A Basic user-pass without any colon, base64(KEY), is
// taken whole as the key, as it always was.
// Returns "" (the caller answers 401) when the header is neither form, when
// the base64 is malformed (RFC 4648 standard alphabet; "=" padding only at
// the end, complete or omitted; unused bits zero), or when the password is
// not empty: a key with a password is not a credential of this API.
// Only parses: the key is checked by Credentials::OrgForApiKey.
std::string ApiKeyFromAuthorization(std::string_view header);

}  // namespace leadflow::api

#endif  // LEADFLOW_API_CREDENTIALS_H_
