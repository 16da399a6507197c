// Flags: `--name value` / `--name=value` command-line flags, each with a
// LEADFLOW_<NAME> environment fallback (dashes become underscores).
//
// Thread safety: not thread-safe; used by main() only.
#ifndef LEADFLOW_APP_FLAGS_H_
#define LEADFLOW_APP_FLAGS_H_

#include <map>
#include <optional>
#include <set>
#include <string>
#include <vector>

#include "state/status.h"

namespace leadflow::app {

class Flags {
 public:
  // Parses args (after the subcommand). known lists the accepted names.
  static Status Parse(const std::vector<std::string>& args, const std::set<std::string>& known, Flags* out);
  // The flag's value, else its environment variable's, else fallback.
  std::string Get(const std::string& name, const std::string& fallback = "") const;
  std::optional<std::string> Find(const std::string& name) const;
  // Every value of a flag that may be repeated, in order; when it was not
  // given, the lines of its environment variable (one value per line).
  std::vector<std::string> GetAll(const std::string& name) const;

 private:
  static std::string EnvName(const std::string& name);
  std::map<std::string, std::vector<std::string>> values_;  // the last value wins for Get
};

}  // namespace leadflow::app

#endif  // LEADFLOW_APP_FLAGS_H_
