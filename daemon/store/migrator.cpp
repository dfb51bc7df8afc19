// Migrator: applies migrations/NNNN_name.sql in number order. Each file runs in its own
// transaction together with the row that records it in mediax.schema_migrations, so a failed
// file leaves nothing behind and is tried again next time. A session advisory lock serialises
// instances starting at the same moment; the one that waits then finds nothing left to do.
#include <algorithm>
#include <filesystem>
#include <fstream>
#include <set>
#include <sstream>

#include <pqxx/pqxx>
#include <spdlog/spdlog.h>

#include "store/pg_util.hpp"
#include "store/store.hpp"

namespace mediax {

namespace {

// pg_advisory_lock key owned by mediaxd migrations ("mediax" in ASCII).
constexpr std::int64_t kMigrationLockKey = 0x6d6564696178;

struct MigrationFile {
  long number = 0;
  std::string name;  // file name, e.g. "0001_init.sql"; recorded in schema_migrations
  std::filesystem::path path;
};

// "0001_init.sql" -> 1; anything else (README, editor backups) is not a migration.
std::optional<long> migration_number(const std::string& file) {
  const auto underscore = file.find('_');
  if (underscore < 4 || underscore == std::string::npos || file.size() <= 4 ||
      file.compare(file.size() - 4, 4, ".sql") != 0) {
    return std::nullopt;
  }
  long n = 0;
  for (std::size_t i = 0; i < underscore; ++i) {
    if (file[i] < '0' || file[i] > '9' || n > 100000000) return std::nullopt;
    n = n * 10 + (file[i] - '0');
  }
  return n;
}

std::vector<MigrationFile> scan(const std::string& dir) {
  std::error_code ec;
  std::filesystem::directory_iterator it(dir, ec);
  if (ec) throw StoreError("cannot read migrations directory " + dir + ": " + ec.message());
  std::vector<MigrationFile> files;
  for (const auto& entry : it) {
    const std::string file = entry.path().filename().string();
    const auto n = migration_number(file);
    if (!n || !entry.is_regular_file()) continue;
    files.push_back({*n, file, entry.path()});
  }
  std::sort(files.begin(), files.end(),
            [](const MigrationFile& a, const MigrationFile& b) { return a.number < b.number; });
  for (std::size_t i = 1; i < files.size(); ++i) {
    if (files[i].number == files[i - 1].number) {
      throw StoreError("two migrations share number " + std::to_string(files[i].number) + ": " + files[i - 1].name +
                       ", " + files[i].name);
    }
  }
  return files;
}

std::string read_file(const std::filesystem::path& p) {
  std::ifstream in(p, std::ios::binary);
  if (!in) throw StoreError("cannot read migration " + p.string());
  std::ostringstream ss;
  ss << in.rdbuf();
  return ss.str();
}

std::unique_ptr<pqxx::connection> connect(const std::string& url) {
  try {
    auto c = std::make_unique<pqxx::connection>(url);
    pqxx::nontransaction tx(*c);
    tx.exec("SET client_min_messages TO warning");  // no NOTICE chatter from IF NOT EXISTS
    return c;
  } catch (const std::exception& e) {
    throw StoreError("cannot connect to database (" + pg::describe_db_url(url) + "): " + pg::primary_message(e.what()));
  }
}

// A migration's RAISE WARNING (client_min_messages is warning) goes to the log: it tells the admin
// what a migration could not settle on its own (0009: apps sharing a credential). libpqxx drops
// notices unless a handler takes them.
class LogWarnings final : public pqxx::errorhandler {
 public:
  explicit LogWarnings(pqxx::connection& c) : pqxx::errorhandler(c) {}
  bool operator()(const char msg[]) noexcept override {
    try {
      std::string line(msg);
      while (!line.empty() && line.back() == '\n') line.pop_back();
      spdlog::warn("migrate: {}", line);
    } catch (...) {
    }
    return true;
  }
};

std::set<std::string> applied_names(pqxx::connection& c) {
  pqxx::nontransaction tx(c);
  std::set<std::string> names;
  if (!tx.exec("SELECT to_regclass('mediax.schema_migrations') IS NOT NULL")[0][0].as<bool>()) return names;
  for (const auto& r : tx.exec("SELECT name FROM mediax.schema_migrations")) names.insert(r[0].as<std::string>());
  return names;
}

}  // namespace

Migrator::Migrator(std::string db_url, std::string migrations_dir)
    : db_url_(std::move(db_url)), dir_(std::move(migrations_dir)) {}

std::vector<std::string> Migrator::available() const {
  std::vector<std::string> names;
  for (const auto& f : scan(dir_)) names.push_back(f.name);
  return names;
}

std::vector<std::string> Migrator::pending() {
  const auto files = scan(dir_);
  auto conn = connect(db_url_);
  std::set<std::string> applied;
  try {
    applied = applied_names(*conn);
  } catch (const std::exception&) {
    pg::rethrow_translated("reading applied migrations");
  }
  std::vector<std::string> out;
  for (const auto& f : files) {
    if (!applied.count(f.name)) out.push_back(f.name);
  }
  return out;
}

std::vector<std::string> Migrator::apply() {
  const auto files = scan(dir_);
  auto conn = connect(db_url_);
  std::set<std::string> applied;
  try {
    // Held until the connection closes, which also covers every error path below.
    pqxx::nontransaction tx(*conn);
    tx.exec_params("SELECT pg_advisory_lock($1)", kMigrationLockKey);
    tx.exec("CREATE SCHEMA IF NOT EXISTS mediax");
    tx.exec(
        "CREATE TABLE IF NOT EXISTS mediax.schema_migrations ("
        " name text PRIMARY KEY, applied_at timestamptz NOT NULL DEFAULT now())");
  } catch (const std::exception&) {
    pg::rethrow_translated("preparing migrations");
  }
  try {
    applied = applied_names(*conn);
  } catch (const std::exception&) {
    pg::rethrow_translated("reading applied migrations");
  }

  std::vector<std::string> done;
  LogWarnings log_warnings(*conn);
  for (const auto& f : files) {
    if (applied.count(f.name)) continue;
    const std::string sql = read_file(f.path);
    try {
      pqxx::work tx(*conn);
      tx.exec(sql);
      tx.exec_params("INSERT INTO mediax.schema_migrations (name) VALUES ($1)", f.name);
      tx.commit();
    } catch (const std::exception&) {
      pg::rethrow_translated("migration " + f.name);
    }
    done.push_back(f.name);
  }
  try {
    pqxx::nontransaction tx(*conn);
    tx.exec_params("SELECT pg_advisory_unlock($1)", kMigrationLockKey);
  } catch (const std::exception&) {
    // The lock goes with the connection anyway.
  }
  return done;
}

}  // namespace mediax
