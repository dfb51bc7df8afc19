// PgCluster: initdb + pg_ctl in a temp dir. When the tests run as root (CI containers),
// PostgreSQL refuses to run, so its binaries run as the "postgres" system user through
// setpriv and the temp dir is handed to that user; root still connects through the socket
// as the "postgres" database user (trust authentication).
#include "support/pg_cluster.hpp"

#include <fcntl.h>
#include <pwd.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <cstdlib>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <sstream>
#include <stdexcept>
#include <utility>
#include <vector>

#include <pqxx/pqxx>

#include "store/store.hpp"

namespace fs = std::filesystem;

namespace mediax::test {

namespace {

constexpr int kPort = 5432;  // only names the socket file; no TCP listener

std::string find_bin_dir() {
  if (const char* env = std::getenv("MEDIAX_PG_BIN"); env != nullptr && *env != '\0') {
    if (!fs::exists(fs::path(env) / "initdb")) {
      throw std::runtime_error(std::string("MEDIAX_PG_BIN has no initdb: ") + env);
    }
    return env;
  }
  std::string best;
  long best_version = -1;
  std::error_code ec;
  for (const auto& entry : fs::directory_iterator("/usr/lib/postgresql", ec)) {
    const std::string ver = entry.path().filename().string();
    char* end = nullptr;
    const long v = std::strtol(ver.c_str(), &end, 10);
    if (end == ver.c_str() || !fs::exists(entry.path() / "bin" / "initdb")) continue;
    if (v > best_version) {
      best_version = v;
      best = (entry.path() / "bin").string();
    }
  }
  if (best.empty()) throw std::runtime_error("no PostgreSQL found under /usr/lib/postgresql (set MEDIAX_PG_BIN)");
  return best;
}

std::string read_tail(const std::string& path, std::size_t max_bytes = 4000) {
  std::ifstream in(path, std::ios::binary);
  std::stringstream ss;
  ss << in.rdbuf();
  std::string s = ss.str();
  if (s.size() > max_bytes) s = "..." + s.substr(s.size() - max_bytes);
  return s;
}

bool as_root() { return geteuid() == 0; }

// Runs argv (argv[0] a full path) with stdout/stderr appended to log, in cwd; returns the
// exit status. As root the program runs as the postgres user. fork/exec without a shell.
int run_program(const std::vector<std::string>& program, const std::string& log, const std::string& cwd) {
  std::vector<std::string> args;
  if (as_root()) {
    if (fs::exists("/usr/bin/setpriv")) {
      args = {"/usr/bin/setpriv", "--reuid=postgres", "--regid=postgres", "--init-groups", "--"};
    } else {
      args = {"/usr/sbin/runuser", "-u", "postgres", "--"};
    }
  }
  args.insert(args.end(), program.begin(), program.end());
  std::vector<char*> argv;
  for (auto& a : args) argv.push_back(a.data());
  argv.push_back(nullptr);

  const pid_t pid = fork();
  if (pid < 0) throw std::runtime_error(std::string("fork: ") + std::strerror(errno));
  if (pid == 0) {
    // Only async-signal-safe calls between fork and exec.
    const int fd = open(log.c_str(), O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC, 0644);
    const int devnull = open("/dev/null", O_RDONLY | O_CLOEXEC);
    if (fd < 0 || devnull < 0 || chdir(cwd.c_str()) != 0) _exit(126);
    dup2(devnull, 0);
    dup2(fd, 1);
    dup2(fd, 2);
    execv(argv[0], argv.data());
    _exit(127);
  }
  int status = 0;
  while (waitpid(pid, &status, 0) < 0) {
    if (errno != EINTR) throw std::runtime_error(std::string("waitpid: ") + std::strerror(errno));
  }
  return WIFEXITED(status) ? WEXITSTATUS(status) : 128 + WTERMSIG(status);
}

void chown_to_postgres(const std::string& dir) {
  const passwd* pw = getpwnam("postgres");
  if (pw == nullptr) throw std::runtime_error("running as root needs a 'postgres' system user to run PostgreSQL");
  if (chown(dir.c_str(), pw->pw_uid, pw->pw_gid) != 0) {
    throw std::runtime_error("chown " + dir + ": " + std::strerror(errno));
  }
}

std::string make_temp_dir() {
  // Unix socket paths are limited to ~107 bytes, so a long TMPDIR is not used.
  std::string base = "/tmp";
  if (const char* t = std::getenv("TMPDIR"); t != nullptr && *t != '\0' && std::strlen(t) < 60) base = t;
  std::string templ = base + "/mediax-pg-XXXXXX";
  if (mkdtemp(templ.data()) == nullptr) throw std::runtime_error("mkdtemp in " + base + ": " + std::strerror(errno));
  return templ;
}

}  // namespace

void PgCluster::create(const std::function<void()>& make_data, const std::function<std::string()>& conf_lines) {
  dir_ = make_temp_dir();
  try {
    fs::create_directory(socket_dir());
    if (as_root()) {
      chown_to_postgres(dir_);
      chown_to_postgres(socket_dir());
    }
    make_data();
    std::ofstream conf(data_dir() + "/postgresql.conf", std::ios::app);
    conf << conf_lines();
    conf.close();
    if (!conf) throw std::runtime_error("cannot write postgresql.conf");
    start();
  } catch (...) {
    std::error_code ec;
    fs::remove_all(dir_, ec);
    throw;
  }
}

PgCluster::PgCluster() : bin_dir_(find_bin_dir()) {
  create(
      [this] {
        const std::string log = dir_ + "/initdb.log";
        const int rc = run_program({bin_dir_ + "/initdb", "-D", data_dir(), "-A", "trust", "-U", "postgres",
                                    "--nosync", "-E", "UTF8", "--no-locale"},
                                   log, dir_);
        if (rc != 0) throw std::runtime_error("initdb failed (" + std::to_string(rc) + "):\n" + read_tail(log));
      },
      [this] {
        return "\n# mediax test cluster\n"
               "listen_addresses = ''\n"
               "unix_socket_directories = '" +
               socket_dir() + "'\n" + "port = " + std::to_string(kPort) +
               "\n"
               // fsync off is safe for stop(): the OS keeps what was written. synchronous_commit
               // stays on, or an immediate stop would lose the last commits.
               "fsync = off\n"
               "max_connections = 200\n"
               "shared_buffers = 32MB\n"
               "log_min_messages = warning\n";
      });
}

PgCluster::PgCluster(Borrowed, std::string dir)
    : dir_(std::move(dir)), bin_dir_(find_bin_dir()), running_(true), owned_(false) {
  if (!fs::exists(socket_dir())) throw std::runtime_error("no test PostgreSQL cluster in " + dir_);
}

PgCluster::PgCluster(Standby, const PgCluster& primary) : bin_dir_(find_bin_dir()) {
  create(
      [&] {
        // initdb -A trust allows replication connections over the socket; -R writes
        // primary_conninfo and standby.signal, so the copy starts as a hot standby streaming
        // from the primary.
        const std::string log = dir_ + "/basebackup.log";
        const int rc = run_program({bin_dir_ + "/pg_basebackup", "-D", data_dir(), "-h", primary.socket_dir(), "-p",
                                    std::to_string(kPort), "-U", "postgres", "-R", "-X", "stream", "-c", "fast",
                                    "--no-sync"},
                                   log, dir_);
        if (rc != 0) throw std::runtime_error("pg_basebackup failed (" + std::to_string(rc) + "):\n" + read_tail(log));
      },
      [this] {
        return "\n# mediax test standby\nunix_socket_directories = '" + socket_dir() + "'\nhot_standby = on\n";
      });
}

std::unique_ptr<PgCluster> PgCluster::standby_of(const PgCluster& primary) {
  return std::unique_ptr<PgCluster>(new PgCluster(Standby{}, primary));
}

std::unique_ptr<PgCluster> PgCluster::borrow(const std::string& dir) {
  return std::unique_ptr<PgCluster>(new PgCluster(Borrowed{}, dir));
}

std::unique_ptr<PgCluster> shared_cluster() {
  const char* file = std::getenv("MEDIAX_TEST_PG_FILE");
  if (file == nullptr || *file == '\0') return std::make_unique<PgCluster>();
  std::ifstream in(file);
  std::string dir;
  if (!std::getline(in, dir) || dir.empty()) {
    throw std::runtime_error(
        std::string("MEDIAX_TEST_PG_FILE names no cluster (did the pg_cluster_start test run?): ") + file);
  }
  return PgCluster::borrow(dir);
}

PgCluster::~PgCluster() {
  if (!owned_) return;
  if (running_) {
    run_program({bin_dir_ + "/pg_ctl", "-D", data_dir(), "-m", "immediate", "-w", "stop"}, dir_ + "/pg_ctl.log", dir_);
  }
  if (std::getenv("MEDIAX_KEEP_PG") == nullptr) {
    std::error_code ec;
    fs::remove_all(dir_, ec);
  }
}

void PgCluster::start() {
  if (running_) return;
  const std::string log = dir_ + "/pg_ctl.log";
  const int rc = run_program(
      {bin_dir_ + "/pg_ctl", "-D", data_dir(), "-l", dir_ + "/postgres.log", "-w", "-t", "60", "start"}, log, dir_);
  if (rc != 0) {
    throw std::runtime_error("pg_ctl start failed (" + std::to_string(rc) + "):\n" + read_tail(log) + "\n" +
                             read_tail(dir_ + "/postgres.log"));
  }
  running_ = true;
}

void PgCluster::stop() {
  if (!running_) return;
  const std::string log = dir_ + "/pg_ctl.log";
  const int rc = run_program({bin_dir_ + "/pg_ctl", "-D", data_dir(), "-m", "immediate", "-w", "stop"}, log, dir_);
  if (rc != 0) throw std::runtime_error("pg_ctl stop failed (" + std::to_string(rc) + "):\n" + read_tail(log));
  running_ = false;
}

std::string PgCluster::create_database(const std::string& name) {
  const bool plain = !name.empty() && name.size() < 64 && std::all_of(name.begin(), name.end(), [](char ch) {
    return (ch >= 'a' && ch <= 'z') || (ch >= '0' && ch <= '9') || ch == '_';
  });
  if (!plain) throw std::invalid_argument("database name must be [a-z0-9_]{1,63}: " + name);
  const std::string base = "host=" + socket_dir() + " port=" + std::to_string(kPort) + " user=postgres";
  pqxx::connection admin(base + " dbname=postgres");
  pqxx::nontransaction tx(admin);
  // template0: nobody is ever connected to it, so concurrent creates cannot trip over each other.
  tx.exec("CREATE DATABASE " + tx.quote_name(name) + " TEMPLATE template0");
  return base + " dbname=" + name;
}

std::string PgCluster::create_migrated_database(const std::string& name) {
  const std::string url = create_database(name);
  Migrator(url, migrations_dir()).apply();
  return url;
}

std::string migrations_dir() { return std::string(MEDIAX_SOURCE_DIR) + "/migrations"; }

}  // namespace mediax::test
