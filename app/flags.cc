#include "app/flags.h"

#include <cstdlib>

namespace leadflow::app {

Status Flags::Parse(const std::vector<std::string>& args, const std::set<std::string>& known, Flags* out) {
  Flags f;
  for (size_t i = 0; i < args.size(); ++i) {
    const std::string& a = args[i];
    if (a.rfind("--", 0) != 0) return Status::InvalidArgument("unexpected argument: " + a);
    std::string name = a.substr(2), value;
    size_t eq = name.find('=');
    if (eq != std::string::npos) {
      value = name.substr(eq + 1);
      name = name.substr(0, eq);
    } else {
      if (i + 1 >= args.size()) return Status::InvalidArgument("--" + name + " needs a value");
      value = args[++i];
    }
    if (!known.count(name)) return Status::InvalidArgument("unknown flag --" + name);
    f.values_[name].push_back(value);
  }
  *out = std::move(f);
  return Status::Ok();
}

std::string Flags::EnvName(const std::string& name) {
  std::string env = "LEADFLOW_";
  for (char c : name) env.push_back(c == '-' ? '_' : static_cast<char>(std::toupper(static_cast<unsigned char>(c))));
  return env;
}

std::optional<std::string> Flags::Find(const std::string& name) const {
  auto it = values_.find(name);
  if (it != values_.end()) return it->second.back();
  if (const char* v = std::getenv(EnvName(name).c_str()); v && *v) return std::string(v);
  return std::nullopt;
}

std::vector<std::string> Flags::GetAll(const std::string& name) const {
  auto it = values_.find(name);
  if (it != values_.end()) return it->second;
  std::vector<std::string> out;
  if (const char* v = std::getenv(EnvName(name).c_str()); v && *v) {
    std::string text(v);
    size_t start = 0;
    while (start <= text.size()) {
      size_t end = text.find('\n', start);
      if (end == std::string::npos) end = text.size();
      std::string line = text.substr(start, end - start);
      if (!line.empty() && line.back() == '\r') line.pop_back();
      if (!line.empty()) out.push_back(line);
      start = end + 1;
    }
  }
  return out;
}

std::string Flags::Get(const std::string& name, const std::string& fallback) const {
  return Find(name).value_or(fallback);
}

}  // namespace leadflow::app
