// `mediaxd create-api-key | list-api-keys | revoke-api-key`: admin API keys in the database.
#pragma once

#include <iosfwd>
#include <string>

#include "config/config.hpp"

namespace mediax {

// Creates a key and prints it once on `out` (nothing else goes there); messages go to `err`.
// Returns the exit code: 0, 1 on a database problem or duplicate name, 2 on a bad name/role.
int run_create_api_key(const Config& config, const std::string& name, const std::string& role, std::ostream& out,
                       std::ostream& err);
// Prints one line per key: name, role, created, last used, revoked (never a key or hash).
int run_list_api_keys(const Config& config, std::ostream& out, std::ostream& err);
int run_revoke_api_key(const Config& config, const std::string& name, std::ostream& out, std::ostream& err);

}  // namespace mediax
