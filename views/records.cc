#include "views/records.h"

#include <algorithm>

#include "views/detail/msgpack_writer.h"

namespace leadflow::views {
namespace {

using nlohmann::json;

json TimeJ(const EventTime& t) { return json::array({t.at_ms, t.seq}); }
EventTime TimeFrom(const json& j) { return EventTime{j.at(0).get<int64_t>(), j.at(1).get<uint64_t>()}; }

std::string ToBytes(const json& j) {
  std::vector<std::uint8_t> v = json::to_msgpack(j);
  return std::string(v.begin(), v.end());
}

// Decodes msgpack bytes and runs fill; any failure is a Corruption.
template <typename Fill>
Status FromBytes(std::string_view bytes, const char* what, Fill fill) {
  try {
    json j = json::from_msgpack(bytes.begin(), bytes.end());
    fill(j);
    return Status::Ok();
  } catch (const std::exception& e) {
    return Status::Corruption(std::string("bad ") + what + " record: " + e.what());
  }
}

}  // namespace

// A lead record's binary layout (state format 7): 'L', then varints
// (LEB128; signed ones zigzagged) and length-prefixed strings: num, flags
// (1 created, 2 deleted, 4 last activity), [created: time, status, owner,
// fields], extra creations, the changes (count, then time and status each),
// the updates (count, then time, fields and owner each), [last activity:
// instant, name]. A time is at_ms then seq; an optional string a presence
// byte then the string; fields are msgpack (nlohmann), empty for null.
namespace {

constexpr char kLeadTag = 'L';

void PutVarint(std::string* out, uint64_t v) {
  while (v >= 0x80) {
    out->push_back(static_cast<char>((v & 0x7F) | 0x80));
    v >>= 7;
  }
  out->push_back(static_cast<char>(v));
}
void PutSigned(std::string* out, int64_t v) {
  PutVarint(out, (static_cast<uint64_t>(v) << 1) ^ static_cast<uint64_t>(v >> 63));
}
void PutStr(std::string* out, std::string_view s) {
  PutVarint(out, s.size());
  out->append(s);
}
void PutOptStr(std::string* out, const std::optional<std::string>& s) {
  out->push_back(s ? 1 : 0);
  if (s) PutStr(out, *s);
}
void PutTime(std::string* out, const EventTime& t) {
  PutSigned(out, t.at_ms);
  PutVarint(out, t.seq);
}
void PutFields(std::string* out, const json& fields) {
  if (fields.is_null()) {
    PutVarint(out, 0);
    return;
  }
  // nlohmann's msgpack bytes (detail/msgpack_writer.h), without its vector.
  thread_local std::string scratch;
  scratch.clear();
  detail::AppendMsgpack(&scratch, fields);
  PutVarint(out, scratch.size());
  out->append(scratch);
}

// Reads the layout above; every read checks its bounds, and the first
// failure sticks (ok() false), so a truncated or foreign value is refused.
class RecordReader {
 public:
  explicit RecordReader(std::string_view in) : in_(in) {}
  bool ok() const { return ok_; }
  bool done() const { return pos_ == in_.size(); }
  size_t pos() const { return pos_; }
  uint8_t Byte() {
    if (!ok_ || pos_ >= in_.size()) return Fail<uint8_t>();
    return static_cast<uint8_t>(in_[pos_++]);
  }
  uint64_t Varint() {
    uint64_t v = 0;
    for (int shift = 0; shift < 64; shift += 7) {
      const uint8_t b = Byte();
      if (!ok_) return 0;
      v |= uint64_t{b & 0x7Fu} << shift;
      if (!(b & 0x80)) return v;
    }
    return Fail<uint64_t>();
  }
  int64_t Signed() {
    const uint64_t u = Varint();
    return static_cast<int64_t>((u >> 1) ^ (~(u & 1) + 1));
  }
  std::string_view Bytes() {
    const uint64_t n = Varint();
    if (!ok_ || n > in_.size() - pos_) return Fail<std::string_view>();
    std::string_view s = in_.substr(pos_, n);
    pos_ += n;
    return s;
  }
  std::string Str() { return std::string(Bytes()); }
  std::optional<std::string> OptStr() {
    const uint8_t present = Byte();
    if (present > 1) return Fail<std::optional<std::string>>();
    if (!present) return std::nullopt;
    return Str();
  }
  EventTime Time() {
    EventTime t;
    t.at_ms = Signed();
    t.seq = Varint();
    return t;
  }
  json Fields() {
    std::string_view b = Bytes();
    if (!ok_ || b.empty()) return json();
    json j = json::from_msgpack(b.begin(), b.end());  // throws on bad bytes
    if (!j.is_object()) return Fail<json>();
    return j;
  }
  // A count of items of at least min_bytes each: never more than the bytes
  // left could hold (a corrupt count cannot make the decoder reserve much).
  uint64_t Count(size_t min_bytes) {
    const uint64_t n = Varint();
    if (ok_ && n > (in_.size() - pos_) / min_bytes) return Fail<uint64_t>();
    return n;
  }

