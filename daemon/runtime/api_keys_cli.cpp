#include "runtime/api_keys_cli.hpp"
#include "runtime/credentials.hpp"

#include <iomanip>
#include <ostream>

#include "runtime/local_audit.hpp"
#include "util/time_source.hpp"
#include "service/api_key_scope.hpp"
#include "service/api_keys.hpp"
#include "store/store.hpp"

namespace mediax {

int run_create_api_key(const Config& config, const std::string& name, const std::string& role,
                       const std::optional<std::string>& apps, std::ostream& out, std::ostream& err) {
  if (auto p = check_api_key_name(name); !p.empty()) {
    err << "mediaxd: --name: " << p << "\n";
    return 2;
  }
  if (auto p = check_api_key_role(role); !p.empty()) {
    err << "mediaxd: --role: " << p << "\n";
    return 2;
  }
  std::vector<std::string> scope;
  if (apps) {
    if (role != "reader") {
      err << "mediaxd: --apps: only reader keys are scoped to apps; an admin key may do everything\n";
      return 2;
    }
    auto parsed = parse_app_scope(*apps);
    if (!parsed) {
      err << "mediaxd: --apps: " << parsed.error() << "\n";
      return 2;
    }
    scope = std::move(*parsed);
  }
  try {
    auto store = make_pg_store(database_url(config), 1);
    LocalAudit audit(*store, "create-api-key");  // no record, no key
    const std::string key = generate_api_key();
    store->create_api_key(name, role, hash_api_key(key), scope);
    audit.done("created " + name + " (" + role + (scope.empty() ? "" : ", apps " + scope_text(scope)) + ")");
    out << key << "\n" << std::flush;
    err << "created API key '" << name << "' (role " << role;
    if (!scope.empty()) err << ", apps " << scope_text(scope);
    err << "); it is shown only now: store it safely, send it as Authorization: Bearer <key>\n";
    return 0;
  } catch (const std::exception& e) {
    err << "mediaxd: create-api-key failed: " << e.what() << "\n";
    return 1;
  }
}

int run_list_api_keys(const Config& config, std::ostream& out, std::ostream& err) {
  try {
    auto store = make_pg_store(database_url(config), 1);
    out << std::left << std::setw(24) << "NAME" << std::setw(8) << "ROLE" << std::setw(24) << "APPS" << std::setw(22)
        << "CREATED" << std::setw(22) << "LAST USED"
        << "REVOKED\n";
    for (const auto& k : store->list_api_keys()) {
      // APPS: the reader key's scope, "*" for every app (admin keys and unscoped readers).
      const std::string apps_text = scope_text(k.apps);
      out << std::setw(24) << k.name << std::setw(8) << k.role << std::setw(24)
          << (apps_text.size() < 24 ? apps_text : apps_text + " ") << std::setw(22) << format_time(k.created_at)
          << std::setw(22) << (k.last_used_at ? format_time(*k.last_used_at) : "-")
          << (k.revoked_at ? format_time(*k.revoked_at) : "-") << "\n";
    }
    return 0;
  } catch (const std::exception& e) {
    err << "mediaxd: list-api-keys failed: " << e.what() << "\n";
    return 1;
  }
}

int run_revoke_api_key(const Config& config, const std::string& name, std::ostream& out, std::ostream& err) {
  try {
    auto store = make_pg_store(database_url(config), 1);
    LocalAudit audit(*store, "revoke-api-key");
    if (!store->revoke_api_key(name, real_time().system())) {
      audit.done("no active key " + name);
      err << "mediaxd: no active API key named '" << name << "'\n";
      return 1;
    }
    audit.done("revoked " + name);
    out << "revoked API key '" << name << "' (running daemons refuse it within a few seconds)\n";
    return 0;
  } catch (const std::exception& e) {
    err << "mediaxd: revoke-api-key failed: " << e.what() << "\n";
    return 1;
  }
}

}  // namespace mediax
