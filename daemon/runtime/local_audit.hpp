// The audit records of mediaxd's local commands (create-api-key, revoke-api-key, rotate-key,
// migrate): who and what are the command, the peer "local". Like an admin route, a command that
// changes something writes its record first and does not go on without it.
#pragma once

#include <cstdint>
#include <string>

#include "store/interfaces.hpp"

namespace mediax {

class LocalAudit {
 public:
  // Writes the write-ahead record; throws StoreError when it cannot (the command must stop).
  LocalAudit(AuditLog& log, std::string command);
  LocalAudit(const LocalAudit&) = delete;
  LocalAudit& operator=(const LocalAudit&) = delete;
  // Without done(): the record's result is "failed".
  ~LocalAudit();

  // The command's outcome ("created ops (admin)"): names and counts, never a key or secret.
  void done(const std::string& outcome);

 private:
  AuditLog& log_;
  std::int64_t id_;
  bool done_ = false;
};

// A record written after the fact (`migrate`: the table exists only once it ran). Best effort:
// false when it could not be written (said nowhere else; the caller reports it).
bool record_local_command(AuditLog& log, const std::string& command, const std::string& outcome);

}  // namespace mediax
