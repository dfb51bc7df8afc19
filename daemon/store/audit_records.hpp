// The rows of the audit trail (mediax.audit, migration 0014) and how they are asked for. Only names,
// ids, statuses and addresses: never a token, secret, code, state or query string.
#pragma once

#include <cstdint>
#include <optional>
#include <string>

#include "core/types.hpp"

namespace mediax {

struct AuditEntry {
  std::int64_t id = 0;           // set by the store
  std::optional<TimePoint> at;   // unset: the database's now(); token reads: the start of their minute
  std::string who;               // API key name or local command; "" = nobody known (open routes)
  std::string what;              // the route's operationId or the local command
  std::string app;               // "" = none
  std::string grant;             // "" = none
  std::string result;            // HTTP status or outcome; "" = not written (yet): a write-ahead record
  std::string peer;              // the client's IP address, "local" for local commands
  std::int64_t count = 1;        // > 1: token reads aggregated over a minute

  friend bool operator==(const AuditEntry&, const AuditEntry&) = default;
};

// GET /v1/audit: newest first, up to limit rows, only those matching every filter set.
struct AuditQuery {
  std::optional<TimePoint> since;        // at >= since
  std::optional<TimePoint> until;        // at < until
  std::string who;                       // "" = any
  std::string app;                       // "" = any
  std::optional<std::int64_t> before_id; // id < before_id: the next page
  int limit = 100;
};

}  // namespace mediax
