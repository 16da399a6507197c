// Pieces shared by leadflow's librdkafka clients (the consumer, the
// dead-letter producer, the watcher): property lists applied in one place,
// and an event callback that records errors and forwards librdkafka's log.
//
// Thread safety: ClientEvents is called by librdkafka from inside the
// owning thread's poll/consume calls and read by that thread only.
#ifndef LEADFLOW_INGEST_DETAIL_KAFKA_CLIENT_H_
#define LEADFLOW_INGEST_DETAIL_KAFKA_CLIENT_H_

#include <librdkafka/rdkafkacpp.h>

#include <string>
#include <utility>
#include <vector>

#include "state/log.h"
#include "state/status.h"

namespace leadflow::ingest::detail {

using Properties = std::vector<std::pair<std::string, std::string>>;

// Sets settings, then extra (the user's --kafka-prop, which may override).
// InvalidArgument naming the property on the first one librdkafka refuses.
inline Status Configure(RdKafka::Conf* conf, const Properties& settings, const Properties& extra) {
  std::string err;
  for (const Properties* list : {&settings, &extra}) {
    for (const auto& [k, v] : *list) {
      if (conf->set(k, v, err) != RdKafka::Conf::CONF_OK) return Status::InvalidArgument(k + ": " + err);
    }
  }
  return Status::Ok();
}

// Records client errors and forwards librdkafka's warnings and errors to
// the log; no other I/O (the loop that owns the client acts on what is
// recorded).
class ClientEvents : public RdKafka::EventCb {
 public:
  explicit ClientEvents(std::string name) : name_(std::move(name)) {}
  void event_cb(RdKafka::Event& e) override {
    switch (e.type()) {
      case RdKafka::Event::EVENT_ERROR:
        if (e.fatal()) fatal = true;
        last_error = RdKafka::err2str(e.err()) + (e.str().empty() ? "" : ": " + e.str());
        LogWarn("kafka " + name_ + ": " + last_error);
        break;
      case RdKafka::Event::EVENT_LOG:
        if (e.severity() <= RdKafka::Event::EVENT_SEVERITY_ERROR) {
          LogError("kafka " + name_ + ": " + e.fac() + ": " + e.str());
        } else if (e.severity() <= RdKafka::Event::EVENT_SEVERITY_WARNING) {
          LogWarn("kafka " + name_ + ": " + e.fac() + ": " + e.str());
        }
        break;
      default:
        break;
    }
  }
  void Clear() {
    fatal = false;
    last_error.clear();
  }
  bool fatal = false;
  std::string last_error;

 private:
  std::string name_;
};

}  // namespace leadflow::ingest::detail

#endif  // LEADFLOW_INGEST_DETAIL_KAFKA_CLIENT_H_
