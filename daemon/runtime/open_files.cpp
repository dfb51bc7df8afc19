#include "runtime/open_files.hpp"

#include <sys/resource.h>

namespace mediax {

std::uint64_t open_files_needed(const Config& config) {
  const std::uint64_t listeners = config.admin.token_listen.empty() ? 1 : 2;
  return listeners * static_cast<std::uint64_t>(config.admin.max_connections) +
         static_cast<std::uint64_t>(config.database.pool_size) +
         static_cast<std::uint64_t>(config.refresh.max_concurrent) + kOpenFileMargin;
}

OpenFileLimit raise_open_file_limit() {
  OpenFileLimit out;
  rlimit lim{};
  if (getrlimit(RLIMIT_NOFILE, &lim) != 0) return out;
  if (lim.rlim_cur < lim.rlim_max) {
    rlimit raised = lim;
    raised.rlim_cur = lim.rlim_max;
    if (setrlimit(RLIMIT_NOFILE, &raised) == 0) {
      lim = raised;
      out.raised = true;
    }
  }
  out.unlimited = lim.rlim_cur == RLIM_INFINITY;
  out.soft = static_cast<std::uint64_t>(lim.rlim_cur);
  out.hard = static_cast<std::uint64_t>(lim.rlim_max);
  return out;
}

std::string open_file_warning(const Config& config, std::uint64_t needed, const OpenFileLimit& limit) {
  if (limit.unlimited || limit.soft >= needed) return "";
  const int listeners = config.admin.token_listen.empty() ? 1 : 2;
  return "open file limit " + std::to_string(limit.soft) + " (hard " + std::to_string(limit.hard) + ") is below the " +
         std::to_string(needed) + " the configuration may use (" + std::to_string(listeners) +
         " listener(s) x admin.max_connections " + std::to_string(config.admin.max_connections) +
         " + database.pool_size " + std::to_string(config.database.pool_size) + " + refresh.max_concurrent " +
         std::to_string(config.refresh.max_concurrent) + " + " + std::to_string(kOpenFileMargin) +
         "): raise LimitNOFILE= (or ulimit -n) or lower admin.max_connections, else accepts fail once it is reached";
}

}  // namespace mediax
