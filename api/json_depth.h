// JSON depth: request bodies come from outside, and nlohmann's copy and
// dump recurse once per nesting level, so a body of 500,000 nested brackets
// (well within the body limit) would exhaust a thread's stack. Handlers check
// the depth with this iterative walk before they copy or dump any part.
//
// Thread safety: pure function.
#ifndef LEADFLOW_API_JSON_DEPTH_H_
#define LEADFLOW_API_JSON_DEPTH_H_

#include <cstddef>
#include <utility>
#include <vector>

#include <nlohmann/json.hpp>

namespace leadflow::api {

// Nesting a request body may have (the body itself is level 1); Close's and
// LeadSquared's bodies need at most 6.
inline constexpr size_t kMaxBodyDepth = 64;

// True when doc nests objects and arrays at most max levels (doc is level 1).
inline bool JsonNestedAtMost(const nlohmann::json& doc, size_t max) {
  std::vector<std::pair<const nlohmann::json*, size_t>> todo = {{&doc, 1}};
  while (!todo.empty()) {
    const auto [node, depth] = todo.back();
    todo.pop_back();
    if (!node->is_structured()) continue;
    if (depth > max) return false;
    for (const nlohmann::json& child : *node) todo.emplace_back(&child, depth + 1);
  }
  return true;
}

}  // namespace leadflow::api

#endif  // LEADFLOW_API_JSON_DEPTH_H_
