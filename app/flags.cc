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
    f.values_[name] = value;
  }
  *out = std::move(f);
  return Status::Ok();
}

std::optional<std::string> Flags::Find(const std::string& name) const {
  auto it = values_.find(name);
  if (it != values_.end()) return it->second;
  std::string env = "LEADFLOW_";
  for (char c : name) env.push_back(c == '-' ? '_' : static_cast<char>(std::toupper(static_cast<unsigned char>(c))));
  if (const char* v = std::getenv(env.c_str()); v && *v) return std::string(v);
  return std::nullopt;
}

std::string Flags::Get(const std::string& name, const std::string& fallback) const {
  return Find(name).value_or(fallback);
}

}  // namespace leadflow::app
