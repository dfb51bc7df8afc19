// The audit trail as the daemon writes and reads it (the store's mediax.audit through AuditLog):
// write-ahead records for actions (the Dispatcher writes one before a handler runs and refuses the
// request when it cannot: no record, no action), records after the fact (refusals), token reads
// counted in memory (AuditTally) and written per minute by the janitor, the retention purge, and
// GET /v1/audit's query. Never a token, secret, code, state or query string.
#pragma once

#include <cstdint>
#include <map>
#include <optional>
#include <string>
#include <vector>

#include "service/api_error.hpp"
#include "service/audit_tally.hpp"
#include "store/interfaces.hpp"
#include "util/time_source.hpp"

namespace mediax {

struct AuditPage {
  std::vector<AuditEntry> entries;         // newest first
  std::optional<std::int64_t> next_before; // set when there may be more: ?before= for the next page
};

// The page size of GET /v1/audit: default and largest.
inline constexpr int kAuditDefaultLimit = 100;
inline constexpr int kAuditMaxLimit = 1000;

// GET /v1/audit's query (since, until: RFC 3339; who; app; before: an id; limit: 1..1000) as an
// AuditQuery, or 400 invalid_query naming the parameter. Unknown parameters are refused too.
Expected<AuditQuery> audit_query_from(const std::map<std::string, std::string>& params);

class AuditTrail {
 public:
  // max_counts: AuditTally's bound (token read counts waiting for the janitor).
  AuditTrail(AuditLog& log, const TimeSource& time, std::size_t max_counts = 100000);

  // A write-ahead record of an action about to run (result empty); its id. Throws StoreError
  // when it cannot be written: the caller must not run the action.
  std::int64_t begin(const AuditEntry& e);
  // The action's result on its write-ahead record. The action ran: a failure is logged, and the
  // record keeps no result (shown as unknown).
  void finish(std::int64_t id, const std::string& result) noexcept;
  // A complete record after the fact (a refused request); a failure is logged.
  void record(const AuditEntry& e) noexcept;
  // One token read, counted in memory: never waits on the database.
  void count(const AuditEntry& e) noexcept;
  // The janitor: the counts of the minutes that ended (all of them when `everything`, at stop) in
  // one statement; when it fails they are kept for the next try (bounded, AuditTally). The number
  // of rows written.
  std::size_t flush_counts(bool everything = false);
  // The janitor: deletes the rows older than `retention`; how many.
  std::int64_t purge(Seconds retention);
  // GET /v1/audit.
  Expected<AuditPage> list(const std::map<std::string, std::string>& params);

 private:
  AuditLog& log_;
  const TimeSource& time_;
  AuditTally tally_;
};

}  // namespace mediax
