#include "support/pgbouncer.hpp"

#include <pwd.h>
#include <unistd.h>

#include <chrono>
#include <filesystem>
#include <stdexcept>
#include <thread>

#include <pqxx/pqxx>

namespace mediax::test {

namespace fs = std::filesystem;

namespace {

std::string pgbouncer_program() {
  for (const std::string p : {"/usr/sbin/pgbouncer", "/usr/bin/pgbouncer"}) {
    if (fs::exists(p)) return p;
  }
  const std::string found = find_in_path("pgbouncer");
  if (found.empty()) throw std::runtime_error("pgbouncer is not installed (admin/dev.sh test installs it)");
  return found;
}

}  // namespace

PgBouncer::PgBouncer(const PgCluster& cluster, Settings settings) {
  const std::string program = pgbouncer_program();
  dir_ = make_temp_dir("mediax-pgbouncer");
  port_ = free_port();
  std::string users;
  for (const auto& u : settings.users) users += "\"" + u + "\" \"\"\n";
  write_file(dir_ + "/users.txt", users);
  write_file(dir_ + "/pgbouncer.ini",
             "[databases]\n"
             "* = host=" + cluster.socket_dir() + " port=5432\n"
             "\n[pgbouncer]\n"
             "listen_addr = 127.0.0.1\n"
             "listen_port = " + std::to_string(port_) + "\n"
             "unix_socket_dir =\n"
             "auth_type = trust\n"
             "auth_file = " + dir_ + "/users.txt\n"
             "pool_mode = " + settings.pool_mode + "\n"
             "default_pool_size = " + std::to_string(settings.pool_size) + "\n"
             "max_client_conn = " + std::to_string(settings.max_clients) + "\n"
             "max_db_connections = " + std::to_string(settings.pool_size) + "\n"
             "admin_users = postgres\n"
             "log_connections = 0\n"
             "log_disconnections = 0\n");
  ProcessOptions opts;
  opts.log_dir = dir_;
  opts.name = "pgbouncer";
  std::vector<std::string> args{program, dir_ + "/pgbouncer.ini"};
  std::string runner = program;
  if (geteuid() == 0) {
    const passwd* pw = getpwnam("postgres");
    if (pw == nullptr) throw std::runtime_error("running as root needs a 'postgres' system user to run pgbouncer");
    for (const auto& f : {dir_, dir_ + "/users.txt", dir_ + "/pgbouncer.ini"}) {
      if (chown(f.c_str(), pw->pw_uid, pw->pw_gid) != 0) throw std::runtime_error("chown " + f);
    }
    runner = "/usr/bin/setpriv";
    args.insert(args.begin(), {"--reuid=postgres", "--regid=postgres", "--init-groups", "--"});
  } else {
    args.erase(args.begin());
  }
  proc_ = std::make_unique<Process>(runner, args, opts);
  // Accepting TCP is not enough: wait until a query goes through to the cluster.
  const auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(20);
  std::string last_error;
  while (std::chrono::steady_clock::now() < deadline) {
    if (!proc_->running()) break;
    try {
      pqxx::connection c(url("postgres"));
      pqxx::nontransaction tx(c);
      tx.exec1("SELECT 1");
      return;
    } catch (const std::exception& e) {
      last_error = e.what();
    }
    std::this_thread::sleep_for(std::chrono::milliseconds(50));
  }
  throw std::runtime_error("pgbouncer did not start (" + last_error + "):\n" + log());
}

PgBouncer::~PgBouncer() {
  if (proc_) proc_->terminate(std::chrono::seconds(5));
  std::error_code ec;
  fs::remove_all(dir_, ec);
}

std::string PgBouncer::url(const std::string& dbname, const std::string& user) const {
  return "host=127.0.0.1 port=" + std::to_string(port_) + " dbname=" + dbname + " user=" + user;
}

std::string PgBouncer::log() const { return proc_ ? proc_->stderr_text() + proc_->stdout_text() : ""; }

std::string dbname_of(const std::string& conninfo) {
  const auto at = conninfo.find("dbname=");
  if (at == std::string::npos) return "";
  const auto start = at + 7;
  const auto end = conninfo.find(' ', start);
  return conninfo.substr(start, end == std::string::npos ? std::string::npos : end - start);
}

}  // namespace mediax::test
