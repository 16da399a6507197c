#include "tests/integration/cluster.h"

#include "tests/testing/harness.h"

#include <doctest/doctest.h>
#include <librdkafka/rdkafka.h>
#include <librdkafka/rdkafkacpp.h>
#include <signal.h>
#include <spawn.h>
#include <sys/wait.h>
#include <arpa/inet.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <poll.h>
#include <sys/socket.h>
#include <unistd.h>

#include <atomic>
#include <cstdlib>
#include <fstream>
#include <memory>
#include <sstream>
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

EventStream::EventStream(int port, const std::string& target, const std::map<std::string, std::string>& headers) {
  fd_ = socket(AF_INET, SOCK_STREAM, 0);
  sockaddr_in addr{};
  addr.sin_family = AF_INET;
  addr.sin_port = htons(static_cast<uint16_t>(port));
  addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  if (fd_ < 0 || connect(fd_, reinterpret_cast<sockaddr*>(&addr), sizeof addr) != 0) {
    closed_ = true;
    return;
  }
  std::string req = "GET " + target + " HTTP/1.1\r\nHost: 127.0.0.1\r\nAccept: text/event-stream\r\n";
  for (const auto& [k, v] : headers) req += k + ": " + v + "\r\n";
  req += "\r\n";
  if (send(fd_, req.data(), req.size(), MSG_NOSIGNAL) != static_cast<ssize_t>(req.size())) {
    closed_ = true;
    return;
  }
  // The header.
  const auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(30);
  size_t end;
  while ((end = raw_.find("\r\n\r\n")) == std::string::npos) {
    if (!Fill(deadline)) return;
  }
  std::istringstream lines(raw_.substr(0, end));
  std::string line;
  std::getline(lines, line);
  if (line.size() >= 12) status_ = std::atoi(line.c_str() + 9);
  while (std::getline(lines, line)) {
    if (!line.empty() && line.back() == '\r') line.pop_back();
    const size_t colon = line.find(':');
    if (colon == std::string::npos) continue;
    std::string name = line.substr(0, colon);
    for (char& c : name) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
    headers_[name] = line.substr(line.find_first_not_of(' ', colon + 1));
  }
  raw_.erase(0, end + 4);
  chunked_ = headers_["transfer-encoding"] == "chunked";
  if (status_ != 200) {
    // Content-Length bodies only: the errors are short JSON.
    const size_t length = std::strtoul(headers_["content-length"].c_str(), nullptr, 10);
    while (raw_.size() < length && Fill(deadline)) {
    }
    body_ = raw_.substr(0, length);
  }
}

EventStream::~EventStream() {
  if (fd_ >= 0) close(fd_);
}

bool EventStream::Fill(std::chrono::steady_clock::time_point deadline) {
  if (closed_) return false;
  const auto left = std::chrono::duration_cast<std::chrono::milliseconds>(deadline - std::chrono::steady_clock::now());
  if (left.count() <= 0) return false;
  pollfd p{fd_, POLLIN, 0};
  if (poll(&p, 1, static_cast<int>(left.count())) <= 0) return false;
  char buf[65536];
  const ssize_t n = recv(fd_, buf, sizeof buf, 0);
  if (n <= 0) {
    closed_ = true;
    return false;
  }
  raw_.append(buf, static_cast<size_t>(n));
  return true;
}

std::optional<EventStream::Event> EventStream::Next(std::chrono::milliseconds timeout) {
  const auto deadline = std::chrono::steady_clock::now() + timeout;
  for (;;) {
    // Decode what was read into payload_.
    if (!chunked_) {
      payload_ += raw_;
      raw_.clear();
    }
    while (chunked_ && !raw_.empty()) {
      constexpr size_t kCrlfNext = static_cast<size_t>(-1);  // a chunk's data read, its CRLF next
      if (chunk_left_ == kCrlfNext) {
        if (raw_.size() < 2) break;
        raw_.erase(0, 2);
        chunk_left_ = 0;
        continue;
      }
      if (chunk_left_ > 0) {
        const size_t take = std::min(chunk_left_, raw_.size());
        payload_.append(raw_, 0, take);
        raw_.erase(0, take);
        chunk_left_ -= take;
        if (chunk_left_ == 0) chunk_left_ = kCrlfNext;
        continue;
      }
      const size_t eol = raw_.find("\r\n");
      if (eol == std::string::npos) break;
      const size_t size = std::strtoul(raw_.c_str(), nullptr, 16);
      raw_.erase(0, eol + 2);
      if (size == 0) {
        closed_ = true;  // the last chunk: the stream ended
        raw_.clear();
        break;
      }
      chunk_left_ = size;
    }
    // One event: the text up to a blank line.
    const size_t blank = payload_.find("\n\n");
    if (blank != std::string::npos) {
      std::istringstream lines(payload_.substr(0, blank));
      payload_.erase(0, blank + 2);
      Event e;
      std::string line;
      bool comment_only = true;
      while (std::getline(lines, line)) {
        if (line.empty()) continue;
        if (line[0] == ':') {
          e.data = line.substr(1);
          continue;
        }
        comment_only = false;
        const size_t colon = line.find(':');
        std::string field = line.substr(0, colon);
        std::string value = colon == std::string::npos ? "" : line.substr(colon + 1);
        if (!value.empty() && value[0] == ' ') value.erase(0, 1);
        if (field == "id") e.id = value;
        else if (field == "event") e.event = value;
        else if (field == "data") e.data += value;
        else if (field == "retry") e.retry = value;
      }
      if (comment_only) e.event = "comment";
      return e;
    }
    if (!Fill(deadline)) return std::nullopt;
  }
}

std::optional<EventStream::Event> EventStream::NextReport(std::chrono::milliseconds timeout) {
  const auto deadline = std::chrono::steady_clock::now() + timeout;
  for (;;) {
    const auto left = std::chrono::duration_cast<std::chrono::milliseconds>(deadline - std::chrono::steady_clock::now());
    if (left.count() <= 0) return std::nullopt;
    std::optional<Event> e = Next(left);
    if (!e) return std::nullopt;
    if (e->event != "comment" && !(e->event.empty() && e->data.empty())) return e;
  }
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
