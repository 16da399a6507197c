#include "ingest/reroute_publisher.h"

#include <librdkafka/rdkafkacpp.h>

#include "ingest/detail/kafka_client.h"

namespace leadflow::ingest {
namespace {

// Counts the reports of the current publish, matched by its generation
// carried as the message's opaque (a late report of an abandoned publish
// is dropped).
class Reports : public RdKafka::DeliveryReportCb {
 public:
  void dr_cb(RdKafka::Message& message) override {
    if (reinterpret_cast<uintptr_t>(message.msg_opaque()) != generation) return;
    ++done;
    if (message.err() != RdKafka::ERR_NO_ERROR && first_error.empty()) {
      first_error = message.topic_name() + "[" + std::to_string(message.partition()) + "]: " + message.errstr();
    }
  }
  uintptr_t generation = 0;
  size_t done = 0;
  std::string first_error;
};

}  // namespace

struct ReroutePublisher::Impl {
  ReroutePublisherOptions options;
  const std::atomic<bool>* stop = nullptr;
  std::unique_ptr<RdKafka::Producer> producer;
  Reports reports;
  detail::ClientEvents events{"re-route producer"};

  Status NewProducer(std::unique_ptr<RdKafka::Producer>* out) {
    return detail::NewOwnRecordsProducer(options.brokers,
                                         {{"enable.gapless.guarantee", "true"},
                                          {"client.id", "leadflow-reroute"},
                                          {"message.timeout.ms", std::to_string(options.message_timeout_ms)}},
                                         options.kafka_properties, &reports, &events, out);
  }

  bool Stopping() const { return stop != nullptr && stop->load(); }
};

ReroutePublisher::ReroutePublisher(std::unique_ptr<Impl> impl) : impl_(std::move(impl)) {}
ReroutePublisher::~ReroutePublisher() { Close(); }

Status ReroutePublisher::Create(const ReroutePublisherOptions& options, const std::atomic<bool>* stop,
                                std::unique_ptr<ReroutePublisher>* out) {
  auto impl = std::make_unique<Impl>();
  impl->options = options;
  impl->stop = stop;
  std::unique_ptr<RdKafka::Producer> check;
  Status s = impl->NewProducer(&check);
  if (!s.ok()) return s;
  out->reset(new ReroutePublisher(std::move(impl)));
  return Status::Ok();
}

Status ReroutePublisher::Open() {
  Close();
  impl_->events.Clear();
  return impl_->NewProducer(&impl_->producer);
}

void ReroutePublisher::Close() {
  if (!impl_->producer) return;
  impl_->producer->flush(1000);
  impl_->producer.reset();
}

Status ReroutePublisher::Publish(const std::vector<Reroute>& reroutes) {
  if (reroutes.empty()) return Status::Ok();
  Impl& m = *impl_;
  Reports& r = m.reports;
  ++r.generation;
  r.done = 0;
  r.first_error.clear();
  size_t sent = 0;
  for (const Reroute& c : reroutes) {
    RdKafka::Headers* headers = RdKafka::Headers::create();
    headers->add(kOriginHeader, OriginHeader(m.options.group, Origin{c.source.partition, c.offset}));
    for (;;) {
      const RdKafka::ErrorCode err = m.producer->produce(
          c.source.topic, c.home, RdKafka::Producer::RK_MSG_COPY, const_cast<char*>(c.value.data()), c.value.size(),
          c.key ? c.key->data() : nullptr, c.key ? c.key->size() : 0, 0, headers,
          reinterpret_cast<void*>(r.generation));
      if (err == RdKafka::ERR_NO_ERROR) break;  // the producer owns headers now
      if (err == RdKafka::ERR__QUEUE_FULL && !m.Stopping()) {
        m.producer->poll(100);
        continue;
      }
      delete headers;
      // Those sent are waited for below; the batch is not committed.
      if (r.first_error.empty()) r.first_error = c.source.topic + "[" + std::to_string(c.home) + "]: " + RdKafka::err2str(err);
      break;
    }
    if (!r.first_error.empty()) break;
    ++sent;
  }
  // message.timeout.ms bounds the wait: every message sent gets a report.
  while (r.done < sent) {
    if (m.Stopping()) return Status::Unavailable("stopping");
    m.producer->poll(100);
  }
  if (r.first_error.empty()) return Status::Ok();
  // The producer may be failed for good (the gapless guarantee): the next
  // session opens a new one.
  return Status::Unavailable("the events topic did not take a re-routed event (" + r.first_error + ")");
}

}  // namespace leadflow::ingest
