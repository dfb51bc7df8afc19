#include "support/process.hpp"

#include <arpa/inet.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <signal.h>
#include <sys/prctl.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cerrno>
#include <cstdint>
#include <cstdlib>
#include <cstring>
#include <fstream>
#include <map>
#include <sstream>
#include <stdexcept>
#include <thread>

extern char** environ;

namespace mediax::test {

namespace {

using TimeSource = std::chrono::steady_clock;

std::string base_name(const std::string& path) {
  auto slash = path.rfind('/');
  return slash == std::string::npos ? path : path.substr(slash + 1);
}

std::string tail(const std::string& text, std::size_t n = 4000) {
  return text.size() <= n ? text : "..." + text.substr(text.size() - n);
}

int decode_status(int status) {
  if (WIFEXITED(status)) return WEXITSTATUS(status);
  if (WIFSIGNALED(status)) return 128 + WTERMSIG(status);
  return -1;
}

}  // namespace

std::string read_file(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  std::ostringstream ss;
  ss << in.rdbuf();
  return ss.str();
}

void write_file(const std::string& path, const std::string& content) {
  std::ofstream out(path, std::ios::binary | std::ios::trunc);
  if (!out) throw std::runtime_error("cannot write " + path);
  out << content;
}

std::string make_temp_dir(const std::string& prefix) {
  const char* tmp = std::getenv("TMPDIR");
  std::string tmpl = std::string(tmp != nullptr && *tmp != '\0' ? tmp : "/tmp") + "/" + prefix + "-XXXXXX";
  std::vector<char> buf(tmpl.begin(), tmpl.end());
  buf.push_back('\0');
  if (mkdtemp(buf.data()) == nullptr) throw std::runtime_error("mkdtemp failed: " + std::string(std::strerror(errno)));
  return std::string(buf.data());
}

std::string find_in_path(const std::string& name) {
  if (name.find('/') != std::string::npos) return access(name.c_str(), X_OK) == 0 ? name : "";
  const char* path = std::getenv("PATH");
  std::istringstream dirs(path != nullptr ? path : "/usr/local/bin:/usr/bin:/bin");
  std::string dir;
  while (std::getline(dirs, dir, ':')) {
    if (dir.empty()) continue;
    std::string candidate = dir + "/" + name;
    struct stat st {};
    if (stat(candidate.c_str(), &st) == 0 && S_ISREG(st.st_mode) && access(candidate.c_str(), X_OK) == 0) {
      return candidate;
    }
  }
  return "";
}

Process::Process(std::string program, std::vector<std::string> args, ProcessOptions opts)
    : program_(std::move(program)), args_(std::move(args)) {
  std::string resolved = find_in_path(program_);
  if (resolved.empty()) throw std::runtime_error("program not found or not executable: " + program_);
  std::string dir = opts.log_dir.empty() ? make_temp_dir("mediax-proc") : opts.log_dir;
  std::string stem = opts.name.empty() ? base_name(program_) : opts.name;
  stdout_path_ = dir + "/" + stem + ".stdout";
  stderr_path_ = dir + "/" + stem + ".stderr";

  // Everything the child needs is prepared before fork(): after it only async-signal-safe calls.
  std::map<std::string, std::string> env;
  for (char** e = environ; *e != nullptr; ++e) {
    std::string kv = *e;
    auto eq = kv.find('=');
    if (eq != std::string::npos) env[kv.substr(0, eq)] = kv.substr(eq + 1);
  }
  for (const auto& kv : opts.env) {
    auto eq = kv.find('=');
    if (eq == std::string::npos) throw std::runtime_error("env entry without '=': " + kv);
    env[kv.substr(0, eq)] = kv.substr(eq + 1);
  }
  std::vector<std::string> env_strings;
  for (const auto& [k, v] : env) env_strings.push_back(k + "=" + v);
  std::vector<char*> envp;
  for (auto& s : env_strings) envp.push_back(s.data());
  envp.push_back(nullptr);
  std::vector<std::string> argv_strings{resolved};
  argv_strings.insert(argv_strings.end(), args_.begin(), args_.end());
  std::vector<char*> argv;
  for (auto& s : argv_strings) argv.push_back(s.data());
  argv.push_back(nullptr);

  int out_fd = open(stdout_path_.c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
  int err_fd = open(stderr_path_.c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
  int null_fd = open("/dev/null", O_RDONLY | O_CLOEXEC);
  if (out_fd < 0 || err_fd < 0 || null_fd < 0) {
    if (out_fd >= 0) close(out_fd);
    if (err_fd >= 0) close(err_fd);
    if (null_fd >= 0) close(null_fd);
    throw std::runtime_error("cannot open log files in " + dir);
  }
  const char* cwd = opts.cwd.empty() ? nullptr : opts.cwd.c_str();
  pid_t parent = getpid();
  pid_t pid = fork();
  if (pid < 0) {
    close(out_fd);
    close(err_fd);
    close(null_fd);
    throw std::runtime_error("fork failed: " + std::string(std::strerror(errno)));
  }
  if (pid == 0) {
    setpgid(0, 0);
    prctl(PR_SET_PDEATHSIG, SIGKILL);
    if (getppid() != parent) _exit(127);
    dup2(null_fd, STDIN_FILENO);
    dup2(out_fd, STDOUT_FILENO);
    dup2(err_fd, STDERR_FILENO);
    if (cwd != nullptr && chdir(cwd) != 0) _exit(127);
    sigset_t none;
    sigemptyset(&none);
    sigprocmask(SIG_SETMASK, &none, nullptr);
    execve(argv[0], argv.data(), envp.data());
    _exit(127);
  }
  setpgid(pid, pid);  // also in the parent, so a signal sent right away reaches the group
  close(out_fd);
  close(err_fd);
  close(null_fd);
  pid_ = pid;
}

Process::~Process() {
  if (pid_ > 0 && !exit_code_) terminate(std::chrono::seconds(5));
}

bool Process::running() {
  if (exit_code_) return false;
  int status = 0;
  pid_t r = waitpid(pid_, &status, WNOHANG);
  if (r == pid_) {
    exit_code_ = decode_status(status);
    kill(-pid_, SIGKILL);  // whatever it left behind in its group
    return false;
  }
  return r == 0;
}

std::optional<int> Process::wait_exit(std::chrono::milliseconds timeout) {
  auto deadline = TimeSource::now() + timeout;
  while (running()) {
    if (TimeSource::now() >= deadline) return std::nullopt;
    std::this_thread::sleep_for(std::chrono::milliseconds(20));
  }
  return exit_code_;
}

int Process::terminate(std::chrono::milliseconds grace) {
  if (!running()) return *exit_code_;
  kill(-pid_, SIGTERM);
  if (auto code = wait_exit(grace)) return *code;
  kill(-pid_, SIGKILL);
  int status = 0;
  waitpid(pid_, &status, 0);
  exit_code_ = decode_status(status);
  return *exit_code_;
}

std::string Process::stdout_text() const { return read_file(stdout_path_); }
std::string Process::stderr_text() const { return read_file(stderr_path_); }

std::string Process::describe() const {
  std::string s = program_;
  for (const auto& a : args_) s += " " + a;
  return s;
}

int Process::wait_for_listening(std::chrono::milliseconds timeout) {
  auto deadline = TimeSource::now() + timeout;
  for (;;) {
    std::istringstream lines(stdout_text());
    std::string line;
    while (std::getline(lines, line)) {
      if (line.rfind("LISTENING ", 0) == 0) {
        int port = std::atoi(line.c_str() + 10);
        if (port > 0) return port;
      }
    }
    bool alive = running();
    if (!alive || TimeSource::now() >= deadline) {
      throw std::runtime_error(
          describe() + (alive ? ": no LISTENING line in time" : ": exited with code " + std::to_string(*exit_code_)) +
          "\nstdout:\n" + tail(stdout_text()) + "\nstderr:\n" + tail(stderr_text()));
    }
    std::this_thread::sleep_for(std::chrono::milliseconds(20));
  }
}

bool Process::wait_for_output(const std::string& needle, std::chrono::milliseconds timeout, bool on_stderr) {
  auto deadline = TimeSource::now() + timeout;
  for (;;) {
    std::string text = on_stderr ? stderr_text() : stdout_text();
    if (text.find(needle) != std::string::npos) return true;
    if (TimeSource::now() >= deadline) return false;
    std::this_thread::sleep_for(std::chrono::milliseconds(20));
  }
}

RunResult run_process(const std::string& program, const std::vector<std::string>& args, ProcessOptions opts,
                      std::chrono::milliseconds timeout) {
  Process p(program, args, std::move(opts));
  RunResult r;
  if (auto code = p.wait_exit(timeout)) {
    r.exit_code = *code;
  } else {
    p.terminate(std::chrono::seconds(2));
    r.exit_code = -1;  // timed out
  }
  r.out = p.stdout_text();
  r.err = p.stderr_text();
  return r;
}

int free_port() {
  int fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
  if (fd < 0) throw std::runtime_error("socket failed");
  sockaddr_in addr{};
  addr.sin_family = AF_INET;
  addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  addr.sin_port = 0;
  socklen_t len = sizeof(addr);
  if (bind(fd, reinterpret_cast<sockaddr*>(&addr), sizeof(addr)) != 0 ||
      getsockname(fd, reinterpret_cast<sockaddr*>(&addr), &len) != 0) {
    close(fd);
    throw std::runtime_error("cannot bind 127.0.0.1:0");
  }
  int port = ntohs(addr.sin_port);
  close(fd);
  return port;
}

bool wait_for_port(int port, std::chrono::milliseconds timeout) {
  auto deadline = TimeSource::now() + timeout;
  for (;;) {
    int fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
    if (fd >= 0) {
      sockaddr_in addr{};
      addr.sin_family = AF_INET;
      addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
      addr.sin_port = htons(static_cast<std::uint16_t>(port));
      bool ok = connect(fd, reinterpret_cast<sockaddr*>(&addr), sizeof(addr)) == 0;
      close(fd);
      if (ok) return true;
    }
    if (TimeSource::now() >= deadline) return false;
    std::this_thread::sleep_for(std::chrono::milliseconds(20));
  }
}

}  // namespace mediax::test
