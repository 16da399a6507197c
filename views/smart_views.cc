#include "views/smart_views.h"

#include <algorithm>
#include <random>
#include <utility>

#include <nlohmann/json.hpp>

#include "views/keys.h"
#include "views/query_parser.h"

namespace leadflow::views {
namespace {

using nlohmann::json;
using state::Cf;

std::string ViewKey(std::string_view org, std::string_view id) {
  std::string k = keys::OrgPrefix(org);
  keys::AppendStr(&k, id);
  return k;
}

// 128 bits from the system's random source as 32 lower-case hex digits.
std::string NewViewId() {
  static constexpr char kHex[] = "0123456789abcdef";
  std::random_device rd;
  std::string id = "save_";
  for (int word = 0; word < 4; ++word) {
    uint32_t v = rd();
    for (int shift = 28; shift >= 0; shift -= 4) id.push_back(kHex[(v >> shift) & 0xF]);
  }
  return id;
}

Status Validate(std::string_view name, std::string_view query) {
  if (name.empty()) return Status::InvalidArgument("name: must not be empty");
  if (name.size() > kMaxSmartViewNameBytes) {
    return Status::InvalidArgument("name: longer than " + std::to_string(kMaxSmartViewNameBytes) + " bytes");
  }
  Query parsed;
  Status s = ParseQuery(query, &parsed);
  if (!s.ok()) return Status::InvalidArgument("query: " + s.message());
  return Status::Ok();
}

}  // namespace

// JSON text; InvalidArgument when a string is not valid UTF-8 (the JSON
// dump refuses it, and every reader of a view renders it as JSON).
Status EncodeSmartView(const SmartView& v, std::string* out) {
  json j = {{"id", v.id},
            {"name", v.name},
            {"query", v.query},
            {"type", v.type},
            {"organization_id", v.organization_id},
            {"date_created", v.date_created},
            {"date_updated", v.date_updated}};
  try {
    *out = j.dump();
  } catch (const json::exception&) {
    return Status::InvalidArgument("name and query must be valid UTF-8");
  }
  return Status::Ok();
}

Status DecodeSmartView(std::string_view bytes, SmartView* out) {
  json j = json::parse(bytes, nullptr, false);
  try {
    if (j.is_discarded()) throw std::runtime_error("not JSON");
    SmartView v;
    v.id = j.at("id").get<std::string>();
    v.name = j.at("name").get<std::string>();
    v.query = j.at("query").get<std::string>();
    v.type = j.at("type").get<std::string>();
    v.organization_id = j.at("organization_id").get<std::string>();
    v.date_created = j.at("date_created").get<int64_t>();
    v.date_updated = j.at("date_updated").get<int64_t>();
    *out = std::move(v);
    return Status::Ok();
  } catch (const std::exception& e) {
    return Status::Corruption(std::string("bad smart view record: ") + e.what());
  }
}

Status ApplySmartView(state::Store* store, std::string_view org, std::string_view id, const SmartView* view) {
  state::WriteBatch batch;
  if (view == nullptr) {
    batch.Delete(Cf::kSmartViews, ViewKey(org, id));
  } else {
    std::string bytes;
    Status s = EncodeSmartView(*view, &bytes);
    if (!s.ok()) return s;
    batch.Put(Cf::kSmartViews, ViewKey(org, id), bytes);
  }
  return store->Write(&batch);
}

Status ListAllSmartViews(const state::Reader& reader, std::vector<SmartView>* out) {
  out->clear();
  Status failure;
  // Keys start with the org's UTF-8 bytes, never 0xFF.
  Status s = reader.Scan(Cf::kSmartViews, "", std::string(1, '\xff'), [&](std::string_view, std::string_view value) {
    SmartView v;
    failure = DecodeSmartView(value, &v);
    if (!failure.ok()) return false;
    out->push_back(std::move(v));
    return true;
  });
  return s.ok() ? failure : s;
}

namespace {

// Either way the view is encoded before anything is written or published
// (ApplySmartView, ClusterView::PublishSmartView): one that cannot be
// stored is refused with EncodeSmartView's InvalidArgument.
Status Put(state::Store* store, std::string_view org, const SmartView& v, const SmartViewWrite& write) {
  return write ? write(org, v.id, &v) : ApplySmartView(store, org, v.id, &v);
}

}  // namespace

Status CreateSmartView(state::Store* store, std::string_view org, std::string_view name, std::string_view query,
                       int64_t now_ms, SmartView* out, const SmartViewWrite& write) {
  Status s = Validate(name, query);
  if (!s.ok()) return s;
  SmartView v;
  v.id = NewViewId();
  v.name = std::string(name);
  v.query = std::string(query);
  v.organization_id = std::string(org);
  v.date_created = v.date_updated = now_ms;
  if (!(s = Put(store, org, v, write)).ok()) return s;
  *out = std::move(v);
  return Status::Ok();
}

Status GetSmartView(const state::Reader& reader, std::string_view org, std::string_view id, SmartView* out) {
  std::string bytes;
  Status s = reader.Get(Cf::kSmartViews, ViewKey(org, id), &bytes);
  if (s.IsNotFound()) return Status::NotFound("smart view " + std::string(id));
  return s.ok() ? DecodeSmartView(bytes, out) : s;
}

Status ListSmartViews(const state::Reader& reader, std::string_view org, uint64_t skip, uint64_t limit,
                      std::vector<SmartView>* out, bool* has_more) {
  out->clear();
  *has_more = false;
  std::vector<SmartView> all;
  Status failure;
  const std::string prefix = keys::OrgPrefix(org);
  Status s =
      reader.Scan(Cf::kSmartViews, prefix, keys::PrefixEnd(prefix), [&](std::string_view, std::string_view value) {
        SmartView v;
        failure = DecodeSmartView(value, &v);
        if (!failure.ok()) return false;
        all.push_back(std::move(v));
        return true;
      });
  if (!s.ok()) return s;
  if (!failure.ok()) return failure;
  std::sort(all.begin(), all.end(), [](const SmartView& a, const SmartView& b) {
    return a.date_created != b.date_created ? a.date_created < b.date_created : a.id < b.id;
  });
  for (uint64_t i = skip; i < all.size() && out->size() < limit; ++i) out->push_back(std::move(all[i]));
  *has_more = skip < all.size() && all.size() - skip > out->size();
  return Status::Ok();
}

Status ReplaceSmartView(state::Store* store, std::string_view org, std::string_view id,
                        const std::optional<std::string>& name, const std::optional<std::string>& query, int64_t now_ms,
                        SmartView* out, const SmartViewWrite& write) {
  SmartView v;
  Status s = GetSmartView(*store, org, id, &v);
  if (!s.ok()) return s;
  if (name) v.name = *name;
  if (query) v.query = *query;
  if (!(s = Validate(v.name, v.query)).ok()) return s;
  v.date_updated = now_ms;
  if (!(s = Put(store, org, v, write)).ok()) return s;
  *out = std::move(v);
  return Status::Ok();
}

Status DeleteSmartView(state::Store* store, std::string_view org, std::string_view id, const SmartViewWrite& write) {
  SmartView v;
  Status s = GetSmartView(*store, org, id, &v);
  if (!s.ok()) return s;
  return write ? write(org, id, nullptr) : ApplySmartView(store, org, id, nullptr);
}

ViewResolver SmartViewResolver(const state::Reader& reader, std::string org) {
  return [&reader, org = std::move(org)](const std::string& view_id, Query* out) {
    SmartView v;
    Status s = GetSmartView(reader, org, view_id, &v);
    if (!s.ok()) return s;
    Query parsed;
    s = ParseQuery(v.query, &parsed);
    if (!s.ok()) return Status::InvalidArgument("smart view " + view_id + ": " + s.message());
    *out = std::move(parsed);
    return Status::Ok();
  };
}

}  // namespace leadflow::views
