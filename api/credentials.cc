#include "api/credentials.h"

#include <cstdint>
#include <fstream>
#include <sstream>

#include <nlohmann/json.hpp>

#include "views/ascii.h"

namespace leadflow::api {

namespace {

// The value of a base64 digit (RFC 4648 section 4), -1 for anything else.
int Base64Digit(char c) {
  if (c >= 'A' && c <= 'Z') return c - 'A';
  if (c >= 'a' && c <= 'z') return c - 'a' + 26;
  if (c >= '0' && c <= '9') return c - '0' + 52;
  if (c == '+') return 62;
  if (c == '/') return 63;
  return -1;
}

// Strict base64: false for a character outside the alphabet, misplaced or
// excess padding, a length no encoding produces, or non-zero unused bits, so
// that each credential has exactly one accepted spelling (padding aside).
bool DecodeBase64(std::string_view in, std::string* out) {
  out->clear();
  size_t padding = 0;
  while (padding < 2 && !in.empty() && in.back() == '=') {
    in.remove_suffix(1);
    ++padding;
  }
  if (in.size() % 4 == 1 || (padding > 0 && (in.size() + padding) % 4 != 0)) return false;
  uint32_t acc = 0;
  int bits = 0;
  for (char c : in) {
    const int v = Base64Digit(c);
    if (v < 0) return false;
    acc = (acc << 6) | static_cast<uint32_t>(v);
    bits += 6;
    if (bits >= 8) {
      bits -= 8;
      out->push_back(static_cast<char>((acc >> bits) & 0xFFu));
    }
  }
  return (acc & ((1u << bits) - 1u)) == 0;
}

bool IsBlank(char c) { return c == ' ' || c == '\t'; }

std::string_view TrimBlanks(std::string_view s) {
  while (!s.empty() && IsBlank(s.front())) s.remove_prefix(1);
  while (!s.empty() && IsBlank(s.back())) s.remove_suffix(1);
  return s;
}

}  // namespace

bool ConstantTimeEquals(std::string_view a, std::string_view b) {
  const size_t n = std::max(a.size(), b.size());
  volatile unsigned char diff = static_cast<unsigned char>(a.size() != b.size());
  for (size_t i = 0; i < n; ++i) {
    unsigned char x = i < a.size() ? static_cast<unsigned char>(a[i]) : 0;
    unsigned char y = i < b.size() ? static_cast<unsigned char>(b[i]) : 0;
    diff = static_cast<unsigned char>(diff | (x ^ y));
  }
  return diff == 0;
}

Status Credentials::Parse(std::string_view json_text, Credentials* out) {
  nlohmann::json doc = nlohmann::json::parse(json_text.begin(), json_text.end(), nullptr, false);
  if (doc.is_discarded() || !doc.is_array()) {
    return Status::InvalidArgument("credentials must be a JSON array of objects");
  }
  Credentials c;
  for (size_t i = 0; i < doc.size(); ++i) {
    const auto& e = doc[i];
    const std::string where = "credentials entry " + std::to_string(i);
    if (!e.is_object()) return Status::InvalidArgument(where + " is not an object");
    Entry entry;
    auto str = [&](const char* name, std::string* field) -> bool {
      auto it = e.find(name);
      if (it == e.end() || it->is_null()) return true;
      if (!it->is_string()) return false;
      *field = it->get<std::string>();
      return true;
    };
    if (!str("org_id", &entry.org_id) || entry.org_id.empty()) {
      return Status::InvalidArgument(where + " needs a string org_id");
    }
    if (!str("api_key", &entry.api_key) || !str("lsq_access_key", &entry.lsq_access_key) ||
        !str("lsq_secret_key", &entry.lsq_secret_key)) {
      return Status::InvalidArgument(where + ": keys must be strings");
    }
    if (entry.lsq_access_key.empty() != entry.lsq_secret_key.empty()) {
      return Status::InvalidArgument(where + ": lsq_access_key and lsq_secret_key come together");
    }
    c.entries_.push_back(std::move(entry));
  }
  *out = std::move(c);
  return Status::Ok();
}

Status Credentials::LoadFile(const std::string& path, Credentials* out) {
  std::ifstream f(path);
  if (!f) return Status::IoError("cannot read credentials file " + path);
  std::stringstream ss;
  ss << f.rdbuf();
  Status s = Parse(ss.str(), out);
  if (!s.ok()) return Status::InvalidArgument(path + ": " + s.message());
  return s;
}

std::optional<std::string> Credentials::OrgForApiKey(std::string_view key) const {
  std::optional<std::string> found;
  if (key.empty()) return found;
  for (const auto& e : entries_) {
    // Every entry is compared, whatever matched before.
    bool match = !e.api_key.empty() & ConstantTimeEquals(e.api_key, key);
    if (match && !found) found = e.org_id;
  }
  return found;
}

std::optional<std::string> Credentials::OrgForLsqKeys(std::string_view access_key, std::string_view secret_key) const {
  std::optional<std::string> found;
  if (access_key.empty() || secret_key.empty()) return found;
  for (const auto& e : entries_) {
    bool match = !e.lsq_access_key.empty() & ConstantTimeEquals(e.lsq_access_key, access_key) &
                 ConstantTimeEquals(e.lsq_secret_key, secret_key);
    if (match && !found) found = e.org_id;
  }
  return found;
}

std::string ApiKeyFromAuthorization(std::string_view header) {
  header = TrimBlanks(header);
  const size_t space = header.find(' ');
  if (space == std::string_view::npos) return "";  // a scheme without credentials
  const std::string_view scheme = header.substr(0, space);
  const std::string_view token = TrimBlanks(header.substr(space + 1));
  if (views::EqualsNoCase(scheme, "Basic")) {
    std::string user_pass;
    if (!DecodeBase64(token, &user_pass)) return "";
    const size_t colon = user_pass.find(':');
    if (colon == std::string::npos) return user_pass;
    if (colon + 1 != user_pass.size()) return "";  // a non-empty password
    user_pass.resize(colon);
    return user_pass;
  }
  if (views::EqualsNoCase(scheme, "Bearer")) return std::string(token);
  return "";
}

bool Credentials::HasOrg(std::string_view org) const {
  for (const auto& e : entries_) {
    if (e.org_id == org) return true;
  }
  return false;
}

}  // namespace leadflow::api
