// The open-file limit (RLIMIT_NOFILE) the daemon needs: every listener may hold
// admin.max_connections connections, plus the database pool, the refresh workers' platform
// connections and a margin. At start the soft limit is raised to the hard one (systemd's
// LimitNOFILE= sets both; a shell's soft 1024 is rarely the hard limit), and a limit that cannot
// fit the configured caps is said once in the log instead of surfacing as failed accepts later.
#pragma once

#include <cstdint>
#include <string>

#include "config/config.hpp"

namespace mediax {

// Descriptors beyond the connections and pools: the log, epoll and wake-up descriptors of the
// event loops, the LISTEN connection, webhook and JWKS connections, the start-up key check.
inline constexpr std::uint64_t kOpenFileMargin = 256;

// listeners x admin.max_connections + database.pool_size + refresh.max_concurrent + kOpenFileMargin.
std::uint64_t open_files_needed(const Config& config);

struct OpenFileLimit {
  std::uint64_t soft = 0;  // the limit in force
  std::uint64_t hard = 0;
  bool raised = false;  // soft was raised (to hard) by raise_open_file_limit
  bool unlimited = false;
};

// Raises RLIMIT_NOFILE's soft limit to its hard limit; returns the limits now in force.
OpenFileLimit raise_open_file_limit();

// The warning to log when `limit` cannot hold `needed` descriptors ("" when it can), naming the
// numbers and the sum.
std::string open_file_warning(const Config& config, std::uint64_t needed, const OpenFileLimit& limit);

}  // namespace mediax
