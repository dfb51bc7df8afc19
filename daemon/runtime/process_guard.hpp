// What the process does first, before it reads a key or a secret: no core dump, no ptrace by
// other processes of the same user, no /proc/<pid>/mem for them. A process that holds the
// encryption key and decrypted client secrets must not leave them in a core file (systemd's
// LimitCORE=0 says the same from outside; this holds when started by hand too).
#pragma once

#include <string>

namespace mediax {

// prctl(PR_SET_DUMPABLE, 0) and RLIMIT_CORE 0. Returns "" or what failed (the caller warns and
// goes on: refusing to start over it would only take the service down). In an AddressSanitizer
// build the dumpable flag stays on: LeakSanitizer stops the process's threads with ptrace at exit
// and fails on a process that is not dumpable; the core limit still goes to 0.
std::string forbid_core_dumps();

// Whether the kernel would write a core file of this process or let its user ptrace it
// (PR_GET_DUMPABLE); for tests and the start-up log.
bool process_dumpable();

}  // namespace mediax
