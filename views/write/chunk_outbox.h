// ChunkOutbox: the bitmap operations one applier part sends to the owners
// of the chunks they change, and WriteChunkDeltas, which an owner runs to
// turn what every part sent it into its share of the batch's write.
//
// A logical bitmap (keys::Bitmap, keys::ActivityBitmap, ...) is stored as
// chunks of 2^keys::kChunkBits lead numbers (keys::BitmapChunk). Each chunk
// has one owner among the applier's parts: the part its key's hash
// (detail::HashKey) falls to, hash modulo the number of owners. A part that
// owns a lead diffs the lead's facts into (chunk, number, add or remove)
// operations (views/write/lead_diff.h) and sends each to the chunk's owner; the
// owner then writes one merge operand per chunk (state/bitmap_merge.h), so
// no two threads ever write one chunk, and a chunk costs one key per batch
// however many leads it gained or lost.
//
// Operations on one (chunk, lead) come only from the lead's owner and are
// net (never an add and a remove of one number), and different leads'
// operations commute, so the delta depends only on the set of operations,
// not on which part sent them or in which order.
//
// Thread safety: a part fills its own outbox; WriteChunkDeltas for owner q
// reads box q of every outbox, so it runs once the senders are done (the
// applier's steps are separated by its worker pool's joins).
#ifndef LEADFLOW_VIEWS_WRITE_CHUNK_OUTBOX_H_
#define LEADFLOW_VIEWS_WRITE_CHUNK_OUTBOX_H_

#include <cstddef>
#include <cstdint>
#include <span>
#include <string>
#include <optional>
#include <string_view>
#include <unordered_map>
#include <utility>
#include <vector>

#include "state/store.h"
#include "views/detail/hashed_key.h"
#include "views/keys.h"
#include "views/lead_facts.h"

namespace leadflow::views {

class ChunkOutbox {
 public:
  using Ops = std::vector<std::pair<uint32_t, bool>>;  // (lead number, add?)
  // Stored chunk key -> its operations, keyed with the hash that picks the
  // owner; its entries() in order of first send.
  using Box = detail::HashedKeyMap<Ops>;

  explicit ChunkOutbox(size_t owners) : boxes_(owners == 0 ? 1 : owners) {}

  // Adds (num, add) to the chunk of logical that holds num.
  void Send(std::string_view logical, uint32_t num, bool add);
  // The same for the bitmap of a status fact, its key
  // (AppendBitmapFactKey) written into the outbox's own buffer.
  void SendFact(std::string_view org, const BitmapFact& fact, const StatusNames& names, uint32_t num, bool add);
  // Adds every number of nums to logical. A unit's numbers mostly fall in
  // one chunk, so its list is looked up once per run of one chunk.
  void SendAdds(std::string_view logical, std::span<const uint32_t> nums);

  // Status facts of many leads, cheaper than SendFact: a chunk key is built
  // and hashed once per distinct chunk, not once per operation. A lead's
  // statuses are named once (StatusRef: interned by org and status until
  // Clear; status nullptr is a creation's null "from"), its facts are sent
  // with those references (SendFactRef: gathered by fact and chunk, integers
  // only), and FlushFacts builds each gathered chunk's key
  // (AppendBitmapKeyOf) and hands its operations to the chunk's owner, as
  // SendFact would have. Owners read only what was flushed.
  struct FactRef {
    keys::Kind kind;
    keys::Level level;
    uint32_t a, b;  // StatusRef ids; b only for keys::Kind::kTransition
    int64_t unit;
    friend bool operator==(const FactRef&, const FactRef&) = default;
  };
  uint32_t StatusRef(std::string_view org, const std::string* status);
  void SendFactRef(const FactRef& f, uint32_t num, bool add);
  void FlushFacts();

  size_t owners() const { return boxes_.size(); }
  const Box& to(size_t owner) const { return boxes_[owner]; }
  void Clear();

 private:
  Ops* ListOf(std::string_view logical, uint32_t chunk);
  // The list of the chunk key in scratch_.
  Ops* ListOfScratch();

  std::vector<Box> boxes_;  // by owner
  std::string scratch_;     // the chunk key being looked up

  // StatusRef's table: (org, status) by id, and its index by org '\0'
  // (status ? 's' status : 'n').
  struct StatusOf {
    std::string org;
    std::optional<std::string> status;
  };
  std::vector<StatusOf> statuses_;
  std::unordered_map<std::string, uint32_t> status_ids_;
  // SendFactRef's gathered operations: (fact, chunk) -> operations, and an
  // open-addressing index of the entries (slot: index + 1, 0 empty).
  struct FactChunk {
    FactRef fact;
    uint32_t chunk;
    friend bool operator==(const FactChunk&, const FactChunk&) = default;
  };
  static uint64_t HashOf(const FactChunk& c);
  std::vector<std::pair<FactChunk, Ops>> facts_;
  std::vector<uint32_t> fact_slots_;
};

// Box `owner` of every sender: one merge operand (state::EncodeBitmapDelta,
// adds and removes) per chunk, merged into batch's family kBitmaps.
void WriteChunkDeltas(std::span<const ChunkOutbox* const> senders, size_t owner, state::WriteBatch* batch);

}  // namespace leadflow::views

#endif  // LEADFLOW_VIEWS_WRITE_CHUNK_OUTBOX_H_
