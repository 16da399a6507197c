#include "ingest/dead_letter.h"

#include <algorithm>

#include <nlohmann/json.hpp>

#include "views/utf8.h"

namespace leadflow::ingest {
namespace {

using nlohmann::json;

std::string Dump(const json& j) { return j.dump(-1, ' ', false, json::error_handler_t::replace); }

}  // namespace

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
  json j = {{"reason", views::CutUtf8(d.reason, kMaxReasonBytes)},
            {"topic", d.source.topic},
            {"partition", d.source.partition},
            {"offset", d.offset},
            {"key", d.key ? json(views::CutUtf8(*d.key, kMaxKeyBytes)) : json()}};
  const bool text = views::IsValidUtf8(d.value);
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
    if (text) keep = views::Utf8PrefixLength(d.value, keep);
    put(std::string_view(d.value).substr(0, keep), true);
    out = Dump(j);
  }
  return out;
}

}  // namespace leadflow::ingest
