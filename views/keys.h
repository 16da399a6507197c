// Keys: the byte layout of every key leadflow stores (see state::Cf).
//
// Every key starts with the org id and a 0 byte (org ids never contain 0).
// Variable-length parts are written with a 2-byte big-endian length; numbers
// are big-endian with the sign bit flipped, so keys sort by value and a range
// of units is one contiguous scan.
//
// Thread safety: pure functions.
#ifndef LEADFLOW_VIEWS_KEYS_H_
#define LEADFLOW_VIEWS_KEYS_H_

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include <nlohmann/json.hpp>

namespace leadflow::views::keys {

void AppendStr(std::string* out, std::string_view s);
void AppendU32(std::string* out, uint32_t v);
void AppendI64(std::string* out, int64_t v);  // order-preserving
int64_t ReadI64(std::string_view s, size_t pos);
uint32_t ReadU32(std::string_view s, size_t pos);
// Reads a length-prefixed string at *pos and advances it; nullopt if truncated.
std::optional<std::string_view> ReadStr(std::string_view s, size_t* pos);

// The smallest key greater than every key starting with prefix.
std::string PrefixEnd(std::string prefix);

// Bitmaps are stored in chunks of 2^16 lead numbers (one CRoaring container
// each): stored key = logical key (Bitmap, ValueBitmap, ...) + the chunk
// number as 2 bytes big-endian. A batch then rewrites only the chunks it
// touches, not a bitmap of a million leads. Logical bitmap keys are
// prefix-free, so one key's chunks are contiguous and
// [BitmapChunk(k, 0), BitmapChunksEnd(k)) holds exactly them; a range of
// logical keys [a, b) holds exactly the chunks of the keys in it.
inline constexpr unsigned kChunkBits = 16;
inline constexpr size_t kChunkSuffixSize = 2;
std::string BitmapChunk(std::string_view logical, uint32_t chunk);
// BitmapChunk into *out (its buffer reused: no allocation once it is large
// enough).
void AssignBitmapChunk(std::string* out, std::string_view logical, uint32_t chunk);
// What BitmapChunk appends to the logical key.
void AppendBitmapChunkSuffix(std::string* out, uint32_t chunk);
std::string BitmapChunksEnd(std::string_view logical);
// The logical key of a stored chunk key.
inline std::string_view LogicalBitmapKey(std::string_view stored) {
  return stored.substr(0, stored.size() >= kChunkSuffixSize ? stored.size() - kChunkSuffixSize : 0);
}

std::string OrgPrefix(std::string_view org);
std::string Event(std::string_view org, std::string_view event_id);
std::string Lead(std::string_view org, std::string_view lead_id);
// Event's and Lead's layout (org, then the id) written into *out, which
// keeps its buffer: for keys built only to be hashed or looked up.
void AssignOrgAndStr(std::string* out, std::string_view org, std::string_view id);
std::string LeadId(std::string_view org, uint32_t lead_num);
std::string Status(std::string_view org, std::string_view status_id);
std::string User(std::string_view org, std::string_view user_id);
// A transition pair; from is empty for a creation (null -> to).
std::string Pair(std::string_view org, const std::optional<std::string>& from, std::string_view to);

// Bitmaps of lead numbers.
enum class Kind : char {
  kCurrent = 'C',     // subject status: leads whose current (final) status it is
  kEntered = 'E',     // subject status: leads with a transition into it in the unit
  kLeft = 'L',        // subject status: leads with a transition out of it in the unit
  kTransition = 'T',  // subject pair: leads with that transition in the unit
  kFlip = 'F',        // subject status: leads whose membership differs between
                      // the unit's start and the next unit's start
};
enum class Level : char { kAll = 'A', kYear = 'Y', kMonth = 'M', kDay = 'D' };

std::string StatusSubject(std::string_view status_id);
std::string PairSubject(const std::optional<std::string>& from, std::string_view to);
std::string BitmapPrefix(std::string_view org, Kind kind, std::string_view subject, Level level);
std::string Bitmap(std::string_view org, Kind kind, std::string_view subject, Level level, int64_t unit);

// Effective transitions by time, for the partial days at a period's edges.
// Stored per org and UTC hour as a record set (state/record_set_merge.h)
// whose records are (the entry's id: time, lead number, index) -> the
// transition's value (views/lead_facts.h). An hour's key is LogDayPrefix,
// then the hour of the day (one byte).
std::string LogDayPrefix(std::string_view org, int64_t day);
inline constexpr int64_t kLogHourMs = 3'600'000;
// One entry's logical key (what a lead's diff names): LogDayPrefix, then its
// id. SplitLogEntry returns the id and sets *hour_key to the stored key of
// its hour.
std::string Log(std::string_view org, int64_t day, int64_t at_ms, uint32_t lead_num, uint32_t index);
std::string_view SplitLogEntry(std::string_view log_key, std::string* hour_key);
// The start of the hour a stored key of day names (day_prefix_size: the
// size of its LogDayPrefix); nullopt when the key is not an hour's key.
std::optional<int64_t> LogHourStartMs(std::string_view hour_key, size_t day_prefix_size, int64_t day);
struct LogKeyParts {
  int64_t at_ms;
  uint32_t lead_num;
};
// The parts of an entry's id (a record's id in the hour's set).
LogKeyParts ParseLogId(std::string_view id);

// Lead attribute indexes (Leads Not Contacted). attr is a normalized column.
// Typed values sort booleans < numbers < strings, each by value.
std::string TypedBool(bool v);
std::string TypedNumber(double v);
std::string TypedString(std::string_view v);
void AppendTypedBool(std::string* out, bool v);
void AppendTypedNumber(std::string* out, double v);
void AppendTypedString(std::string* out, std::string_view v);
// Bitmap of the leads whose attr has the typed value; all values of an attr
// share ValuePrefix(org, attr) and sort by value.
std::string ValuePrefix(std::string_view org, std::string_view attr);
std::string ValueBitmap(std::string_view org, std::string_view attr, std::string_view typed);
// Decodes the typed value at the end of a ValueBitmap key into JSON.
std::optional<nlohmann::json> DecodeTyped(std::string_view typed);
std::string HasBitmap(std::string_view org, std::string_view attr);
// Leads whose fields hold exactly this key (case and all), for the search
// language's exact-key field terms.
std::string ExactKeyBitmap(std::string_view org, std::string_view key);
std::string UniverseBitmap(std::string_view org);
// Leads whose date-valued attr falls on the UTC day.
std::string DateDayPrefix(std::string_view org, std::string_view attr);
std::string DateDayBitmap(std::string_view org, std::string_view attr, int64_t day);
// Exact date entries: a lead's entry is DateEntry (attr, instant, lead
// number); they are stored per UTC day (state::Cf::kAttrIndex, key
// DateEntriesDay, value the day's entries: the last 12 bytes of each
// DateEntry, sorted; state/entry_set_merge.h).
std::string DateEntryPrefix(std::string_view org, std::string_view attr);
std::string DateEntry(std::string_view org, std::string_view attr, int64_t at_ms, uint32_t lead_num);
// The attribute keys above appended to *out (what the std::string forms
// return), for building many keys into one buffer (views/detail/key_set.h).
void AppendValuePrefix(std::string* out, std::string_view org, std::string_view attr);  // then AppendTyped*
void AppendHasBitmap(std::string* out, std::string_view org, std::string_view attr);
void AppendExactKeyBitmap(std::string* out, std::string_view org, std::string_view key);
void AppendUniverseBitmap(std::string* out, std::string_view org);
void AppendDateDayBitmap(std::string* out, std::string_view org, std::string_view attr, int64_t day);
void AppendDateEntry(std::string* out, std::string_view org, std::string_view attr, int64_t at_ms, uint32_t lead_num);
std::string DateEntriesDay(std::string_view org, std::string_view attr, int64_t day);
// The stored entry of a DateEntry key (its last 12 bytes), and into *day_key
// the DateEntriesDay key of its day.
std::string_view SplitDateEntry(std::string_view entry_key, std::string* day_key);
// The instant and lead number of a stored entry (12 bytes).
int64_t DateEntryInstant(std::string_view entry);
uint32_t DateEntryLead(std::string_view entry);

// Activities: bitmaps per code (kAnyActivity: every code) and unit, and the
// exact log (state::Cf::kActivityLog) for the partial days of a window.
constexpr int64_t kAnyActivity = INT64_MIN;
std::string ActivityBitmap(std::string_view org, int64_t code, Level level, int64_t unit);
std::string ActivityDayPrefix(std::string_view org, int64_t day);
// The activity log holds one key per (org, day) and batch (the batch's last
// arrival sequence number), whose value is the batch's activities of that
// day: ActivityEntry records, sorted. One key per day and batch instead of
// one per activity (0.6 keys per event on the bench's streams). day_prefix
// is ActivityDayPrefix(org, day).
std::string ActivityLogBatch(std::string_view day_prefix, uint64_t batch_seq);
// The day prefix of an ActivityLogBatch key (the key without its batch).
inline std::string_view ActivityLogDayOf(std::string_view batch_key) {
  return batch_key.substr(0, batch_key.size() >= 8 ? batch_key.size() - 8 : 0);
}
struct ActivityEntry {
  int64_t at_ms;
  uint32_t lead_num;
  int64_t code;
  friend auto operator<=>(const ActivityEntry&, const ActivityEntry&) = default;
};
inline constexpr size_t kActivityEntryBytes = 20;
void AppendActivityEntry(std::string* out, const ActivityEntry& e);
// The entries of an activity log value; false when its size is not a
// multiple of kActivityEntryBytes.
bool ReadActivityEntries(std::string_view value, std::vector<ActivityEntry>* out);

// Meta family.
std::string ConsumerOffset(std::string_view topic, int32_t partition);
// The global arrival counter of state layout 1 (only to recognize such a
// directory).
std::string MetaSequence();
// The state layout version (views::kStateFormat) as decimal text.
std::string MetaFormat();
std::string MetaLeadCounter(std::string_view org);
// The topic whose partitions are shards 1.. (ingest/shard.h); written once.
std::string MetaTopic();
// Cluster mode: the cluster topic this directory's Smart Views mirror
// (ingest/cluster_view.h); absent until the first time they were synced.
std::string MetaClusterViews();

// A shard's meta (ingest/shard.h); every key of shard starts with
// ShardPrefix(shard), and the shards' keys with ShardsPrefix().
std::string ShardsPrefix();
std::string ShardPrefix(uint32_t shard);
// Its persistent ingest totals ("applied", "duplicate", "dead_lettered",
// "anomalies"), 8 bytes each.
std::string ShardTotal(uint32_t shard, std::string_view name);
// One key per org the shard has applied an event of (value empty).
std::string ShardOrg(uint32_t shard, std::string_view org);
// The local shard's next offset (views/records.h ArrivalSeq), 8 bytes.
std::string ShardNextOffset(uint32_t shard);
// Cluster mode: the highest offset of partition origin whose event, read
// there off its org's home partition and re-routed to it, the shard
// applied (ingest/pipeline.h), 8 bytes.
std::string ShardRerouteMark(uint32_t shard, int32_t origin);
enum class ShardKeyTag : char { kTotal = 't', kOrg = 'o', kNextOffset = 'n', kRerouteMark = 'r' };
struct ShardKeyParts {
  uint32_t shard;
  ShardKeyTag tag;
  std::string_view rest;  // the total's name, the org, the origin partition (4 bytes), or empty
};
// Parses a key under ShardsPrefix(); nullopt when malformed.
std::optional<ShardKeyParts> ParseShardKey(std::string_view key);

}  // namespace leadflow::views::keys

#endif  // LEADFLOW_VIEWS_KEYS_H_
