#include "ingest/dead_letter_publisher.h"

#include <librdkafka/rdkafkacpp.h>

#include <algorithm>
#include <map>

#include "ingest/dead_letter.h"
#include "ingest/detail/kafka_client.h"
#include "state/log.h"
#include "views/utf8.h"

namespace leadflow::ingest {
namespace {

// One letter in flight: its index in the batch and its delivery report.
struct LetterSlot {
  size_t index = 0;
  bool omit_original = false;
  bool done = false;
  bool delivered = false;
  RdKafka::ErrorCode err = RdKafka::ERR_NO_ERROR;
  std::string errstr;
};

// Records delivery reports into the current slots, matched by a sequence
// number carried as the message's opaque, so that a late report of an
// abandoned publish finds nothing and is dropped.
class DeliveryReports : public RdKafka::DeliveryReportCb {
 public:
  void dr_cb(RdKafka::Message& message) override {
    auto it = slot_of_.find(reinterpret_cast<uintptr_t>(message.msg_opaque()));
    if (it == slot_of_.end() || slots_ == nullptr) return;
    LetterSlot& slot = (*slots_)[it->second];
    slot.done = true;
    slot.err = message.err();
    slot.errstr = message.errstr();
  }
  void Track(std::vector<LetterSlot>* slots) {
    slots_ = slots;
    slot_of_.clear();
  }
  // The opaque of the next message for slots[k].
  void* Expect(size_t k) {
    slot_of_[++next_seq_] = k;
    return reinterpret_cast<void*>(next_seq_);
  }
  void Clear() {
    slot_of_.clear();
    slots_ = nullptr;
  }

 private:
  std::vector<LetterSlot>* slots_ = nullptr;
  std::map<uintptr_t, size_t> slot_of_;
  uintptr_t next_seq_ = 0;
};

using LetterId = std::tuple<std::string, int32_t, int64_t>;
LetterId IdOf(const DeadLetter& d) { return {d.source.topic, d.source.partition, d.offset}; }

}  // namespace

struct DeadLetterPublisher::Impl {
  DeadLetterPublisherOptions options;
  const std::atomic<bool>* stop = nullptr;
  DeadLetterPublisher* owner = nullptr;
  std::unique_ptr<RdKafka::Producer> producer;
  DeliveryReports delivery;
  detail::ClientEvents events{"dead-letter producer"};
  std::set<LetterId> acknowledged;  // whose batch has not committed yet
  std::vector<LetterSlot> slots;

  bool Stopping() const { return stop != nullptr && stop->load(); }

  Status NewProducer(std::unique_ptr<RdKafka::Producer>* out) {
    // Room for the largest envelope plus its headers and batch framing.
    const size_t max_bytes = std::max<size_t>(1000000, options.max_message_bytes + 65536);
    return detail::NewOwnRecordsProducer(options.brokers,
                                         {{"client.id", "leadflow-dlq"},
                                          {"message.max.bytes", std::to_string(max_bytes)},
                                          {"message.timeout.ms", std::to_string(options.message_timeout_ms)}},
                                         options.kafka_properties, &delivery, &events, out);
  }

