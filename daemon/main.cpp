// mediaxd: flags, config, and one call into the library. Everything else lives in daemon/*/.
#include <spdlog/spdlog.h>

#include <cstring>
#include <iostream>
#include <string>
#include <vector>

#include "config/config.hpp"
#include "runtime/daemon.hpp"
#include "runtime/logging.hpp"

namespace {

constexpr const char* kUsage = R"(usage:
  mediaxd --config FILE                 run the daemon in the foreground
  mediaxd --check-config --config FILE  validate the configuration, exit 0 (valid) or 1
  mediaxd migrate --config FILE         apply pending database migrations
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
  std::string command = "run";
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
    } else if (a == "migrate" || a == "run") {
      command = a;
    } else {
      std::cerr << "mediaxd: unknown argument '" << a << "'\n" << kUsage;
      return 2;
    }
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
    mediax::setup_logging(config.log.level, config.log.format);
  } catch (const std::exception& e) {
    std::cerr << "mediaxd: " << e.what() << "\n";
    return 1;
  }
  const auto dir = mediax::find_migrations_dir(migrations);
  if (command == "migrate") return mediax::run_migrate(config, dir);
  try {
    return mediax::run_daemon(config, dir);
  } catch (const std::exception& e) {
    spdlog::critical("fatal: {}", e.what());
    return 1;
  }
}
