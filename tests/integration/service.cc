#include "tests/integration/service.h"

#include <doctest/doctest.h>
#include <signal.h>

#include <fstream>
#include <sstream>

namespace leadflow::it {

Service::Service(int partitions)
    : topic_(UniqueName("events")), dlq_(topic_ + ".dlq"), group_(UniqueName("group")), port_(FreePort()) {
  CreateTopic(topic_, partitions);
  CreateTopic(dlq_, 1);
  std::string creds = "[";
  const char* orgs[] = {"org1", "org2", "org_acme", "org_globex", "org_initech"};
  for (size_t i = 0; i < sizeof(orgs) / sizeof(orgs[0]); ++i) {
    creds += std::string(i ? "," : "") + R"({"org_id":")" + orgs[i] + R"(","api_key":")" + KeyOf(orgs[i]) +
             R"(","lsq_access_key":"u$r)" + orgs[i] + R"(","lsq_secret_key":"s3)" + orgs[i] + "\"}";
  }
  WriteFile(dir_.path() + "/credentials.json", creds + "]");
}

void Service::Start() {
  proc_ = std::make_unique<Process>(
      std::vector<std::string>{LeadflowBin(), "serve", "--brokers", Brokers(), "--topic", topic_, "--dlq-topic", dlq_,
                               "--group", group_, "--data-dir", data_dir(), "--listen",
                               "127.0.0.1:" + std::to_string(port_), "--credentials",
                               dir_.path() + "/credentials.json", "--threads", "2"},
      dir_.path() + "/leadflow.log");
}

void Service::Kill9() {
  if (!proc_) return;
  proc_->Kill(SIGKILL);
  proc_->Wait();
  proc_.reset();
}

void Service::Stop() {
  if (!proc_) return;
  proc_->Kill(SIGTERM);
  proc_->Wait();
  proc_.reset();
}

std::string Service::Log() const {
  std::ifstream f(dir_.path() + "/leadflow.log");
  std::stringstream ss;
  ss << f.rdbuf();
  std::string s = ss.str();
  return s.size() > 4000 ? s.substr(s.size() - 4000) : s;
}

}  // namespace leadflow::it
