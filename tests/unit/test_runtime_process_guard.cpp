// runtime/process_guard: the daemon's first step makes it non-dumpable with no core limit. Run in
// a child so the test process itself stays debuggable.
#include <gtest/gtest.h>
#include <sys/resource.h>
#include <sys/wait.h>
#include <unistd.h>

#include "runtime/process_guard.hpp"

namespace mediax {
namespace {

TEST(ProcessGuard, ForbidsCoreDumpsAndPtrace) {
  ASSERT_TRUE(process_dumpable()) << "a test process starts dumpable";
  const pid_t child = ::fork();
  ASSERT_GE(child, 0);
  if (child == 0) {
    // Exit code: 0 done, 1 an error said, 2 still dumpable, 3 a core limit left.
    if (!forbid_core_dumps().empty()) ::_exit(1);
#if !defined(__SANITIZE_ADDRESS__)
    if (process_dumpable()) ::_exit(2);
#endif
    rlimit core{};
    if (::getrlimit(RLIMIT_CORE, &core) != 0 || core.rlim_cur != 0 || core.rlim_max != 0) ::_exit(3);
    ::_exit(0);
  }
  int status = 0;
  ASSERT_EQ(::waitpid(child, &status, 0), child);
  ASSERT_TRUE(WIFEXITED(status));
  EXPECT_EQ(WEXITSTATUS(status), 0);
  EXPECT_TRUE(process_dumpable()) << "the parent is untouched";
}

}  // namespace
}  // namespace mediax
