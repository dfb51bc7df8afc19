// mediaxd: flags, config, and one call into the library. Everything else lives in daemon/*/.
#include <spdlog/spdlog.h>

#include <cstring>
#include <iostream>
#include <string>
#include <vector>

#include "config/config.hpp"
#include "runtime/api_keys_cli.hpp"
#include "runtime/credentials.hpp"
#include "runtime/daemon.hpp"
#include "runtime/logging.hpp"
#include "runtime/malloc_tuning.hpp"
#include "runtime/process_guard.hpp"
#include "runtime/rotate_key.hpp"

namespace {

constexpr const char* kUsage = R"(usage:
  mediaxd --config FILE                 run the daemon in the foreground
  mediaxd --check-config --config FILE  validate the configuration, exit 0 (valid) or 1
  mediaxd migrate --config FILE         apply pending database migrations
  mediaxd create-api-key --name N --role admin|reader [--apps 'crm,shop-*'] --config FILE
                                        create an API key; prints it once on stdout. --apps
                                        (reader keys only): the app names or patterns ('*' =
                                        any characters) whose tokens the key may read
  mediaxd list-api-keys --config FILE   list API keys (names, roles, use; never the keys)
  mediaxd revoke-api-key --name N --config FILE
  mediaxd rotate-key --config FILE [--batch N]
                                        re-encrypt every stored secret with security.key_file
                                        (old keys in security.previous_key_files); safe while
                                        daemons run; also encrypts values stored in plain text
  mediaxd --print-default-config         print every config key with its default, as TOML
  mediaxd --version | --help

options:
  --config FILE       TOML configuration (default /etc/mediax/mediaxd.toml)
  --migrations DIR    folder of NNNN_name.sql files (default: the installed ones)
)";

}  // namespace

int main(int argc, char** argv) {
  std::string config_path = "/etc/mediax/mediaxd.toml";
  std::string migrations;
  std::string key_name;
  std::string key_role;
  std::optional<std::string> key_apps;
  std::string command = "run";
  int batch = 100;
  bool check_only = false;
  std::vector<std::string> args(argv + 1, argv + argc);
  for (std::size_t i = 0; i < args.size(); ++i) {
    const auto& a = args[i];
    auto value = [&](const char* flag) -> std::string {
      if (i + 1 >= args.size()) {
        std::cerr << "mediaxd: " << flag << " needs a value\n" << kUsage;
        std::exit(2);
      }
      return args[++i];
    };
    if (a == "--config" || a == "-c") {
      config_path = value("--config");
    } else if (a.rfind("--config=", 0) == 0) {
      config_path = a.substr(9);
    } else if (a == "--migrations") {
      migrations = value("--migrations");
    } else if (a == "--check-config") {
      check_only = true;
    } else if (a == "--print-default-config") {
      std::cout << mediax::render_config(mediax::Config{});
      return 0;
    } else if (a == "--version") {
      std::cout << "mediaxd " << MEDIAX_VERSION << "\n";
      return 0;
    } else if (a == "--help" || a == "-h") {
      std::cout << kUsage;
      return 0;
    } else if (a == "--name") {
      key_name = value("--name");
    } else if (a == "--role") {
      key_role = value("--role");
    } else if (a == "--apps") {
      key_apps = value("--apps");
    } else if (a == "--batch") {
      const std::string v = value("--batch");
      try {
        batch = std::stoi(v);
      } catch (const std::exception&) {
        batch = 0;
      }
      if (batch < 1 || batch > 10000) {
        std::cerr << "mediaxd: --batch must be a number of rows, 1..10000\n";
        return 2;
      }
    } else if (a == "migrate" || a == "run" || a == "create-api-key" || a == "list-api-keys" || a == "revoke-api-key" ||
               a == "rotate-key") {
      command = a;
    } else {
      std::cerr << "mediaxd: unknown argument '" << a << "'\n" << kUsage;
      return 2;
    }
  }

  // First, before any key, password or secret is read: no core dump of this process, no ptrace
  // by others of its user (runtime/process_guard.hpp). Said once logging is set up.
  const std::string dump_problem = mediax::forbid_core_dumps();
  if (command == "run") {  // before any thread starts
    mediax::cap_malloc_arenas();
    mediax::fix_malloc_mmap_threshold();
  }

  mediax::Config config;
  try {
    config = mediax::load_config(config_path);
  } catch (const std::exception& e) {
    std::cerr << "mediaxd: invalid configuration: " << e.what() << "\n";
    return 1;
  }
  if (check_only) {
    std::cout << "configuration " << config_path << " is valid\n";
    return 0;
  }
  try {
    mediax::load_credentials(config);  // the database password, credential paths (runtime/credentials.hpp)
  } catch (const std::exception& e) {
    std::cerr << "mediaxd: " << e.what() << "\n";
    return 1;
  }
  try {
    mediax::setup_logging(config.log.level, config.log.format);
  } catch (const std::exception& e) {
    std::cerr << "mediaxd: " << e.what() << "\n";
    return 1;
  }
  if (!dump_problem.empty()) spdlog::warn("core dumps not forbidden: {}", dump_problem);
  const auto dir = mediax::find_migrations_dir(migrations);
  if (command == "migrate") return mediax::run_migrate(config, dir);
  if (command == "create-api-key") {
    return mediax::run_create_api_key(config, key_name, key_role, key_apps, std::cout, std::cerr);
  }
  if (command == "list-api-keys") return mediax::run_list_api_keys(config, std::cout, std::cerr);
  if (command == "revoke-api-key") return mediax::run_revoke_api_key(config, key_name, std::cout, std::cerr);
  if (command == "rotate-key") return mediax::run_rotate_key(config, batch, std::cout, std::cerr);
  try {
    return mediax::run_daemon(config, dir);
  } catch (const std::exception& e) {
    spdlog::critical("fatal: {}", e.what());
    return 1;
  }
}
