// The running daemon: wires store, platforms, scheduler and admin API, loads the schedule,
// tells systemd, and shuts down cleanly on SIGTERM.
#pragma once

#include <string>

#include "config/config.hpp"

namespace mediax {

// Runs until SIGTERM/SIGINT; returns the process exit code.
int run_daemon(const Config& config, const std::string& migrations_dir);
// `mediaxd migrate`: applies pending migrations; returns the exit code.
int run_migrate(const Config& config, const std::string& migrations_dir);
// Where migrations are: the given dir, else the source tree's, else the installed ones.
std::string find_migrations_dir(const std::string& given);

}  // namespace mediax
