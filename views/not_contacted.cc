#include "views/not_contacted.h"

namespace leadflow::views {

Status ComputeNotContacted(const state::Reader&, std::string_view, const NotContactedQuery& query,
                           NotContactedResult* out) {
  // Placeholder until the indexes land; answers an empty result.
  *out = NotContactedResult();
  out->columns = query.output == NotContactedQuery::Output::kList
                     ? query.columns
                     : std::vector<std::string>{query.group_by,
                                                query.function == NotContactedQuery::Function::kCount ? "Count"
                                                : query.function == NotContactedQuery::Function::kSum ? "Sum"
                                                                                                       : "Average"};
  return Status::Ok();
}

}  // namespace leadflow::views
