#include "runtime/process_guard.hpp"

#include <sys/prctl.h>
#include <sys/resource.h>

#include <cerrno>
#include <cstring>

namespace mediax {

std::string forbid_core_dumps() {
  std::string problems;
  const rlimit none{0, 0};
  if (::setrlimit(RLIMIT_CORE, &none) != 0) {
    problems += std::string("setrlimit(RLIMIT_CORE, 0) failed: ") + std::strerror(errno);
  }
#if !defined(__SANITIZE_ADDRESS__)
  if (::prctl(PR_SET_DUMPABLE, 0, 0, 0, 0) != 0) {
    if (!problems.empty()) problems += "; ";
    problems += std::string("prctl(PR_SET_DUMPABLE, 0) failed: ") + std::strerror(errno);
  }
#endif
  return problems;
}

bool process_dumpable() { return ::prctl(PR_GET_DUMPABLE, 0, 0, 0, 0) != 0; }

}  // namespace mediax
