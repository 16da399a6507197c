// Pieces shared by leadflow's librdkafka clients (the consumer, the
// dead-letter producer, the watcher): property lists applied in one place,
// and an event callback that records errors and routes librdkafka's log
// and statistics.
//
// Thread safety: ClientEvents' errors and statistics come from inside the
// owning thread's poll/consume calls and are read by that thread only; log
// lines may come from librdkafka's own threads (they only reach Log, which
// is thread-safe).
#ifndef LEADFLOW_INGEST_DETAIL_KAFKA_CLIENT_H_
#define LEADFLOW_INGEST_DETAIL_KAFKA_CLIENT_H_

#include <librdkafka/rdkafkacpp.h>

#include <memory>
#include <string>
#include <utility>
#include <vector>

#include "ingest/kafka_stats.h"
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

// librdkafka's log_level for leadflow's --log-level (syslog severities:
// 3 error, 4 warning, 6 info, 7 debug), so no line is made only to be
// dropped. A log_level property of the user's still wins.
inline std::string LibrdkafkaLogLevel() {
  if (LogEnabled(LogLevel::kDebug)) return "7";
  if (LogEnabled(LogLevel::kInfo)) return "6";
  if (LogEnabled(LogLevel::kWarn)) return "4";
  return "3";
}

// Records client errors, routes librdkafka's log lines through leadflow's
// log (state/log.h) with their level and the fields logger=librdkafka,
// client and facility, and hands statistics documents to stats (when set);
// no other I/O (the loop that owns the client acts on what is recorded).
class ClientEvents : public RdKafka::EventCb {
 public:
  explicit ClientEvents(std::string name, KafkaStats* stats = nullptr) : name_(std::move(name)), stats_(stats) {}
  void event_cb(RdKafka::Event& e) override {
    switch (e.type()) {
      case RdKafka::Event::EVENT_ERROR:
        if (e.fatal()) fatal = true;
        last_error = RdKafka::err2str(e.err()) + (e.str().empty() ? "" : ": " + e.str());
        Log(LogLevel::kWarn, "kafka " + name_ + ": " + last_error,
            {{"logger", "librdkafka"}, {"client", name_}, {"error", RdKafka::err2str(e.err())}});
        break;
      case RdKafka::Event::EVENT_LOG: {
        const int severity = e.severity();
        const LogLevel level = severity <= RdKafka::Event::EVENT_SEVERITY_ERROR     ? LogLevel::kError
                               : severity <= RdKafka::Event::EVENT_SEVERITY_WARNING ? LogLevel::kWarn
                               : severity <= RdKafka::Event::EVENT_SEVERITY_INFO    ? LogLevel::kInfo
                                                                                    : LogLevel::kDebug;
        if (LogEnabled(level)) {
          Log(level, "kafka " + name_ + ": " + e.fac() + ": " + e.str(),
              {{"logger", "librdkafka"}, {"client", name_}, {"facility", e.fac()}});
        }
        break;
      }
      case RdKafka::Event::EVENT_STATS:
        if (stats_ && !stats_->Update(e.str())) LogWarn("kafka " + name_ + ": statistics that are not JSON, ignored");
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
  KafkaStats* stats_;
};

// A producer of leadflow's own records (dead letters, re-routed copies):
// acks=all, idempotent, linger 5 ms, leadflow's log level, then settings
// (client.id, timeouts, ...), then the user's extra properties; its
// delivery reports go to dr and its events to events (both must outlive
// it).
inline Status NewOwnRecordsProducer(const std::string& brokers, const Properties& settings, const Properties& extra,
                                    RdKafka::DeliveryReportCb* dr, RdKafka::EventCb* events,
                                    std::unique_ptr<RdKafka::Producer>* out) {
  std::unique_ptr<RdKafka::Conf> conf(RdKafka::Conf::create(RdKafka::Conf::CONF_GLOBAL));
  Properties all = {{"bootstrap.servers", brokers},
                    {"acks", "all"},
                    {"enable.idempotence", "true"},
                    {"linger.ms", "5"},
                    {"log_level", LibrdkafkaLogLevel()}};
  all.insert(all.end(), settings.begin(), settings.end());
  Status s = Configure(conf.get(), all, extra);
  if (!s.ok()) return s;
  std::string err;
  if (conf->set("dr_cb", dr, err) != RdKafka::Conf::CONF_OK || conf->set("event_cb", events, err) != RdKafka::Conf::CONF_OK) {
    return Status::InvalidArgument(err);
  }
  out->reset(RdKafka::Producer::create(conf.get(), err));
  if (!*out) return Status::InvalidArgument("kafka producer: " + err);
  return Status::Ok();
}

}  // namespace leadflow::ingest::detail

#endif  // LEADFLOW_INGEST_DETAIL_KAFKA_CLIENT_H_
