#include "api/credentials.h"

#include <fstream>
#include <sstream>

#include <nlohmann/json.hpp>

namespace leadflow::api {

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

bool Credentials::HasOrg(std::string_view org) const {
  for (const auto& e : entries_) {
    if (e.org_id == org) return true;
  }
  return false;
}

}  // namespace leadflow::api