 private:
  template <typename T>
  T Fail() {
    ok_ = false;
    return T();
  }
  std::string_view in_;
  size_t pos_ = 0;
  bool ok_ = true;
};

// A creation, a status change and an update, as the record and its journal
// entries both lay them out.
void PutCreation(std::string* out, const LeadCreation& c) {
  PutTime(out, c.time);
  PutStr(out, c.status_id);
  PutOptStr(out, c.owner_id);
  PutFields(out, c.fields);
}
void PutChange(std::string* out, const StatusChange& c) {
  PutTime(out, c.time);
  PutStr(out, c.status_id);
}
void PutUpdate(std::string* out, const LeadUpdate& u) {
  PutTime(out, u.time);
  PutFields(out, u.fields);
  PutOptStr(out, u.owner_id);
}
// Their readers (the reader's ok() says whether the value is whole).
LeadCreation ReadCreation(RecordReader* r) {
  LeadCreation c;
  c.time = r->Time();
  c.status_id = r->Str();
  c.owner_id = r->OptStr();
  c.fields = r->Fields();
  return c;
}
StatusChange ReadChange(RecordReader* r) {
  StatusChange c;
  c.time = r->Time();
  c.status_id = r->Str();
  return c;
}
LeadUpdate ReadUpdate(RecordReader* r) {
  LeadUpdate u;
  u.time = r->Time();
  u.fields = r->Fields();
  u.owner_id = r->OptStr();
  return u;
}

}  // namespace

std::string LeadRecord::Encode() const {
  std::string out(1, kLeadTag);
  PutVarint(&out, num);
  out.push_back(static_cast<char>((created ? 1 : 0) | (deleted ? 2 : 0) | (last_activity_ms != INT64_MIN ? 4 : 0)));
  if (created) PutCreation(&out, *created);
  PutVarint(&out, extra_creations);
  PutVarint(&out, changes.size());
  for (const auto& c : changes) PutChange(&out, c);
  PutVarint(&out, updates.size());
  for (const auto& u : updates) PutUpdate(&out, u);
  if (last_activity_ms != INT64_MIN) {
    PutSigned(&out, last_activity_ms);
    PutOptStr(&out, last_activity_name);
  }
  return out;
}

namespace {

constexpr char kJournalCreation = 'c', kJournalChange = 's', kJournalUpdate = 'u', kJournalDelete = 'd',
               kJournalActivity = 'a';

// Inserts item into a vector kept sorted by .time (ties keep arrival order,
// which the sequence number already encodes).
template <typename T>
void InsertByTime(std::vector<T>* v, T item) {
  auto it = std::upper_bound(v->begin(), v->end(), item.time,
                             [](const EventTime& t, const T& x) { return t < x.time; });
  v->insert(it, std::move(item));
}

}  // namespace

void LeadRecord::ApplyCreation(LeadCreation c) {
  if (!created) {
    created = std::move(c);
    return;
  }
  ++extra_creations;
  if (c.time < created->time) created = std::move(c);
}

void LeadRecord::ApplyChange(StatusChange c) { InsertByTime(&changes, std::move(c)); }
void LeadRecord::ApplyUpdate(LeadUpdate u) { InsertByTime(&updates, std::move(u)); }

void LeadRecord::ApplyActivity(int64_t at_ms, std::optional<std::string> name) {
  if (at_ms >= last_activity_ms) {
    last_activity_ms = at_ms;
    last_activity_name = std::move(name);
  }
}

namespace lead_journal {
void AppendCreation(std::string* out, const LeadCreation& c) {
  out->push_back(kJournalCreation);
  PutCreation(out, c);
}
void AppendChange(std::string* out, const StatusChange& c) {
  out->push_back(kJournalChange);
  PutChange(out, c);
}
void AppendUpdate(std::string* out, const LeadUpdate& u) {
  out->push_back(kJournalUpdate);
  PutUpdate(out, u);
}
void AppendDelete(std::string* out) { out->push_back(kJournalDelete); }
void AppendActivity(std::string* out, int64_t at_ms, const std::optional<std::string>& name) {
  out->push_back(kJournalActivity);
  PutSigned(out, at_ms);
  PutOptStr(out, name);
}
}  // namespace lead_journal

Status LeadRecord::Decode(std::string_view bytes, LeadRecord* out, size_t* journal_bytes) {
  try {
    RecordReader r(bytes);
    LeadRecord rec;
    if (r.Byte() != static_cast<uint8_t>(kLeadTag)) return Status::Corruption("bad lead record: not a lead record");
    const uint64_t num = r.Varint();
    if (num > UINT32_MAX) return Status::Corruption("bad lead record: lead number out of range");
    rec.num = static_cast<uint32_t>(num);
    const uint8_t flags = r.Byte();
    if (flags & ~7u) return Status::Corruption("bad lead record: unknown flags");
    if (flags & 1) rec.created = ReadCreation(&r);
    const uint64_t extra = r.Varint();
    if (extra > UINT32_MAX) return Status::Corruption("bad lead record: count out of range");
    rec.extra_creations = static_cast<uint32_t>(extra);
    const uint64_t n_changes = r.Count(3);
    rec.changes.reserve(n_changes);
    for (uint64_t i = 0; i < n_changes && r.ok(); ++i) rec.changes.push_back(ReadChange(&r));
    const uint64_t n_updates = r.Count(4);
    rec.updates.reserve(n_updates);
    for (uint64_t i = 0; i < n_updates && r.ok(); ++i) rec.updates.push_back(ReadUpdate(&r));
    rec.deleted = flags & 2;
    if (flags & 4) {
      rec.last_activity_ms = r.Signed();
      rec.last_activity_name = r.OptStr();
    }
    if (!r.ok()) return Status::Corruption("bad lead record: truncated");
    const size_t record_end = r.pos();
    // The journal.
    while (r.ok() && !r.done()) {
      switch (r.Byte()) {
        case kJournalCreation: {
          LeadCreation c = ReadCreation(&r);
          if (r.ok()) rec.ApplyCreation(std::move(c));
          break;
        }
        case kJournalChange: {
          StatusChange c = ReadChange(&r);
          if (r.ok()) rec.ApplyChange(std::move(c));
          break;
        }
        case kJournalUpdate: {
          LeadUpdate u = ReadUpdate(&r);
          if (r.ok()) rec.ApplyUpdate(std::move(u));
          break;
        }
        case kJournalDelete:
          rec.ApplyDelete();
          break;
        case kJournalActivity: {
          const int64_t at = r.Signed();
          std::optional<std::string> name = r.OptStr();
          if (r.ok()) rec.ApplyActivity(at, std::move(name));
          break;
        }
        default:
          return Status::Corruption("bad lead record: unknown journal entry");
      }
    }
    if (!r.ok()) return Status::Corruption("bad lead record: truncated journal entry");
    if (journal_bytes) *journal_bytes = bytes.size() - record_end;
    *out = std::move(rec);
    return Status::Ok();
  } catch (const std::exception& e) {
    return Status::Corruption(std::string("bad lead record: ") + e.what());
  }
}

std::string StatusRecord::Encode() const {
  json j = json::object();
  if (upserted) j["u"] = TimeJ(*upserted);
  j["l"] = label;
  if (position) j["p"] = *position;
  if (deleted_at) j["d"] = TimeJ(*deleted_at);
  j["f"] = first_seen_ms;
  return ToBytes(j);
}

Status StatusRecord::Decode(std::string_view bytes, StatusRecord* out) {
  return FromBytes(bytes, "status", [out](const json& j) {
    StatusRecord r;
    if (j.contains("u")) r.upserted = TimeFrom(j["u"]);
    r.label = j.at("l").get<std::string>();
    if (j.contains("p")) r.position = j["p"].get<int64_t>();
    if (j.contains("d")) r.deleted_at = TimeFrom(j["d"]);
    r.first_seen_ms = j.at("f").get<int64_t>();
    *out = std::move(r);
  });
}

std::string UserRecord::Encode() const {
  return ToBytes(json::object({{"u", TimeJ(upserted)}, {"f", fields}}));
}

Status UserRecord::Decode(std::string_view bytes, UserRecord* out) {
  return FromBytes(bytes, "user", [out](const json& j) {
    out->upserted = TimeFrom(j.at("u"));
    out->fields = j.at("f");
  });
}

}  // namespace leadflow::views
