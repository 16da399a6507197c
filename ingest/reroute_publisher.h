// ReroutePublisher: sends a batch's re-routed events (ingest/pipeline.h
// Reroute: read off their org's home partition in a cluster) to their home
// partitions of the events topic, each a copy of the original (key and
// value unchanged) with the header kOriginHeader naming where it was read,
// and reports whether every one was acknowledged, so that the batch that
// skips them commits only then (an event is never lost).
//
// The producer is idempotent with the gapless guarantee: the copies of one
// batch land in the order sent, and a copy the broker failed to take is
// never followed by a later one of the same publish in its partition (that
// fails the producer instead; the next Open makes a new one). With the
// senders' rule (acknowledged before the position past them commits) that
// is what lets a home shard skip every copy at or below its mark
// (Pipeline::Add).
//
// Thread safety: one thread (the ingest thread).
#ifndef LEADFLOW_INGEST_REROUTE_PUBLISHER_H_
#define LEADFLOW_INGEST_REROUTE_PUBLISHER_H_

#include <atomic>
#include <memory>
#include <string>
#include <utility>
#include <vector>

#include "ingest/pipeline.h"
#include "state/status.h"

namespace leadflow::ingest {

struct ReroutePublisherOptions {
  std::string brokers;  // required
  std::string group;    // required: the cluster's consumer group, named in each copy's header
  // How long a copy is tried before it counts as refused (librdkafka
  // message.timeout.ms). Default: 30000 ms.
  int message_timeout_ms = 30000;
  // Extra librdkafka properties, after leadflow's own. Default: none.
  std::vector<std::pair<std::string, std::string>> kafka_properties;
};

class ReroutePublisher {
 public:
  // Checks the configuration by building a producer once. stop (may be
  // null) ends a wait for delivery reports early; it must outlive the object.
  static Status Create(const ReroutePublisherOptions& options, const std::atomic<bool>* stop,
                       std::unique_ptr<ReroutePublisher>* out);
  ~ReroutePublisher();
  ReroutePublisher(const ReroutePublisher&) = delete;
  ReroutePublisher& operator=(const ReroutePublisher&) = delete;

  // Starts a new producer (a session's); Close() flushes (up to 1 s) and
  // drops it.
  Status Open();
  void Close();

  // Sends each copy to reroutes[i].home of reroutes[i].source.topic, in
  // order, and waits for every report. OK when all are acknowledged;
  // Unavailable (naming the first refused) otherwise, or when stopping.
  // REQUIRES: Open() succeeded.
  Status Publish(const std::vector<Reroute>& reroutes);

 private:
  struct Impl;
  explicit ReroutePublisher(std::unique_ptr<Impl> impl);
  std::unique_ptr<Impl> impl_;
};

}  // namespace leadflow::ingest

#endif  // LEADFLOW_INGEST_REROUTE_PUBLISHER_H_
