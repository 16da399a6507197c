#include "ingest/dead_letter.h"

#include <algorithm>

#include <nlohmann/json.hpp>

namespace leadflow::ingest {
namespace {

using nlohmann::json;

std::string Dump(const json& j) { return j.dump(-1, ' ', false, json::error_handler_t::replace); }

// The length of the longest prefix of s[0, max) that ends at a character boundary.
size_t Utf8Prefix(std::string_view s, size_t max) {
  if (max >= s.size()) return s.size();
  size_t n = max;
  while (n > 0 && (static_cast<unsigned char>(s[n]) & 0xC0) == 0x80) --n;
  return n;
}

}  // namespace

bool IsUtf8(std::string_view s) {
  size_t i = 0;
  while (i < s.size()) {
    const auto c = static_cast<unsigned char>(s[i]);
    if (c < 0x80) {
      ++i;
      continue;
    }
    size_t n;
    uint32_t cp;
    if (c >= 0xC2 && c <= 0xDF) {
      n = 1;
      cp = c & 0x1Fu;
    } else if (c >= 0xE0 && c <= 0xEF) {
      n = 2;
      cp = c & 0x0Fu;
    } else if (c >= 0xF0 && c <= 0xF4) {
      n = 3;
      cp = c & 0x07u;
    } else {
      return false;
    }
    if (s.size() - i <= n) return false;
    for (size_t k = 1; k <= n; ++k) {
      const auto d = static_cast<unsigned char>(s[i + k]);
      if ((d & 0xC0) != 0x80) return false;
      cp = (cp << 6) | (d & 0x3Fu);
    }
    if ((n == 2 && (cp < 0x800 || (cp >= 0xD800 && cp <= 0xDFFF))) || (n == 3 && (cp < 0x10000 || cp > 0x10FFFF))) {
      return false;
    }
    i += n + 1;
  }
  return true;
}

std::string CutUtf8(std::string_view s, size_t max) {
  if (s.size() <= max) return std::string(s);
  return std::string(s.substr(0, Utf8Prefix(s, max))) + "...";
}

std::string Base64(std::string_view in) {
  static const char* kAlphabet = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
  std::string out;
  out.reserve((in.size() + 2) / 3 * 4);
  size_t i = 0;
  for (; i + 2 < in.size(); i += 3) {
    uint32_t n = (static_cast<uint32_t>(static_cast<uint8_t>(in[i])) << 16) |
                 (static_cast<uint32_t>(static_cast<uint8_t>(in[i + 1])) << 8) | static_cast<uint8_t>(in[i + 2]);
    for (int s = 18; s >= 0; s -= 6) out.push_back(kAlphabet[(n >> s) & 63]);
  }
  if (i < in.size()) {
    uint32_t n = static_cast<uint32_t>(static_cast<uint8_t>(in[i])) << 16;
    if (i + 1 < in.size()) n |= static_cast<uint32_t>(static_cast<uint8_t>(in[i + 1])) << 8;
    out.push_back(kAlphabet[(n >> 18) & 63]);
    out.push_back(kAlphabet[(n >> 12) & 63]);
    out.push_back(i + 1 < in.size() ? kAlphabet[(n >> 6) & 63] : '=');
    out.push_back('=');
  }
  return out;
}

std::string DeadLetterEnvelope(const DeadLetter& d, size_t max_bytes, bool omit_original) {
  max_bytes = std::max(max_bytes, kMinEnvelopeBytes);
  json j = {{"reason", CutUtf8(d.reason, kMaxReasonBytes)},
            {"topic", d.source.topic},
            {"partition", d.source.partition},
            {"offset", d.offset},
            {"key", d.key ? json(CutUtf8(*d.key, kMaxKeyBytes)) : json()}};
  const bool text = IsUtf8(d.value);
  auto put = [&](std::string_view part, bool truncated) {
    if (text) {
      j["original"] = std::string(part);
      j.erase("original_base64");
    } else {
      j["original"] = nullptr;
      j["original_base64"] = Base64(part);
    }
    if (truncated) {
      j["original_truncated"] = true;
      j["original_bytes"] = d.value.size();
    }
  };
  if (omit_original) {
    j["original"] = nullptr;
    j["original_truncated"] = true;
    j["original_bytes"] = d.value.size();
    return Dump(j);
  }
  put(d.value, false);
  std::string out = Dump(j);
  if (out.size() <= max_bytes) return out;
  // Too big: cut the copy. JSON escaping can make text up to 6x its size
  // and base64 is 4/3, so shrink by the measured overshoot until it fits.
  size_t keep = d.value.size();
  while (out.size() > max_bytes && keep > 0) {
    const double ratio = static_cast<double>(max_bytes - 256) / static_cast<double>(out.size());
    keep = std::min(keep - 1, static_cast<size_t>(static_cast<double>(keep) * ratio));
    if (text) keep = Utf8Prefix(d.value, keep);
    put(std::string_view(d.value).substr(0, keep), true);
    out = Dump(j);
  }
  return out;
}

}  // namespace leadflow::ingest
