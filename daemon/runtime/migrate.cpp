#include "runtime/migrate.hpp"

#include <spdlog/spdlog.h>

#include <filesystem>

#include "runtime/credentials.hpp"
#include "runtime/seal_keys.hpp"
#include "store/pg_store.hpp"
#include "runtime/local_audit.hpp"
#include "store/store.hpp"

namespace mediax {

namespace fs = std::filesystem;

std::string find_migrations_dir(const std::string& given) {
  if (!given.empty()) return given;
  for (const std::string& d :
       {std::string(MEDIAX_SOURCE_DIR) + "/migrations", std::string("/usr/share/mediax/migrations"),
        std::string("/usr/local/share/mediax/migrations")}) {
    if (fs::is_directory(d)) return d;
  }
  return std::string(MEDIAX_SOURCE_DIR) + "/migrations";
}

int upgrade_sealed_values(const Config& config) {
  const std::string url = database_url(config);
  std::int64_t pending = 0;
  {
    pg::PgStore census(url, 1);  // counting needs no key
    pending = census.count_values_to_upgrade();
  }
  if (pending == 0) {
    spdlog::info("stored secrets: all sealed and bound (nothing to upgrade)");
    return 0;
  }
  LoadedSealKeys keys;
  try {
    keys = load_seal_keys(config.security);
  } catch (const std::exception& e) {
    spdlog::error(
        "{} stored secret(s) are in plain text or not yet bound to their token endpoint, and re-sealing them needs "
        "the encryption key: {}",
        pending, e.what());
    return 1;
  }
  for (const auto& w : keys.warnings) spdlog::warn("{}", w);
  pg::PgStore store(url, 2, keys.sealer);
  std::size_t unreadable = 0;
  for (const auto& r : store.reseal_all(100, pg::ResealMode::upgrade)) {
    for (const auto& u : r.unreadable) spdlog::error("migrate: {}", u);
    unreadable += r.unreadable.size();
  }
  if (unreadable > 0) {
    spdlog::error(
        "migrate: {} stored secret(s) do not decrypt and stay as they are (never used): set the app's secret "
        "again (PUT /v1/apps/NAME/secrets) or reconnect the account",
        unreadable);
    return 1;
  }
  spdlog::info("stored secrets: {} value(s) sealed or bound to their token endpoint", pending);
  return 0;
}

int run_migrate(const Config& config, const std::string& migrations_dir) {
  try {
    Migrator m(database_url(config), migrations_dir);
    auto applied = m.apply();
    if (applied.empty()) {
      spdlog::info("database is up to date ({} migrations)", m.available().size());
    } else {
      for (const auto& name : applied) spdlog::info("applied migration {}", name);
    }
    // After the fact: mediax.audit exists only once the migrations ran.
    auto store = make_pg_store(database_url(config), 1);
    const std::string outcome =
        applied.empty() ? "up to date" : "applied " + applied.front() + (applied.size() > 1 ? " .. " + applied.back() : "");
    if (!record_local_command(*store, "migrate", outcome)) spdlog::warn("migrate: the audit record was not written");
  } catch (const std::exception& e) {
    spdlog::error("migrate failed: {}", e.what());
    return 1;
  }
  // After the SQL: values from before encryption at rest are sealed, app secrets sealed before
  // they were bound to their endpoints (v1) are bound to the endpoints the rows name now. The
  // daemon never uses either kind (store/pg_store_seal.cpp); a second run finds nothing to do.
  try {
    return upgrade_sealed_values(config);
  } catch (const std::exception& e) {
    spdlog::error("migrate: re-sealing stored secrets failed: {}", e.what());
    return 1;
  }
}

}  // namespace mediax
