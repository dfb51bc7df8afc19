// `mediaxd create-api-key | list-api-keys | revoke-api-key`: admin API keys in the database.
#pragma once

#include <iosfwd>
#include <optional>
#include <string>

#include "config/config.hpp"

namespace mediax {

// Creates a key and prints it once on `out` (nothing else goes there); messages go to `err`.
// apps: --apps as given (a reader key's scope, service/api_key_scope.hpp); nullopt: every app.
// Returns the exit code: 0, 1 on a database problem or duplicate name, 2 on a bad name, role or
// apps (--apps with role admin included).
int run_create_api_key(const Config& config, const std::string& name, const std::string& role,
                       const std::optional<std::string>& apps, std::ostream& out, std::ostream& err);
// Prints one line per key: name, role, apps, created, last used, revoked (never a key or hash).
int run_list_api_keys(const Config& config, std::ostream& out, std::ostream& err);
int run_revoke_api_key(const Config& config, const std::string& name, std::ostream& out, std::ostream& err);

}  // namespace mediax
