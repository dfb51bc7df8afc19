#include "service/audit_trail.hpp"

#include <spdlog/spdlog.h>

#include <charconv>

namespace mediax {

namespace {

ApiError bad_query(const std::string& name, const std::string& why) {
  return ApiError(400, "invalid_query", name + ": " + why);
}

std::optional<std::int64_t> whole_number(const std::string& s) {
  std::int64_t v = 0;
  const auto [end, ec] = std::from_chars(s.data(), s.data() + s.size(), v);
  if (ec != std::errc() || end != s.data() + s.size()) return std::nullopt;
  return v;
}

}  // namespace

Expected<AuditQuery> audit_query_from(const std::map<std::string, std::string>& params) {
  AuditQuery q;
  q.limit = kAuditDefaultLimit;
  for (const auto& [name, value] : params) {
    if (name == "since" || name == "until") {
      const auto t = parse_iso8601(value);
      if (!t) return tl::unexpected(bad_query(name, "expected an RFC 3339 time such as 2027-01-31T12:00:00Z"));
      (name == "since" ? q.since : q.until) = *t;
    } else if (name == "who") {
      q.who = value;
    } else if (name == "app") {
      q.app = value;
    } else if (name == "before") {
      const auto id = whole_number(value);
      if (!id || *id < 1) return tl::unexpected(bad_query(name, "expected the id of an audit record (a positive integer)"));
      q.before_id = *id;
    } else if (name == "limit") {
      const auto n = whole_number(value);
      if (!n || *n < 1 || *n > kAuditMaxLimit) {
        return tl::unexpected(bad_query(name, "expected 1.." + std::to_string(kAuditMaxLimit)));
      }
      q.limit = static_cast<int>(*n);
    } else {
      return tl::unexpected(bad_query(name, "unknown parameter (known: since, until, who, app, before, limit)"));
    }
  }
  return q;
}

AuditTrail::AuditTrail(AuditLog& log, const TimeSource& time, std::size_t max_counts)
    : log_(log), time_(time), tally_(max_counts) {}

std::int64_t AuditTrail::begin(const AuditEntry& e) { return log_.begin_audit(e); }

void AuditTrail::finish(std::int64_t id, const std::string& result) noexcept {
  try {
    log_.finish_audit(id, result);
  } catch (const std::exception& e) {
    spdlog::error("audit: the result ({}) of record {} was not written: {}", result, id, e.what());
  }
}

void AuditTrail::record(const AuditEntry& e) noexcept {
  try {
    log_.append_audit({e});
  } catch (const std::exception& ex) {
    spdlog::error("audit: the record of {} by '{}' ({}) was not written: {}", e.what, e.who, e.result, ex.what());
  }
}

void AuditTrail::count(const AuditEntry& e) noexcept {
  try {
    tally_.add(e, time_.system());
  } catch (const std::exception&) {
    // Out of memory for one more entry: the read is not recorded; nothing else to do on the loop.
  }
}

std::size_t AuditTrail::flush_counts(bool everything) {
  auto rows = tally_.take(time_.system(), everything);
  if (const auto dropped = tally_.take_dropped(); dropped > 0) {
    spdlog::warn("audit: {} token reads were not recorded (more pending counts than the bound, or the database "
                 "unreachable too long)",
                 dropped);
  }
  if (rows.empty()) return 0;
  try {
    log_.append_audit(rows);
    return rows.size();
  } catch (const std::exception& e) {
    tally_.give_back(rows);
    spdlog::warn("audit: {} token read counts kept for the next try: {}", rows.size(), e.what());
    return 0;
  }
}

std::int64_t AuditTrail::purge(Seconds retention) { return log_.purge_audit(time_.system() - retention); }

Expected<AuditPage> AuditTrail::list(const std::map<std::string, std::string>& params) {
  auto q = audit_query_from(params);
  if (!q) return tl::unexpected(q.error());
  AuditPage page;
  try {
    page.entries = log_.list_audit(*q);
  } catch (const StoreError& e) {
    return tl::unexpected(database_error(e));
  }
  if (static_cast<int>(page.entries.size()) == q->limit && !page.entries.empty()) {
    page.next_before = page.entries.back().id;
  }
  return page;
}

}  // namespace mediax
