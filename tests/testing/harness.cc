#include "tests/testing/harness.h"

#include <openssl/evp.h>
#include <openssl/pem.h>
#include <openssl/x509.h>

#include <cstdio>

#include <doctest/doctest.h>
#include <stdlib.h>

#include <algorithm>
#include <atomic>
#include <cctype>
#include <filesystem>
#include <sstream>
#include <stdexcept>

#include <nlohmann/json.hpp>

#include "tests/testing/check_ok.h"
#include "state/bitmap_merge.h"
#include "views/records.h"
#include "views/time.h"

namespace leadflow::testing {

bool WriteSelfSignedCert(const std::string& cert_path, const std::string& key_path) {
  std::unique_ptr<EVP_PKEY, decltype(&EVP_PKEY_free)> key(EVP_EC_gen("P-256"), EVP_PKEY_free);
  if (!key) return false;
  std::unique_ptr<X509, decltype(&X509_free)> cert(X509_new(), X509_free);
  X509_set_version(cert.get(), 2);
  ASN1_INTEGER_set(X509_get_serialNumber(cert.get()), 1);
  X509_gmtime_adj(X509_getm_notBefore(cert.get()), -60);
  X509_gmtime_adj(X509_getm_notAfter(cert.get()), 3600);
  X509_set_pubkey(cert.get(), key.get());
  X509_NAME* name = X509_get_subject_name(cert.get());
  X509_NAME_add_entry_by_txt(name, "CN", MBSTRING_ASC, reinterpret_cast<const unsigned char*>("localhost"), -1, -1,
                             0);
  X509_set_issuer_name(cert.get(), name);
  if (X509_sign(cert.get(), key.get(), EVP_sha256()) <= 0) return false;
  FILE* c = std::fopen(cert_path.c_str(), "w");
  if (c == nullptr) return false;
  PEM_write_X509(c, cert.get());
  std::fclose(c);
  FILE* k = std::fopen(key_path.c_str(), "w");
  if (k == nullptr) return false;
  PEM_write_PrivateKey(k, key.get(), nullptr, nullptr, 0, nullptr, nullptr);
  std::fclose(k);
  return true;
}
namespace {
std::atomic<int> next_event{0};
}  // namespace

std::string Ev(nlohmann::json j, const std::string& type, const std::string& at, const std::string& org) {
  j["event_id"] = "ev" + std::to_string(next_event++);
  j["type"] = type;
  j["org_id"] = org;
  j["occurred_at"] = at;
  return j.dump();
}

TempDir::TempDir() {
  std::string tmpl = (std::filesystem::temp_directory_path() / "leadflow-test-XXXXXX").string();
  path_ = mkdtemp(tmpl.data());
}
TempDir::~TempDir() {
  std::error_code ec;
  std::filesystem::remove_all(path_, ec);
}

std::string StatusUpserted(const std::string& id, const std::string& label, std::optional<int64_t> position,
                           const std::string& at, const std::string& org) {
  nlohmann::json j = {{"status_id", id}, {"label", label}};
  if (position) j["position"] = *position;
  return Ev(j, "status.upserted", at, org);
}
std::string StatusDeleted(const std::string& id, const std::string& at, const std::string& org) {
  return Ev({{"status_id", id}}, "status.deleted", at, org);
}
std::string Created(const std::string& lead, const std::string& status, const std::string& at,
                    const std::string& org) {
  return Ev({{"lead_id", lead}, {"status_id", status}}, "lead.created", at, org);
}
std::string Changed(const std::string& lead, const std::string& status, const std::string& at,
                    const std::string& org) {
  return Ev({{"lead_id", lead}, {"status_id", status}}, "lead.status_changed", at, org);
}
std::string Deleted(const std::string& lead, const std::string& at, const std::string& org) {
  return Ev({{"lead_id", lead}}, "lead.deleted", at, org);
}
std::string WithEventId(const std::string& event_json, const std::string& event_id) {
  auto j = nlohmann::json::parse(event_json);
  j["event_id"] = event_id;
  return j.dump();
}

std::unique_ptr<state::Store> OpenTestStore(const std::string& dir) {
  state::Store::Options o;
  o.block_cache_bytes = 8u << 20;
  o.bitmap_cache_bytes = 16u << 20;  // reports read through it, as the service's do
  std::unique_ptr<state::Store> s;
  REQUIRE_OK(state::Store::Open(dir, o, &s));
  return s;
}

TestDb::TestDb() {
  state::Store::Options o;
  o.bitmap_cache_bytes = 16u << 20;  // reports read through it, as the service's do
  REQUIRE_OK(state::Store::Open(dir_.path(), o, &store_));
}
TestDb::TestDb(const state::Store::Options& options) { REQUIRE_OK(state::Store::Open(dir_.path(), options, &store_)); }

std::map<std::string, std::string> DumpState(state::Store* store, bool bitmaps_as_sets) {
  std::map<std::string, std::string> all;
  for (int cf = 0; cf < static_cast<int>(state::Cf::kCount); ++cf) {
    REQUIRE_OK(store->Scan(static_cast<state::Cf>(cf), "", "\xFF\xFF\xFF\xFF", [&](std::string_view k, std::string_view v) {
      if (static_cast<state::Cf>(cf) == state::Cf::kLeads) {
        views::LeadRecord r;
        REQUIRE(views::LeadRecord::Decode(v, &r).ok());
        all.emplace(std::to_string(cf) + "|" + std::string(k), r.Encode());
        return true;
      }
      if (bitmaps_as_sets && static_cast<state::Cf>(cf) == state::Cf::kBitmaps) {
        Roaring chunk;
        REQUIRE(state::DecodeBitmapChunk(v, &chunk).ok());
        std::string numbers;
        for (uint32_t n : chunk) numbers += std::to_string(n) + ",";
        all.emplace(std::to_string(cf) + "|" + std::string(k), numbers);
        return true;
      }
      all.emplace(std::to_string(cf) + "|" + std::string(k), std::string(v));
      return true;
    }));
  }
  return all;
}

size_t TestDb::Ingest(const std::vector<std::string>& events, size_t batch_size) {
  ingest::Stats stats;
  std::unique_ptr<ingest::Pipeline> pipeline;
  REQUIRE_OK(ingest::Pipeline::Create(store_.get(), &stats, &pipeline));
  pipeline->set_change_feed(feed_);
  size_t dead = 0;
  for (size_t i = 0; i < events.size(); ++i) {
    // The local source: arrival numbers go on across calls.
    REQUIRE_OK(pipeline->Add(events[i], std::nullopt, {"test", ingest::SourcePosition::kLocal}, static_cast<int64_t>(i)));
    if (pipeline->pending() >= batch_size) {
      REQUIRE_OK(pipeline->ApplyAdded());
      dead += pipeline->dead_letters().size();
      REQUIRE_OK(pipeline->Commit());
    }
  }
  REQUIRE_OK(pipeline->ApplyAdded());
  dead += pipeline->dead_letters().size();
  REQUIRE_OK(pipeline->Commit());
  return dead;
}

views::StatusReport TestDb::Report(const std::optional<views::Period>& period, const std::string& org) {
  auto snap = store_->NewSnapshot();
  views::StatusReport r;
  REQUIRE_OK(views::ComputeStatusReport(*snap, org, period, nullptr, &r));
  return r;
}

std::string TestDb::ReportText(const std::optional<views::Period>& period, const std::string& org) {
  return ReportToText(Report(period, org));
}

int64_t Ms(const std::string& rfc3339) {
  auto v = views::ParseRfc3339Ms(rfc3339);
  if (!v) throw std::invalid_argument("not an RFC 3339 timestamp: " + rfc3339);
  return *v;
}

views::Period P(const std::string& start, const std::string& end) { return views::Period{Ms(start), Ms(end)}; }

std::string ReportToText(const views::StatusReport& report) {
  std::ostringstream out;
  for (const auto& r : report.rows) {
    out << r.status.label << (r.status.deleted ? "(deleted)" : "") << ":";
    if (report.period) out << " started=" << r.started;
    out << " ended=" << r.ended;
    if (report.period) out << " gained=" << r.gained << " lost=" << r.lost;
    out << " entered=" << r.entered << " left=" << r.left << "\n";
  }
  auto name = [](const std::optional<views::StatusRef>& s) { return s ? s->label : std::string("null"); };
  for (const auto& t : report.transitions) out << "T " << name(t.from) << "->" << t.to.label << " " << t.count << "\n";
  for (const auto& t : report.summary) out << "S " << name(t.from) << "->" << t.to.label << " " << t.count << "\n";
  return out.str();
}

std::string Base64(std::string_view in) {
  static const char* kAlphabet = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
  std::string out;
  size_t i = 0;
  for (; i + 2 < in.size(); i += 3) {
    const unsigned v = (static_cast<unsigned char>(in[i]) << 16) | (static_cast<unsigned char>(in[i + 1]) << 8) |
                       static_cast<unsigned char>(in[i + 2]);
    for (int shift = 18; shift >= 0; shift -= 6) out.push_back(kAlphabet[(v >> shift) & 63]);
  }
  if (i + 1 == in.size()) {
    const unsigned v = static_cast<unsigned char>(in[i]) << 16;
    out += std::string{kAlphabet[v >> 18], kAlphabet[(v >> 12) & 63], '=', '='};
  } else if (i + 2 == in.size()) {
    const unsigned v = (static_cast<unsigned char>(in[i]) << 16) | (static_cast<unsigned char>(in[i + 1]) << 8);
    out += std::string{kAlphabet[v >> 18], kAlphabet[(v >> 12) & 63], kAlphabet[(v >> 6) & 63], '='};
  }
  return out;
}

std::string PercentEncode(std::string_view in) {
  static const char* kHex = "0123456789ABCDEF";
  std::string out;
  for (unsigned char c : in) {
    if (std::isalnum(c)) {
      out.push_back(static_cast<char>(c));
    } else {
      out += {'%', kHex[c >> 4], kHex[c & 15]};
    }
  }
  return out;
}

std::map<std::string, std::vector<views::keys::ActivityEntry>> ActivityLogDays(const state::Reader& reader) {
  std::map<std::string, std::vector<views::keys::ActivityEntry>> days;
  REQUIRE_OK(reader.Scan(state::Cf::kActivityLog, "", "\xFF", [&](std::string_view k, std::string_view v) {
    REQUIRE(views::keys::ReadActivityEntries(v, &days[std::string(views::keys::ActivityLogDayOf(k))]));
    return true;
  }));
  for (auto& [day, entries] : days) std::sort(entries.begin(), entries.end());
  return days;
}

}  // namespace leadflow::testing
