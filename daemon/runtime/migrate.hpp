// `mediaxd migrate` and where the migrations are.
#pragma once

#include <string>

#include "config/config.hpp"

namespace mediax {

// Applies pending migrations; returns the exit code.
int run_migrate(const Config& config, const std::string& migrations_dir);
// Where migrations are: the given dir, else the source tree's, else the installed ones.
std::string find_migrations_dir(const std::string& given);

}  // namespace mediax
