// Child processes for end-to-end tests: spawn a program with arguments and extra environment,
// capture its stdout and stderr to files, wait for it to announce "LISTENING <port>" or for a
// port to accept, and stop it (SIGTERM, then SIGKILL) when the object goes away.
//
// The child runs in its own process group (so a `node` child's children stop with it) and is
// killed if the test process dies (PR_SET_PDEATHSIG).
#pragma once

#include <chrono>
#include <optional>
#include <string>
#include <sys/types.h>
#include <vector>

namespace mediax::test {

struct ProcessOptions {
  std::vector<std::string> env;  // "NAME=value" entries added to (or replacing in) the inherited environment
  std::string cwd;               // empty: the test's cwd
  std::string log_dir;           // where <name>.stdout / <name>.stderr go; empty: a fresh temp dir
  std::string name;              // file name stem; empty: the program's base name
};

class Process {
 public:
  // Spawns `program` (a path, or a name looked up in PATH). Throws std::runtime_error on failure.
  Process(std::string program, std::vector<std::string> args, ProcessOptions opts = {});
  ~Process();
  Process(const Process&) = delete;
  Process& operator=(const Process&) = delete;

  pid_t pid() const { return pid_; }
  bool running();

  // Waits for a "LISTENING <port>" line on stdout; returns the port. Throws (with the captured
  // output in the message) when the process exits first or the deadline passes.
  int wait_for_listening(std::chrono::milliseconds timeout = std::chrono::seconds(20));
  // Waits until the captured stdout (or stderr) contains `needle`.
  bool wait_for_output(const std::string& needle, std::chrono::milliseconds timeout, bool on_stderr = false);
  // Waits for the process to exit; returns its exit code (128+signal when killed), nullopt on timeout.
  std::optional<int> wait_exit(std::chrono::milliseconds timeout);
  // SIGTERM to the group, SIGKILL after `grace`; returns the exit code as wait_exit does.
  int terminate(std::chrono::milliseconds grace = std::chrono::seconds(5));

  std::string stdout_text() const;
  std::string stderr_text() const;
  const std::string& stdout_path() const { return stdout_path_; }
  const std::string& stderr_path() const { return stderr_path_; }
  // "program args..." for messages.
  std::string describe() const;

 private:
  std::string program_;
  std::vector<std::string> args_;
  std::string stdout_path_;
  std::string stderr_path_;
  pid_t pid_ = -1;
  std::optional<int> exit_code_;
};

// Runs a program to completion (stdout/stderr captured); returns {exit code, stdout, stderr}.
struct RunResult {
  int exit_code = -1;
  std::string out;
  std::string err;
};
RunResult run_process(const std::string& program, const std::vector<std::string>& args, ProcessOptions opts = {},
                      std::chrono::milliseconds timeout = std::chrono::seconds(60));

// A TCP port on 127.0.0.1 that was free a moment ago (bind to port 0, read it, close).
int free_port();
// Polls until 127.0.0.1:port accepts a connection.
bool wait_for_port(int port, std::chrono::milliseconds timeout);
// mkdtemp under $TMPDIR (or /tmp); the caller removes it.
std::string make_temp_dir(const std::string& prefix);
std::string read_file(const std::string& path);
void write_file(const std::string& path, const std::string& content);
// Where a program is found in PATH; empty when it is not.
std::string find_in_path(const std::string& name);

}  // namespace mediax::test
