// mediaxctl: a command-line client of mediaxd's admin API. main.cpp only calls run().
#pragma once

#include <iosfwd>
#include <string>
#include <vector>

namespace mediax::ctl {

// Exit codes scripts can rely on (documented in `mediaxctl --help`).
enum ExitCode : int {
  kExitOk = 0,
  kExitApiError = 1,   // the API or the platform refused or failed
  kExitUsage = 2,      // bad command line or config file
  kExitNoConnect = 3,  // the daemon could not be reached
  kExitNotFound = 4,   // no such app, grant, token or route
};

// Runs one command line (without argv[0]); writes results to `out`, errors to `err`.
int run(const std::vector<std::string>& args, std::ostream& out, std::ostream& err);

}  // namespace mediax::ctl
