// PgStore: admin API keys (mediax.api_keys, migrations 0003 and 0013). Only hashes are stored.
#include "store/pg_store.hpp"

namespace mediax::pg {

namespace {

constexpr const char* kApiKeyColumns =
    "SELECT id, name, role, hash, array_to_json(apps)::text AS apps, "  //
    MEDIAX_EPOCH_US("created_at") " AS created_us, " MEDIAX_EPOCH_US("last_used_at") " AS used_us, "  //
    MEDIAX_EPOCH_US("revoked_at") " AS revoked_us FROM mediax.api_keys ";

ApiKeyRecord api_key_from_row(const pqxx::row& r) {
  ApiKeyRecord k;
  k.id = r["id"].as<std::int64_t>();
  k.name = r["name"].as<std::string>();
  k.role = r["role"].as<std::string>();
  k.hash_hex = r["hash"].as<std::string>();
  k.apps = parse_text_array(opt<std::string>(r["apps"]));
  k.created_at = from_epoch_us(r["created_us"].as<std::int64_t>());
  if (auto us = opt<std::int64_t>(r["used_us"])) k.last_used_at = from_epoch_us(*us);
  if (auto us = opt<std::int64_t>(r["revoked_us"])) k.revoked_at = from_epoch_us(*us);
  return k;
}

}  // namespace

ApiKeyRecord PgStore::create_api_key(const std::string& name, const std::string& role, const std::string& hash_hex,
                                     const std::vector<std::string>& apps) {
  return pool_.run("create_api_key", [&](pqxx::connection& c) {
    pqxx::work tx(c);
    pqxx::row row;
    try {
      // No scope is NULL (every app), never an empty array (migrations/0013_api_key_apps.sql).
      const std::optional<std::string> scope =
          apps.empty() ? std::nullopt : std::optional<std::string>(text_array_param(apps));
      row = tx.exec_params1(
          "INSERT INTO mediax.api_keys (name, role, hash, apps) VALUES ($1, $2, $3, "
          "CASE WHEN $4::text IS NULL THEN NULL ELSE " MEDIAX_TEXT_ARRAY("$4") " END) RETURNING id",
          name, role, hash_hex, scope);
    } catch (const pqxx::unique_violation&) {
      throw DuplicateError("an API key named '" + name + "' exists already (revoked keys keep their name)");
    }
    const auto res = tx.exec_params(std::string(kApiKeyColumns) + "WHERE id = $1", row[0].as<std::int64_t>());
    tx.commit();
    return api_key_from_row(res[0]);
  });
}

std::vector<ApiKeyRecord> PgStore::list_api_keys() {
  return pool_.run("list_api_keys", [&](pqxx::connection& c) {
    pqxx::work tx(c);
    std::vector<ApiKeyRecord> out;
    for (const auto& r : tx.exec(std::string(kApiKeyColumns) + "ORDER BY name")) out.push_back(api_key_from_row(r));
    tx.commit();
    return out;
  });
}

bool PgStore::revoke_api_key(const std::string& name, TimePoint at) {
  return pool_.run("revoke_api_key", [&](pqxx::connection& c) {
    pqxx::work tx(c);
    const auto res = tx.exec_params(
        "UPDATE mediax.api_keys SET revoked_at = to_timestamp($2) WHERE name = $1 AND revoked_at IS NULL", name,
        time_param(at));
    tx.commit();
    return res.affected_rows() > 0;
  });
}

void PgStore::touch_api_keys(const std::vector<std::string>& names, TimePoint at) {
  if (names.empty()) return;
  pool_.run("touch_api_keys", [&](pqxx::connection& c) {
    pqxx::work tx(c);
    tx.exec_params(
        "UPDATE mediax.api_keys SET last_used_at = to_timestamp($2) WHERE name = ANY(" MEDIAX_TEXT_ARRAY("$1") ")",
        text_array_param(names), time_param(at));
    tx.commit();
  });
}

}  // namespace mediax::pg
