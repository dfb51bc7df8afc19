#include "runtime/migrate.hpp"

#include <spdlog/spdlog.h>

#include <filesystem>

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

int run_migrate(const Config& config, const std::string& migrations_dir) {
  try {
    Migrator m(config.database.url, migrations_dir);
    auto applied = m.apply();
    if (applied.empty()) {
      spdlog::info("database is up to date ({} migrations)", m.available().size());
    } else {
      for (const auto& name : applied) spdlog::info("applied migration {}", name);
    }
    // After the fact: mediax.audit exists only once the migrations ran.
    auto store = make_pg_store(config.database.url, 1);
    const std::string outcome =
        applied.empty() ? "up to date" : "applied " + applied.front() + (applied.size() > 1 ? " .. " + applied.back() : "");
    if (!record_local_command(*store, "migrate", outcome)) spdlog::warn("migrate: the audit record was not written");
    return 0;
  } catch (const std::exception& e) {
    spdlog::error("migrate failed: {}", e.what());
    return 1;
  }
}

}  // namespace mediax
