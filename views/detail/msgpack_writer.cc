#include "views/detail/msgpack_writer.h"

#include <bit>
#include <cstring>
#include <limits>

namespace leadflow::views::detail {
namespace {

using nlohmann::json;

template <typename T>
void PutBig(std::string* out, T v) {
  // Big-endian, as MessagePack stores every multi-byte number.
  char b[sizeof(T)];
  std::memcpy(b, &v, sizeof(T));
  if constexpr (std::endian::native == std::endian::little) {
    for (size_t i = 0; i < sizeof(T) / 2; ++i) std::swap(b[i], b[sizeof(T) - 1 - i]);
  }
  out->append(b, sizeof(T));
}

void PutByte(std::string* out, unsigned v) { out->push_back(static_cast<char>(v)); }

void PutUnsigned(std::string* out, uint64_t v) {
  if (v < 128) {
    PutByte(out, static_cast<unsigned>(v));
  } else if (v <= std::numeric_limits<uint8_t>::max()) {
    PutByte(out, 0xCC);
    PutByte(out, static_cast<unsigned>(v));
  } else if (v <= std::numeric_limits<uint16_t>::max()) {
    PutByte(out, 0xCD);
    PutBig(out, static_cast<uint16_t>(v));
  } else if (v <= std::numeric_limits<uint32_t>::max()) {
    PutByte(out, 0xCE);
    PutBig(out, static_cast<uint32_t>(v));
  } else {
    PutByte(out, 0xCF);
    PutBig(out, v);
  }
}

void PutFloat(std::string* out, double n) {
  // nlohmann's write_compact_float: float32 when the value survives it.
#pragma GCC diagnostic push
#pragma GCC diagnostic ignored "-Wfloat-equal"
  if (n >= static_cast<double>(std::numeric_limits<float>::lowest()) &&
      n <= static_cast<double>(std::numeric_limits<float>::max()) &&
      static_cast<double>(static_cast<float>(n)) == n) {
#pragma GCC diagnostic pop
    PutByte(out, 0xCA);
    PutBig(out, std::bit_cast<uint32_t>(static_cast<float>(n)));
  } else {
    PutByte(out, 0xCB);
    PutBig(out, std::bit_cast<uint64_t>(n));
  }
}

void PutBinary(std::string* out, const json::binary_t& b) {
  const size_t n = b.size();
  const bool ext = b.has_subtype();
  if (n <= std::numeric_limits<uint8_t>::max()) {
    unsigned type = 0xC4;
    bool fixed = false;
    if (ext) {
      switch (n) {
        case 1: type = 0xD4, fixed = true; break;
        case 2: type = 0xD5, fixed = true; break;
        case 4: type = 0xD6, fixed = true; break;
        case 8: type = 0xD7, fixed = true; break;
        case 16: type = 0xD8, fixed = true; break;
        default: type = 0xC7; break;
      }
    }
    PutByte(out, type);
    if (!fixed) PutByte(out, static_cast<unsigned>(n));
  } else if (n <= std::numeric_limits<uint16_t>::max()) {
    PutByte(out, ext ? 0xC8 : 0xC5);
    PutBig(out, static_cast<uint16_t>(n));
  } else {
    PutByte(out, ext ? 0xC9 : 0xC6);
    PutBig(out, static_cast<uint32_t>(n));
  }
  if (ext) PutByte(out, static_cast<uint8_t>(static_cast<int8_t>(b.subtype())));
  out->append(reinterpret_cast<const char*>(b.data()), n);
}

// An array's or a map's header: fixarray/fixmap up to 15 items, then the
// 16- and 32-bit forms (array: 0x90, 0xDC, 0xDD; map: 0x80, 0xDE, 0xDF).
void PutContainerHeader(std::string* out, size_t n, unsigned fix, unsigned code16, unsigned code32) {
  if (n <= 15) {
    PutByte(out, fix | static_cast<unsigned>(n));
  } else if (n <= std::numeric_limits<uint16_t>::max()) {
    PutByte(out, code16);
    PutBig(out, static_cast<uint16_t>(n));
  } else {
    PutByte(out, code32);
    PutBig(out, static_cast<uint32_t>(n));
  }
}
void PutArrayHeader(std::string* out, size_t n) { PutContainerHeader(out, n, 0x90, 0xDC, 0xDD); }

}  // namespace

void AppendMsgpackNil(std::string* out) { PutByte(out, 0xC0); }

void AppendMsgpackInt(std::string* out, int64_t v) {
  if (v >= 0) {
    PutUnsigned(out, static_cast<uint64_t>(v));
  } else if (v >= -32) {
    PutByte(out, static_cast<uint8_t>(static_cast<int8_t>(v)));
  } else if (v >= std::numeric_limits<int8_t>::min()) {
    PutByte(out, 0xD0);
    PutByte(out, static_cast<uint8_t>(static_cast<int8_t>(v)));
  } else if (v >= std::numeric_limits<int16_t>::min()) {
    PutByte(out, 0xD1);
    PutBig(out, static_cast<int16_t>(v));
  } else if (v >= std::numeric_limits<int32_t>::min()) {
    PutByte(out, 0xD2);
    PutBig(out, static_cast<int32_t>(v));
  } else {
    PutByte(out, 0xD3);
    PutBig(out, v);
  }
}

void AppendMsgpackStr(std::string* out, std::string_view s) {
  const size_t n = s.size();
  if (n <= 31) {
    PutByte(out, 0xA0 | static_cast<unsigned>(n));
  } else if (n <= std::numeric_limits<uint8_t>::max()) {
    PutByte(out, 0xD9);
    PutByte(out, static_cast<unsigned>(n));
  } else if (n <= std::numeric_limits<uint16_t>::max()) {
    PutByte(out, 0xDA);
    PutBig(out, static_cast<uint16_t>(n));
  } else {
    PutByte(out, 0xDB);
    PutBig(out, static_cast<uint32_t>(n));
  }
  out->append(s);
}

void AppendMsgpackMapHeader(std::string* out, size_t n) { PutContainerHeader(out, n, 0x80, 0xDE, 0xDF); }

void AppendMsgpack(std::string* out, const json& j) {
  switch (j.type()) {
    case json::value_t::null:
    case json::value_t::discarded:
      AppendMsgpackNil(out);
      return;
    case json::value_t::boolean:
      PutByte(out, j.get<bool>() ? 0xC3 : 0xC2);
      return;
    case json::value_t::number_integer:
      AppendMsgpackInt(out, j.get<int64_t>());
      return;
    case json::value_t::number_unsigned:
      PutUnsigned(out, j.get<uint64_t>());
      return;
    case json::value_t::number_float:
      PutFloat(out, j.get<double>());
      return;
    case json::value_t::string:
      AppendMsgpackStr(out, j.get_ref<const std::string&>());
      return;
    case json::value_t::binary:
      PutBinary(out, j.get_binary());
      return;
    case json::value_t::array:
      PutArrayHeader(out, j.size());
      for (const json& el : j) AppendMsgpack(out, el);
      return;
    case json::value_t::object:
      AppendMsgpackMapHeader(out, j.size());
      for (auto it = j.begin(); it != j.end(); ++it) {
        AppendMsgpackStr(out, it.key());
        AppendMsgpack(out, it.value());
      }
      return;
  }
}

}  // namespace leadflow::views::detail
