#include "runtime/local_audit.hpp"

#include <spdlog/spdlog.h>

namespace mediax {

namespace {

AuditEntry local_entry(const std::string& command) {
  AuditEntry e;
  e.who = command;
  e.what = command;
  e.peer = "local";
  return e;
}

}  // namespace

LocalAudit::LocalAudit(AuditLog& log, std::string command) : log_(log), id_(log.begin_audit(local_entry(command))) {}

LocalAudit::~LocalAudit() {
  if (!done_) done("failed");
}

void LocalAudit::done(const std::string& outcome) {
  done_ = true;
  try {
    log_.finish_audit(id_, outcome);
  } catch (const std::exception& e) {
    spdlog::warn("audit: the outcome of record {} was not written: {}", id_, e.what());
  }
}

bool record_local_command(AuditLog& log, const std::string& command, const std::string& outcome) {
  auto e = local_entry(command);
  e.result = outcome;
  try {
    log.append_audit({e});
    return true;
  } catch (const std::exception&) {
    return false;
  }
}

}  // namespace mediax
