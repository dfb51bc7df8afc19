// `mediaxd migrate` and where the migrations are.
#pragma once

#include <string>

#include "config/config.hpp"

namespace mediax {

// Applies pending migrations, then the upgrade of stored secrets (upgrade_sealed_values);
// returns the exit code.
int run_migrate(const Config& config, const std::string& migrations_dir);
// The step after the SQL migrations: seals values stored in plain text and binds app secrets
// sealed before secrets were bound to their token endpoint (v1 -> v2), as the rows are now.
// Needs the encryption key only when there is something to do. Idempotent. Returns the exit code
// (1 when a value does not decrypt, or the key is needed and missing).
int upgrade_sealed_values(const Config& config);
// Where migrations are: the given dir, else the source tree's, else the installed ones.
std::string find_migrations_dir(const std::string& given);

}  // namespace mediax
