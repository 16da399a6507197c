#include "views/keys.h"

#include "views/time.h"

#include <algorithm>
#include <cstring>

namespace leadflow::views::keys {

void AppendStr(std::string* out, std::string_view s) {
  size_t n = s.size() > 0xFFFF ? 0xFFFF : s.size();
  out->push_back(static_cast<char>(n >> 8));
  out->push_back(static_cast<char>(n & 0xFF));
  out->append(s.data(), n);
}

void AppendU32(std::string* out, uint32_t v) {
  for (int shift = 24; shift >= 0; shift -= 8) out->push_back(static_cast<char>((v >> shift) & 0xFF));
}

void AppendI64(std::string* out, int64_t v) {
  uint64_t u = static_cast<uint64_t>(v) ^ (uint64_t{1} << 63);
  for (int shift = 56; shift >= 0; shift -= 8) out->push_back(static_cast<char>((u >> shift) & 0xFF));
}

int64_t ReadI64(std::string_view s, size_t pos) {
  uint64_t u = 0;
  for (size_t i = 0; i < 8; ++i) u = (u << 8) | static_cast<unsigned char>(s[pos + i]);
  return static_cast<int64_t>(u ^ (uint64_t{1} << 63));
}

uint32_t ReadU32(std::string_view s, size_t pos) {
  uint32_t u = 0;
  for (size_t i = 0; i < 4; ++i) u = (u << 8) | static_cast<unsigned char>(s[pos + i]);
  return u;
}

std::optional<std::string_view> ReadStr(std::string_view s, size_t* pos) {
  if (*pos + 2 > s.size()) return std::nullopt;
  size_t n = (static_cast<unsigned char>(s[*pos]) << 8) | static_cast<unsigned char>(s[*pos + 1]);
  if (*pos + 2 + n > s.size()) return std::nullopt;
  std::string_view out = s.substr(*pos + 2, n);
  *pos += 2 + n;
  return out;
}

std::string PrefixEnd(std::string prefix) {
  while (!prefix.empty()) {
    unsigned char c = static_cast<unsigned char>(prefix.back());
    if (c != 0xFF) {
      prefix.back() = static_cast<char>(c + 1);
      return prefix;
    }
    prefix.pop_back();
  }
  return std::string(1, '\xFF');  // everything sorts below this for our keys
}

namespace {
// org's prefix (OrgPrefix) appended to *out.
void AppendOrgPrefix(std::string* out, std::string_view org) {
  out->append(org);
  out->push_back('\0');
}
// The prefixes of DateDayBitmap and DateEntry keys appended to *out.
void AppendDateDayPrefix(std::string* out, std::string_view org, std::string_view attr) {
  AppendOrgPrefix(out, org);
  out->push_back('W');
  AppendStr(out, attr);
}
void AppendDateEntryPrefix(std::string* out, std::string_view org, std::string_view attr) {
  AppendOrgPrefix(out, org);
  AppendStr(out, attr);
}
}  // namespace

std::string OrgPrefix(std::string_view org) {
  std::string k;
  AppendOrgPrefix(&k, org);
  return k;
}

void AssignOrgAndStr(std::string* out, std::string_view org, std::string_view s) {
  out->clear();
  out->reserve(org.size() + 3 + std::min<size_t>(s.size(), 0xFFFF));  // one allocation, not one per growth
  out->append(org);
  out->push_back('\0');
  AppendStr(out, s);
}

namespace {
std::string OrgAndStr(std::string_view org, std::string_view s) {
  std::string k;
  AssignOrgAndStr(&k, org, s);
  return k;
}
}  // namespace

std::string Event(std::string_view org, std::string_view event_id) { return OrgAndStr(org, event_id); }
std::string Lead(std::string_view org, std::string_view lead_id) { return OrgAndStr(org, lead_id); }
std::string Status(std::string_view org, std::string_view status_id) { return OrgAndStr(org, status_id); }
std::string User(std::string_view org, std::string_view user_id) { return OrgAndStr(org, user_id); }

std::string LeadId(std::string_view org, uint32_t lead_num) {
  std::string k = OrgPrefix(org);
  AppendU32(&k, lead_num);
  return k;
}

std::string StatusSubject(std::string_view status_id) {
  std::string k;
  AppendStr(&k, status_id);
  return k;
}

std::string PairSubject(const std::optional<std::string>& from, std::string_view to) {
  // A null "from" is a 0xFFFF length marker, distinct from every real id.
  std::string k;
  if (from) {
    AppendStr(&k, *from);
  } else {
    k.append("\xFF\xFF", 2);
  }
  AppendStr(&k, to);
  return k;
}

std::string Pair(std::string_view org, const std::optional<std::string>& from, std::string_view to) {
  return OrgPrefix(org) + PairSubject(from, to);
}

void AssignBitmapChunk(std::string* out, std::string_view logical, uint32_t chunk) {
  out->assign(logical);
  AppendBitmapChunkSuffix(out, chunk);
}

void AppendBitmapChunkSuffix(std::string* out, uint32_t chunk) {
  out->push_back(static_cast<char>((chunk >> 8) & 0xFF));
  out->push_back(static_cast<char>(chunk & 0xFF));
}

std::string BitmapChunk(std::string_view logical, uint32_t chunk) {
  std::string k;
  AssignBitmapChunk(&k, logical, chunk);
  return k;
}

std::string BitmapChunksEnd(std::string_view logical) {
  std::string k(logical);
  k.append("\xFF\xFF\x00", 3);
  return k;
}

std::string BitmapPrefix(std::string_view org, Kind kind, std::string_view subject, Level level) {
  std::string k = OrgPrefix(org);
  k.push_back(static_cast<char>(kind));
  k.append(subject);
  k.push_back(static_cast<char>(level));
  return k;
}

std::string Bitmap(std::string_view org, Kind kind, std::string_view subject, Level level, int64_t unit) {
  std::string k = BitmapPrefix(org, kind, subject, level);
  AppendI64(&k, unit);
  return k;
}

std::string LogDayPrefix(std::string_view org, int64_t day) {
  std::string k = OrgPrefix(org);
  AppendI64(&k, day);
  return k;
}

std::string Log(std::string_view org, int64_t day, int64_t at_ms, uint32_t lead_num, uint32_t index) {
  std::string k = LogDayPrefix(org, day);
  AppendI64(&k, at_ms);
  AppendU32(&k, lead_num);
  AppendU32(&k, index);
  return k;
}

std::string_view SplitLogEntry(std::string_view log_key, std::string* hour_key) {
  constexpr size_t kId = 16;  // AppendI64 + AppendU32 + AppendU32, as Log writes them
  const size_t at = log_key.size() - kId;
  const int64_t at_ms = ReadI64(log_key, at);
  hour_key->assign(log_key.substr(0, at));
  hour_key->push_back(static_cast<char>((at_ms - DayStartMs(DayOf(at_ms))) / kLogHourMs));
  return log_key.substr(at);
}

std::optional<int64_t> LogHourStartMs(std::string_view hour_key, size_t day_prefix_size, int64_t day) {
  if (hour_key.size() != day_prefix_size + 1) return std::nullopt;
  return DayStartMs(day) + static_cast<unsigned char>(hour_key[day_prefix_size]) * kLogHourMs;
}

LogKeyParts ParseLogId(std::string_view id) { return LogKeyParts{ReadI64(id, 0), ReadU32(id, 8)}; }

std::string TypedBool(bool v) {
  std::string k;
  AppendTypedBool(&k, v);
  return k;
}

std::string TypedNumber(double v) {
  std::string k;
  AppendTypedNumber(&k, v);
  return k;
}

std::string TypedString(std::string_view v) {
  std::string k;
  AppendTypedString(&k, v);
  return k;
}

void AppendTypedBool(std::string* out, bool v) {
  out->push_back('B');
  out->push_back(v ? '\1' : '\0');
}

void AppendTypedNumber(std::string* out, double v) {
  if (v == 0) v = 0;  // -0 == 0
  uint64_t bits;
  std::memcpy(&bits, &v, sizeof(bits));
  bits = (bits & (uint64_t{1} << 63)) ? ~bits : bits ^ (uint64_t{1} << 63);
  out->push_back('N');
  for (int shift = 56; shift >= 0; shift -= 8) out->push_back(static_cast<char>((bits >> shift) & 0xFF));
}

void AppendTypedString(std::string* out, std::string_view v) {
  // 0 bytes are escaped as 00 FF and the value ends with 00 00, so that keys
  // sort by value and a value is never a prefix of another's key.
  out->push_back('S');
  for (char c : v) {
    out->push_back(c);
    if (c == '\0') out->push_back('\xFF');
  }
  out->append("\0\0", 2);
}

std::optional<nlohmann::json> DecodeTyped(std::string_view t) {
  if (t.empty()) return std::nullopt;
  if (t[0] == 'B' && t.size() == 2) return nlohmann::json(t[1] != 0);
  if (t[0] == 'N' && t.size() == 9) {
    uint64_t bits = 0;
    for (size_t i = 1; i < 9; ++i) bits = (bits << 8) | static_cast<unsigned char>(t[i]);
    bits = (bits & (uint64_t{1} << 63)) ? bits ^ (uint64_t{1} << 63) : ~bits;
    double v;
    std::memcpy(&v, &bits, sizeof(v));
    if (v == static_cast<double>(static_cast<int64_t>(v)) && v > -9e15 && v < 9e15) {
      return nlohmann::json(static_cast<int64_t>(v));
    }
    return nlohmann::json(v);
  }
  if (t[0] == 'S' && t.size() >= 3) {
    std::string out;
    for (size_t i = 1; i + 2 < t.size(); ++i) {
      out.push_back(t[i]);
      if (t[i] == '\0') ++i;  // skip the escape byte
    }
    return nlohmann::json(out);
  }
  return std::nullopt;
}

std::string ValuePrefix(std::string_view org, std::string_view attr) {
  std::string k;
  AppendValuePrefix(&k, org, attr);
  return k;
}

std::string ValueBitmap(std::string_view org, std::string_view attr, std::string_view typed) {
  return ValuePrefix(org, attr) + std::string(typed);
}

std::string HasBitmap(std::string_view org, std::string_view attr) {
  std::string k;
  AppendHasBitmap(&k, org, attr);
  return k;
}

std::string ExactKeyBitmap(std::string_view org, std::string_view key) {
  std::string k;
  AppendExactKeyBitmap(&k, org, key);
  return k;
}

std::string UniverseBitmap(std::string_view org) {
  std::string k;
  AppendUniverseBitmap(&k, org);
  return k;
}

std::string DateDayPrefix(std::string_view org, std::string_view attr) {
  std::string k;
  AppendDateDayPrefix(&k, org, attr);
  return k;
}

std::string DateDayBitmap(std::string_view org, std::string_view attr, int64_t day) {
  std::string k;
  AppendDateDayBitmap(&k, org, attr, day);
  return k;
}

void AppendValuePrefix(std::string* out, std::string_view org, std::string_view attr) {
  AppendOrgPrefix(out, org);
  out->push_back('V');
  AppendStr(out, attr);
}

void AppendHasBitmap(std::string* out, std::string_view org, std::string_view attr) {
  AppendOrgPrefix(out, org);
  out->push_back('H');
  AppendStr(out, attr);
}

void AppendExactKeyBitmap(std::string* out, std::string_view org, std::string_view key) {
  AppendOrgPrefix(out, org);
  out->push_back('K');
  AppendStr(out, key);
}

void AppendUniverseBitmap(std::string* out, std::string_view org) {
  AppendOrgPrefix(out, org);
  out->push_back('U');
}

void AppendDateDayBitmap(std::string* out, std::string_view org, std::string_view attr, int64_t day) {
  AppendDateDayPrefix(out, org, attr);
  AppendI64(out, day);
}

void AppendDateEntry(std::string* out, std::string_view org, std::string_view attr, int64_t at_ms, uint32_t lead_num) {
  AppendDateEntryPrefix(out, org, attr);
  AppendI64(out, at_ms);
  AppendU32(out, lead_num);
}

std::string DateEntryPrefix(std::string_view org, std::string_view attr) {
  std::string k;
  AppendDateEntryPrefix(&k, org, attr);
  return k;
}

std::string DateEntriesDay(std::string_view org, std::string_view attr, int64_t day) {
  std::string k = DateEntryPrefix(org, attr);
  AppendI64(&k, day);
  return k;
}

std::string_view SplitDateEntry(std::string_view entry_key, std::string* day_key) {
  constexpr size_t kEntry = 12;  // AppendI64 + AppendU32, as DateEntry writes them
  const size_t at = entry_key.size() - kEntry;
  day_key->assign(entry_key.substr(0, at));
  AppendI64(day_key, DayOf(ReadI64(entry_key, at)));
  return entry_key.substr(at);
}

int64_t DateEntryInstant(std::string_view entry) { return ReadI64(entry, 0); }
uint32_t DateEntryLead(std::string_view entry) { return ReadU32(entry, 8); }

std::string DateEntry(std::string_view org, std::string_view attr, int64_t at_ms, uint32_t lead_num) {
  std::string k;
  AppendDateEntry(&k, org, attr, at_ms, lead_num);
  return k;
}

std::string ActivityBitmap(std::string_view org, int64_t code, Level level, int64_t unit) {
  std::string k = OrgPrefix(org);
  k.push_back('a');
  AppendI64(&k, code);
  k.push_back(static_cast<char>(level));
  AppendI64(&k, unit);
  return k;
}

std::string ActivityDayPrefix(std::string_view org, int64_t day) {
  std::string k = OrgPrefix(org);
  AppendI64(&k, day);
  return k;
}

std::string ActivityLogBatch(std::string_view day_prefix, uint64_t batch_seq) {
  std::string k(day_prefix);
  AppendI64(&k, static_cast<int64_t>(batch_seq));
  return k;
}

void AppendActivityEntry(std::string* out, const ActivityEntry& e) {
  AppendI64(out, e.at_ms);
  AppendU32(out, e.lead_num);
  AppendI64(out, e.code);
}

bool ReadActivityEntries(std::string_view value, std::vector<ActivityEntry>* out) {
  if (value.size() % kActivityEntryBytes != 0) return false;
  for (size_t pos = 0; pos < value.size(); pos += kActivityEntryBytes) {
    out->push_back({ReadI64(value, pos), ReadU32(value, pos + 8), ReadI64(value, pos + 12)});
  }
  return true;
}

std::string ConsumerOffset(std::string_view topic, int32_t partition) {
  std::string k("offset", 7);  // includes the terminating 0 byte
  AppendStr(&k, topic);
  AppendU32(&k, static_cast<uint32_t>(partition));
  return k;
}

std::string MetaSequence() { return std::string("seq", 3); }

std::string MetaFormat() { return "format"; }

std::string MetaLeadCounter(std::string_view org) {
  std::string k("leadctr", 8);  // includes the terminating 0 byte
  return k + std::string(org);
}

std::string MetaTopic() { return std::string("topic", 6); }

std::string MetaClusterViews() { return std::string("clusterviews", 13); }

std::string ShardsPrefix() { return std::string("shard", 6); }

std::string ShardPrefix(uint32_t shard) {
  std::string k = ShardsPrefix();
  AppendU32(&k, shard);
  return k;
}

namespace {
std::string ShardKey(uint32_t shard, ShardKeyTag tag, std::string_view rest) {
  std::string k = ShardPrefix(shard);
  k.push_back(static_cast<char>(tag));
  k.append(rest);
  return k;
}
}  // namespace

std::string ShardTotal(uint32_t shard, std::string_view name) { return ShardKey(shard, ShardKeyTag::kTotal, name); }
std::string ShardOrg(uint32_t shard, std::string_view org) { return ShardKey(shard, ShardKeyTag::kOrg, org); }
std::string ShardNextOffset(uint32_t shard) { return ShardKey(shard, ShardKeyTag::kNextOffset, ""); }
std::string ShardRerouteMark(uint32_t shard, int32_t origin) {
  std::string rest;
  AppendU32(&rest, static_cast<uint32_t>(origin));
  return ShardKey(shard, ShardKeyTag::kRerouteMark, rest);
}

std::optional<ShardKeyParts> ParseShardKey(std::string_view key) {
  const size_t base = ShardsPrefix().size();
  if (key.size() < base + 5 || key.substr(0, base) != ShardsPrefix()) return std::nullopt;
  const char tag = key[base + 4];
  if (tag != 't' && tag != 'o' && tag != 'n' && tag != 'r') return std::nullopt;
  if (tag == 'r' && key.size() != base + 9) return std::nullopt;
  return ShardKeyParts{ReadU32(key, base), static_cast<ShardKeyTag>(tag), key.substr(base + 5)};
}

}  // namespace leadflow::views::keys
