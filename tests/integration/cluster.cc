#include "tests/integration/cluster.h"

#include "tests/testing/harness.h"

#include <doctest/doctest.h>
#include <librdkafka/rdkafka.h>
#include <librdkafka/rdkafkacpp.h>
#include <signal.h>
#include <spawn.h>
#include <sys/wait.h>
#include <fcntl.h>
#include <unistd.h>

#include <atomic>
#include <cstdlib>
#include <fstream>
#include <memory>
#include <thread>

#include <boost/asio/connect.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/beast/core.hpp>
#include <boost/beast/http.hpp>
#include <nlohmann/json.hpp>

extern char** environ;

namespace leadflow::it {

namespace beast = boost::beast;
namespace http = beast::http;
namespace asio = boost::asio;

namespace {
std::string* g_brokers_override = nullptr;
}  // namespace

ScopedBrokers::ScopedBrokers(const std::string& brokers) { g_brokers_override = new std::string(brokers); }
ScopedBrokers::~ScopedBrokers() {
  delete g_brokers_override;
  g_brokers_override = nullptr;
}

PrivateBroker::PrivateBroker() {
  char tmpl[] = "/tmp/leadflow-broker-XXXXXX";
  REQUIRE(mkdtemp(tmpl) != nullptr);
  dir_ = tmpl;
  const int port = FreePort();
  int controller = FreePort();
  while (controller == port) controller = FreePort();
  brokers_ = "127.0.0.1:" + std::to_string(port);
  env_ = "KAFKA_DIR=" + dir_ + " KAFKA_PORT=" + std::to_string(port) +
         " KAFKA_CONTROLLER_PORT=" + std::to_string(controller) + " KAFKA_HEAP_OPTS='-Xms128m -Xmx384m'" +
         " KAFKA_SASL_PORT=";  // no SASL listener (the test broker's port is taken)
  Start();
}

PrivateBroker::~PrivateBroker() { Run("reset"); }

std::string ConsumerGroups(const std::string& args) {
  // The tool reaches the broker at 127.0.0.1:KAFKA_PORT.
  const std::string brokers = Brokers();
  const std::string port = brokers.substr(brokers.rfind(':') + 1);
  const std::string cmd = "KAFKA_PORT=" + port + " KAFKA_DIR=$(mktemp -d) bash " + std::string(LEADFLOW_SOURCE_DIR) +
                          "/scripts/kafka.sh consumer-groups " + args + " 2>/dev/null";
  std::string out;
  FILE* f = popen(cmd.c_str(), "r");
  REQUIRE(f != nullptr);
  char buf[4096];
  size_t n;
  while ((n = fread(buf, 1, sizeof buf, f)) > 0) out.append(buf, n);
  pclose(f);
  return out;
}

int PrivateBroker::Run(const std::string& command) {
  const std::string cmd = env_ + " bash " + std::string(LEADFLOW_SOURCE_DIR) + "/scripts/kafka.sh " + command +
                          " >>" + dir_ + ".log 2>&1";
  return std::system(cmd.c_str());
}

void PrivateBroker::Start() { REQUIRE_MESSAGE(Run("start") == 0, "private broker did not start: see ", dir_, ".log"); }
void PrivateBroker::Kill9() { REQUIRE(Run("kill") == 0); }
void PrivateBroker::Stop() { REQUIRE(Run("stop") == 0); }
void PrivateBroker::ClientQuota(const std::string& client_id, int64_t bytes_per_second) {
  REQUIRE(Run("client-quota " + client_id + " " + std::to_string(bytes_per_second)) == 0);
}

std::string Brokers() {
  if (g_brokers_override) return *g_brokers_override;
  const char* b = std::getenv("LEADFLOW_TEST_BROKERS");
  REQUIRE_MESSAGE(b != nullptr, "LEADFLOW_TEST_BROKERS is not set: run the tests with scripts/test.sh");
  return b;
}

std::string UniqueName(const std::string& suffix) {
  static std::atomic<int> n{0};
  return "it-" + std::to_string(getpid()) + "-" + std::to_string(n++) + "-" + suffix;
}

void CreateTopic(const std::string& topic, int partitions,
                 const std::vector<std::pair<std::string, std::string>>& configs) {
  char err[512];
  rd_kafka_conf_t* conf = rd_kafka_conf_new();
  REQUIRE(rd_kafka_conf_set(conf, "bootstrap.servers", Brokers().c_str(), err, sizeof(err)) == RD_KAFKA_CONF_OK);
  rd_kafka_t* rk = rd_kafka_new(RD_KAFKA_PRODUCER, conf, err, sizeof(err));
  REQUIRE_MESSAGE(rk != nullptr, err);
  rd_kafka_NewTopic_t* nt = rd_kafka_NewTopic_new(topic.c_str(), partitions, 1, err, sizeof(err));
  REQUIRE_MESSAGE(nt != nullptr, err);
  for (const auto& [name, value] : configs) {
    REQUIRE(rd_kafka_NewTopic_set_config(nt, name.c_str(), value.c_str()) == RD_KAFKA_RESP_ERR_NO_ERROR);
  }
  rd_kafka_queue_t* q = rd_kafka_queue_new(rk);
  rd_kafka_CreateTopics(rk, &nt, 1, nullptr, q);
  rd_kafka_event_t* ev = rd_kafka_queue_poll(q, 30000);
  REQUIRE_MESSAGE(ev != nullptr, "CreateTopics timed out");
  const rd_kafka_CreateTopics_result_t* res = rd_kafka_event_CreateTopics_result(ev);
  size_t cnt = 0;
  const rd_kafka_topic_result_t** results = rd_kafka_CreateTopics_result_topics(res, &cnt);
  for (size_t i = 0; i < cnt; ++i) {
    rd_kafka_resp_err_t e = rd_kafka_topic_result_error(results[i]);
    CHECK_MESSAGE((e == RD_KAFKA_RESP_ERR_NO_ERROR || e == RD_KAFKA_RESP_ERR_TOPIC_ALREADY_EXISTS),
                  rd_kafka_err2str(e));
  }
  rd_kafka_event_destroy(ev);
  rd_kafka_queue_destroy(q);
  rd_kafka_NewTopic_destroy(nt);
  // Wait until metadata shows every partition with a leader.
  for (int attempt = 0; attempt < 100; ++attempt) {
    const rd_kafka_metadata_t* md = nullptr;
    rd_kafka_topic_t* t = rd_kafka_topic_new(rk, topic.c_str(), nullptr);
    bool ok = rd_kafka_metadata(rk, 0, t, &md, 5000) == RD_KAFKA_RESP_ERR_NO_ERROR && md->topic_cnt == 1 &&
              md->topics[0].err == RD_KAFKA_RESP_ERR_NO_ERROR && md->topics[0].partition_cnt == partitions;
    if (ok) {
      for (int p = 0; p < md->topics[0].partition_cnt; ++p) ok = ok && md->topics[0].partitions[p].leader >= 0;
    }
    if (md) rd_kafka_metadata_destroy(md);
    rd_kafka_topic_destroy(t);
    if (ok) break;
    std::this_thread::sleep_for(std::chrono::milliseconds(100));
  }
  rd_kafka_destroy(rk);
}

namespace {
class CountingDr : public RdKafka::DeliveryReportCb {
 public:
  void dr_cb(RdKafka::Message& m) override {
    if (m.err()) ++failed;
    if (partitions && m.msg_opaque()) {
      (*partitions)[reinterpret_cast<uintptr_t>(m.msg_opaque()) - 1] = m.partition();
    }
  }
  std::atomic<int> failed{0};
  std::vector<int32_t>* partitions = nullptr;  // by message index, when asked for
};
}  // namespace

void Produce(const std::string& topic, const std::vector<Message>& messages) {
  ProduceWith(topic, messages, "", nullptr);
}

namespace {
void ProduceImpl(const std::string& topic, const std::vector<Message>& messages, const std::string& partitioner,
                 std::vector<int32_t>* partitions, int32_t partition);
}  // namespace

void ProduceWith(const std::string& topic, const std::vector<Message>& messages, const std::string& partitioner,
                 std::vector<int32_t>* partitions) {
  ProduceImpl(topic, messages, partitioner, partitions, RdKafka::Topic::PARTITION_UA);
}

void ProduceToPartition(const std::string& topic, const std::vector<Message>& messages, int32_t partition) {
  ProduceImpl(topic, messages, "", nullptr, partition);
}

namespace {
void ProduceImpl(const std::string& topic, const std::vector<Message>& messages, const std::string& partitioner,
                 std::vector<int32_t>* partitions, int32_t partition) {
  std::string err;
  CountingDr dr;
  if (partitions) {
    partitions->assign(messages.size(), -1);
    dr.partitions = partitions;
  }
  std::unique_ptr<RdKafka::Conf> conf(RdKafka::Conf::create(RdKafka::Conf::CONF_GLOBAL));
  if (!partitioner.empty()) REQUIRE(conf->set("partitioner", partitioner, err) == RdKafka::Conf::CONF_OK);
  conf->set("bootstrap.servers", Brokers(), err);
  conf->set("acks", "all", err);
  conf->set("linger.ms", "5", err);
  conf->set("enable.idempotence", "true", err);
  conf->set("message.max.bytes", "2000000", err);  // poison messages of about 1 MB
  conf->set("dr_cb", &dr, err);
  std::unique_ptr<RdKafka::Producer> p(RdKafka::Producer::create(conf.get(), err));
  REQUIRE_MESSAGE(p != nullptr, err);
  for (size_t i = 0; i < messages.size(); ++i) {
    const Message& m = messages[i];
    void* opaque = partitions ? reinterpret_cast<void*>(static_cast<uintptr_t>(i + 1)) : nullptr;
    RdKafka::Headers* headers = nullptr;
    if (!m.headers.empty()) {
      headers = RdKafka::Headers::create();
      for (const auto& [k, v] : m.headers) headers->add(k, v);
    }
    for (;;) {
      auto e = p->produce(topic, partition, RdKafka::Producer::RK_MSG_COPY,
                          const_cast<char*>(m.value.data()), m.value.size(), m.key ? m.key->data() : nullptr,
                          m.key ? m.key->size() : 0, 0, headers, opaque);
      if (e == RdKafka::ERR__QUEUE_FULL) {
        p->poll(50);
        continue;
      }
      REQUIRE_MESSAGE(e == RdKafka::ERR_NO_ERROR, RdKafka::err2str(e));
      break;
    }
    p->poll(0);
  }
  REQUIRE(p->flush(60000) == RdKafka::ERR_NO_ERROR);
  REQUIRE(dr.failed == 0);
}
}  // namespace

std::optional<std::string> OrgKey(const std::string& json_value) {
  auto j = nlohmann::json::parse(json_value, nullptr, false);
  if (j.is_object() && j.contains("org_id") && j["org_id"].is_string()) return j["org_id"].get<std::string>();
  return std::nullopt;
}

std::vector<Message> ConsumeAll(const std::string& topic, std::chrono::milliseconds idle) {
  std::string err;
  std::unique_ptr<RdKafka::Conf> conf(RdKafka::Conf::create(RdKafka::Conf::CONF_GLOBAL));
  conf->set("bootstrap.servers", Brokers(), err);
  conf->set("group.id", UniqueName("reader"), err);
  conf->set("auto.offset.reset", "earliest", err);
  conf->set("enable.auto.commit", "false", err);
  std::unique_ptr<RdKafka::KafkaConsumer> c(RdKafka::KafkaConsumer::create(conf.get(), err));
  REQUIRE_MESSAGE(c != nullptr, err);
  c->subscribe({topic});
  std::vector<Message> out;
  auto last = std::chrono::steady_clock::now();
  while (std::chrono::steady_clock::now() - last < idle) {
    std::unique_ptr<RdKafka::Message> m(c->consume(200));
    if (m->err() != RdKafka::ERR_NO_ERROR) continue;
    Message msg;
    if (m->key()) msg.key = *m->key();
    msg.value.assign(static_cast<const char*>(m->payload()), m->len());
    if (RdKafka::Headers* h = m->headers()) {
      for (const auto& hdr : h->get_all()) {
        msg.headers[hdr.key()] = std::string(static_cast<const char*>(hdr.value()), hdr.value_size());
      }
    }
    out.push_back(std::move(msg));
    last = std::chrono::steady_clock::now();
  }
  c->close();
  return out;
}

int FreePort() {
  asio::io_context ioc;
  asio::ip::tcp::acceptor a(ioc, asio::ip::tcp::endpoint(asio::ip::make_address("127.0.0.1"), 0));
  return a.local_endpoint().port();
}

Process::Process(const std::vector<std::string>& argv, const std::string& log_path) {
  posix_spawn_file_actions_t actions;
  posix_spawn_file_actions_init(&actions);
  posix_spawn_file_actions_addopen(&actions, 2, log_path.c_str(), O_WRONLY | O_CREAT | O_APPEND, 0644);
  posix_spawn_file_actions_addopen(&actions, 1, log_path.c_str(), O_WRONLY | O_CREAT | O_APPEND, 0644);
  std::vector<char*> args;
  for (const auto& a : argv) args.push_back(const_cast<char*>(a.c_str()));
  args.push_back(nullptr);
  int rc = posix_spawn(&pid_, args[0], &actions, nullptr, args.data(), environ);
  posix_spawn_file_actions_destroy(&actions);
  REQUIRE_MESSAGE(rc == 0, "cannot start ", argv[0]);
}

Process::~Process() {
  if (pid_ > 0 && Running()) {
    kill(pid_, SIGKILL);
    Wait();
  }
}

void Process::Kill(int signal) {
  if (pid_ > 0) kill(pid_, signal);
}

int Process::Wait() {
  if (pid_ > 0) {
    waitpid(pid_, &status_, 0);
    pid_ = -1;
  }
  return status_;
}

bool Process::Running() {
  if (pid_ <= 0) return false;
  pid_t r = waitpid(pid_, &status_, WNOHANG);
  if (r == pid_) {
    pid_ = -1;
    return false;
  }
  return true;
}

namespace {
HttpResult HttpRequest(http::verb verb, int port, const std::string& target, const std::string* body,
                       const std::map<std::string, std::string>& headers) {
  HttpResult out;
  try {
    asio::io_context ioc;
    beast::tcp_stream stream(ioc);
    stream.expires_after(std::chrono::seconds(30));
    stream.connect(asio::ip::tcp::endpoint(asio::ip::make_address("127.0.0.1"), static_cast<unsigned short>(port)));
    http::request<http::string_body> req{verb, target, 11};
    req.set(http::field::host, "127.0.0.1");
    if (body != nullptr) {
      req.set(http::field::content_type, "application/json");
      req.body() = *body;
      req.prepare_payload();
    }
    for (const auto& [k, v] : headers) req.set(k, v);
    http::write(stream, req);
    beast::flat_buffer buffer;
    http::response<http::string_body> res;
    http::read(stream, buffer, res);
    out.status = static_cast<int>(res.result_int());
    out.body = res.body();
    for (const auto& f : res) out.headers[std::string(f.name_string())] = std::string(f.value());
    beast::error_code ec;
    stream.socket().shutdown(asio::ip::tcp::socket::shutdown_both, ec);
  } catch (const std::exception&) {
    out.status = 0;
  }
  return out;
}
}  // namespace

HttpResult HttpGet(int port, const std::string& target, const std::map<std::string, std::string>& headers) {
  return HttpRequest(http::verb::get, port, target, nullptr, headers);
}

HttpResult HttpPost(int port, const std::string& target, const std::string& body,
                    const std::map<std::string, std::string>& headers) {
  return HttpRequest(http::verb::post, port, target, &body, headers);
}

HttpResult HttpDelete(int port, const std::string& target, const std::map<std::string, std::string>& headers) {
  return HttpRequest(http::verb::delete_, port, target, nullptr, headers);
}

bool WaitReady(int port, std::chrono::seconds deadline) {
  auto end = std::chrono::steady_clock::now() + deadline;
  while (std::chrono::steady_clock::now() < end) {
    if (HttpGet(port, "/readyz").status == 200) return true;
    std::this_thread::sleep_for(std::chrono::milliseconds(100));
  }
  return false;
}

double Metric(int port, const std::string& name) {
  HttpResult r = HttpGet(port, "/metrics");
  if (r.status != 200) return -1;
  size_t pos = 0;
  while ((pos = r.body.find(name + " ", pos)) != std::string::npos) {
    if (pos == 0 || r.body[pos - 1] == '\n') return std::stod(r.body.substr(pos + name.size() + 1));
    pos += name.size();
  }
  return -1;
}

std::string BasicAuth(const std::string& key) { return "Basic " + testing::Base64(key + ":"); }

std::string LeadflowBin() { return LEADFLOW_BIN; }
std::string GeneratorBin() { return LEADFLOW_GEN_BIN; }

void WriteFile(const std::string& path, const std::string& text) {
  std::ofstream f(path);
  f << text;
  REQUIRE(f.good());
}

std::vector<std::string> ReadLines(const std::string& path) {
  std::ifstream f(path);
  std::vector<std::string> out;
  std::string line;
  while (std::getline(f, line)) {
    if (!line.empty()) out.push_back(line);
  }
  return out;
}

}  // namespace leadflow::it
