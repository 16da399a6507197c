#include "ingest/kafka_config.h"

#include <fstream>
#include <sstream>

namespace leadflow::ingest {
namespace {

std::string_view Trim(std::string_view s) {
  const size_t b = s.find_first_not_of(" \t\r\n");
  if (b == std::string_view::npos) return {};
  const size_t e = s.find_last_not_of(" \t\r\n");
  return s.substr(b, e - b + 1);
}

}  // namespace

Status ParseKafkaConfig(std::string_view text, const std::string& name, KafkaProperties* out) {
  size_t line_no = 0;
  while (!text.empty()) {
    const size_t nl = text.find('\n');
    const std::string_view raw = text.substr(0, nl);
    text = nl == std::string_view::npos ? std::string_view() : text.substr(nl + 1);
    ++line_no;
    const std::string_view line = Trim(raw);
    if (line.empty() || line.front() == '#' || line.front() == '!') continue;
    const size_t eq = line.find('=');
    const std::string where = name + " line " + std::to_string(line_no);
    if (eq == std::string_view::npos) return Status::InvalidArgument(where + ": expected KEY=VALUE");
    const std::string_view key = Trim(line.substr(0, eq));
    if (key.empty()) return Status::InvalidArgument(where + ": the property name is empty");
    out->emplace_back(std::string(key), std::string(Trim(line.substr(eq + 1))));
  }
  return Status::Ok();
}

Status ReadKafkaConfig(const std::string& path, KafkaProperties* out) {
  std::ifstream in(path, std::ios::binary);
  if (!in) return Status::IoError("cannot read the Kafka configuration " + path);
  std::ostringstream text;
  text << in.rdbuf();
  if (in.bad()) return Status::IoError("cannot read the Kafka configuration " + path);
  return ParseKafkaConfig(text.str(), path, out);
}

}  // namespace leadflow::ingest