  // Produces the letters of slots[k] for k in which (each with its stage's
  // envelope) and waits for every report; false when stopping first.
  bool ProduceAndWait(const std::vector<DeadLetter>& letters, const std::vector<size_t>& which) {
    for (size_t k : which) {
      LetterSlot& slot = slots[k];
      const DeadLetter& d = letters[slot.index];
      slot.done = false;
      slot.err = RdKafka::ERR_NO_ERROR;
      void* opaque = delivery.Expect(k);
      std::string value = DeadLetterEnvelope(d, options.max_message_bytes, slot.omit_original);
      const std::string key = d.key && d.key->size() <= kMaxKeyBytes ? *d.key : std::string();
      RdKafka::Headers* headers = RdKafka::Headers::create();
      headers->add("leadflow-reason", views::CutUtf8(d.reason, kMaxReasonBytes));
      headers->add("leadflow-source",
                   d.source.topic + "/" + std::to_string(d.source.partition) + "/" + std::to_string(d.offset));
      for (;;) {
        RdKafka::ErrorCode err =
            producer->produce(options.topic, RdKafka::Topic::PARTITION_UA, RdKafka::Producer::RK_MSG_COPY,
                              value.data(), value.size(), key.empty() ? nullptr : key.data(), key.size(), 0,
                              headers, opaque);
        if (err == RdKafka::ERR_NO_ERROR) break;  // the producer owns headers now
        if (err == RdKafka::ERR__QUEUE_FULL && !Stopping()) {
          producer->poll(100);
          continue;
        }
        delete headers;
        slot.done = true;
        slot.err = err;
        slot.errstr = RdKafka::err2str(err);
        break;
      }
    }
    // message.timeout.ms bounds the wait: every message gets a report.
    for (;;) {
      if (std::all_of(which.begin(), which.end(), [&](size_t k) { return slots[k].done; })) return true;
      if (Stopping()) return false;
      producer->poll(100);
    }
  }
};

DeadLetterPublisher::DeadLetterPublisher(std::unique_ptr<Impl> impl) : impl_(std::move(impl)) {
  impl_->owner = this;
}

DeadLetterPublisher::~DeadLetterPublisher() { Close(); }

Status DeadLetterPublisher::Create(const DeadLetterPublisherOptions& options, const std::atomic<bool>* stop,
                                   std::unique_ptr<DeadLetterPublisher>* out) {
  auto impl = std::make_unique<Impl>();
  impl->options = options;
  impl->stop = stop;
  std::unique_ptr<RdKafka::Producer> check;
  Status s = impl->NewProducer(&check);
  if (!s.ok()) return s;
  check.reset();
  out->reset(new DeadLetterPublisher(std::move(impl)));
  return Status::Ok();
}

Status DeadLetterPublisher::Open() {
  Close();
  impl_->events.Clear();
  return impl_->NewProducer(&impl_->producer);
}

void DeadLetterPublisher::Close() {
  impl_->delivery.Clear();
  if (impl_->producer) {
    impl_->producer->flush(1000);
    impl_->producer.reset();
  }
}

void DeadLetterPublisher::Poll() {
  if (impl_->producer) impl_->producer->poll(0);
}

void DeadLetterPublisher::Forget(const std::vector<DeadLetter>& letters) {
  for (const DeadLetter& d : letters) impl_->acknowledged.erase(IdOf(d));
}

Status DeadLetterPublisher::Publish(const std::vector<DeadLetter>& letters) {
  Impl& m = *impl_;
  m.slots.clear();
  for (size_t i = 0; i < letters.size(); ++i) {
    if (m.acknowledged.count(IdOf(letters[i]))) continue;
    LetterSlot slot;
    slot.index = i;
    m.slots.push_back(slot);
  }
  if (m.slots.empty()) return Status::Ok();
  m.delivery.Track(&m.slots);
  // Rounds: all letters together; then each one refused as too large
  // alone; then, refused alone, without its copy of the original.
  std::vector<size_t> together(m.slots.size());
  for (size_t k = 0; k < m.slots.size(); ++k) together[k] = k;
  std::vector<std::vector<size_t>> rounds = {together};
  std::string failure;
  while (!rounds.empty() && failure.empty()) {
    const std::vector<size_t> which = rounds.front();
    rounds.erase(rounds.begin());
    if (!m.ProduceAndWait(letters, which)) {
      m.delivery.Clear();
      return Status::Unavailable("stopping");
    }
    for (size_t k : which) {
      LetterSlot& slot = m.slots[k];
      const DeadLetter& d = letters[slot.index];
      const std::string where =
          d.source.topic + "[" + std::to_string(d.source.partition) + "]@" + std::to_string(d.offset);
      if (slot.err == RdKafka::ERR_NO_ERROR) {
        slot.delivered = true;
        m.acknowledged.insert(IdOf(d));
      } else if (slot.err == RdKafka::ERR_MSG_SIZE_TOO_LARGE && which.size() > 1) {
        rounds.push_back({k});
      } else if (slot.err == RdKafka::ERR_MSG_SIZE_TOO_LARGE && !slot.omit_original) {
        LogWarn("dead-letter topic " + m.options.topic + " refused the letter for " + where + " (" +
                std::to_string(d.value.size()) + " original bytes) as too large (" + slot.errstr +
                "); sending it without the copy of the original (the topic's max.message.bytes is below "
                "--dlq-max-message-bytes)");
        slot.omit_original = true;
        rounds.push_back({k});
      } else {
        failures_.fetch_add(1);
        if (failure.empty()) {
          failure = "dead-letter topic " + m.options.topic + " did not take the letter for " + where + ": " +
                    slot.errstr;
        }
      }
    }
  }
  m.delivery.Clear();
  return failure.empty() ? Status::Ok() : Status::Unavailable(failure);
}

}  // namespace leadflow::ingest
