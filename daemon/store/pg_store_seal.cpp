// PgStore: secrets at rest. Sealing and opening single values, the census of key ids in use,
// and the online re-sealing behind `mediaxd rotate-key`.
//
// Re-sealing walks each sealed column by its row key in batches. Each row is written with a
// compare-and-set on the value it read (UPDATE ... WHERE col = old): a daemon that stored a
// rotated refresh token in between wins, and the row is read again. Rows are never locked for
// longer than one small transaction, and updated_at is left alone so other instances do not
// take a re-sealed row for a schedule change.
#include <spdlog/spdlog.h>

#include <algorithm>

#include "crypto/sealer.hpp"
#include "store/pg_store.hpp"

namespace mediax::pg {

namespace {

std::string row_label(std::string_view column, std::string_view row_key) {
  const auto dot = column.find('.');
  const std::string table(column.substr(0, dot));
  const std::string what(column.substr(dot == std::string_view::npos ? column.size() : dot + 1));
  if (table == "grants") return "the " + what + " of grant " + std::string(row_key);
  if (table == "apps") return "the " + what + " of app " + std::string(row_key);
  if (table == "auth_requests") return "the " + what + " of an authorization request";  // the state is a secret too
  if (table == "webhooks") return "the " + what + " of the webhook of app " + std::string(row_key);
  if (table == "component_tickets") return "the component_verify_ticket of app " + std::string(row_key);
  return "the value of " + std::string(column) + " in row " + std::string(row_key);
}

// Row keys in the associated data are the key column as text; auth request states are secret,
// so rotation reports them without it.
std::string report_key(const SealedColumn& c, const std::string& key) {
  return c.table == "auth_requests" ? std::string("(state not shown)") : key;
}

}  // namespace

const std::vector<SealedColumn>& sealed_columns() {
  static const std::vector<SealedColumn> columns = {
      {"apps", "id", "int8", "client_secret"},
      {"grants", "id", "int8", "refresh_token"},
      {"auth_requests", "state", "text", "code_verifier"},
      {"webhooks", "app_id", "int8", "secret"},           // migrations/0006_webhooks.sql
      {"apps", "id", "int8", "secret_options"},           // migrations/0011_wechat_component.sql
      {"component_tickets", "app_id", "int8", "ticket"},  // migrations/0011_wechat_component.sql
  };
  return columns;
}

PgStore::PgStore(const std::string& db_url, int pool_size, std::shared_ptr<const crypto::Sealer> sealer)
    : pool_(db_url, pool_size), sealer_(std::move(sealer)) {}

PgStore::~PgStore() = default;

std::string PgStore::seal_field(std::string_view column, std::string_view row_key, std::string_view plaintext) const {
  if (plaintext.empty()) return {};
  if (!sealer_) {
    throw StoreError("cannot store " + row_label(column, row_key) + ": no encryption key is loaded");
  }
  return sealer_->seal(plaintext, crypto::seal_context(column, row_key));
}

std::string PgStore::open_field(std::string_view column, std::string_view row_key, std::string_view stored) const {
  if (stored.empty() || !crypto::Sealer::is_sealed(stored))
    return std::string(stored);  // empty, or plain text from before
  if (!sealer_) {
    throw SecretUnreadableError("cannot decrypt " + row_label(column, row_key) + ": no encryption key is loaded");
  }
  try {
    return sealer_->open(stored, crypto::seal_context(column, row_key));
  } catch (const crypto::SealError& e) {
    // SealError never quotes the value; it says whether the key is missing or the value is bad.
    throw SecretUnreadableError("cannot decrypt " + row_label(column, row_key) + ": " + e.what());
  }
}

bool PgStore::key_missing(std::string_view stored) const {
  const auto id = crypto::Sealer::key_id_of(stored);
  return id && (!sealer_ || !sealer_->has_key(*id));
}

void PgStore::open_app_secret(App& a) const {
  a.client_secret = open_field("apps.client_secret", std::to_string(a.id), a.client_secret);
  // app_from_row leaves the stored secret_options as a JSON string (the sealed text); '' = none.
  if (!a.secret_options.is_string()) return;
  const std::string opened =
      open_field("apps.secret_options", std::to_string(a.id), a.secret_options.get<std::string>());
  auto j = nlohmann::json::parse(opened, nullptr, false);
  if (!j.is_object()) {
    throw SecretUnreadableError("cannot read the secret_options of app " + std::to_string(a.id) +
                                ": not a JSON object");
  }
  a.secret_options = std::move(j);
}

void PgStore::open_grant_token(Grant& g) const {
  g.refresh_token = open_field("grants.refresh_token", std::to_string(g.id), g.refresh_token);
}

std::string PgStore::open_verifier(const std::string& state, const std::string& stored) const {
  return open_field("auth_requests.code_verifier", state, stored);
}

std::vector<SealedValueCount> PgStore::count_sealed_values(const std::string& skip_key_id) {
  return pool_.run("count_sealed_values", [&](pqxx::connection& c) {
    pqxx::work tx(c);
    std::vector<SealedValueCount> out;
    for (const auto& col : sealed_columns()) {
      const auto exists = tx.exec_params1("SELECT to_regclass($1) IS NOT NULL", "mediax." + col.table);
      if (!exists[0].as<bool>()) continue;
      const std::string v = tx.quote_name(col.column);
      const std::string skip =
          skip_key_id.empty() ? "" : " AND NOT starts_with(" + v + ", " + tx.quote("v1:" + skip_key_id + ":") + ")";
      const auto res = tx.exec("SELECT CASE WHEN " + v + " LIKE 'v1:%' THEN split_part(" + v +
                               ", ':', 2) ELSE '' END AS key_id,"
                               " count(*) FROM mediax." +
                               tx.quote_name(col.table) + " WHERE " + v + " <> ''" + skip + " GROUP BY 1 ORDER BY 1");
      for (const auto& r : res) out.push_back({col.name(), r[0].as<std::string>(), r[1].as<std::int64_t>()});
    }
    tx.commit();
    return out;
  });
}

std::vector<ResealCounts> PgStore::reseal_all(int batch_size) {
  if (!sealer_) throw StoreError("cannot re-seal: no encryption key is loaded");
  const int batch = std::max(1, batch_size);
  const std::string current_prefix = "v1:" + sealer_->current_key_id() + ":";
  std::vector<ResealCounts> report;
  for (const auto& col : sealed_columns()) {
    const bool exists = pool_.run("reseal_all", [&](pqxx::connection& c) {
      pqxx::nontransaction tx(c);
      return tx.exec_params1("SELECT to_regclass($1) IS NOT NULL", "mediax." + col.table)[0].as<bool>();
    });
    if (!exists) continue;
    ResealCounts counts;
    counts.column = col.name();
    const std::string table = "mediax." + col.table;
    // Identifiers come from sealed_columns(), never from input; quoted all the same.
    const std::string select_sql_tail = " FROM " + table + " WHERE ";
    std::optional<std::string> after;  // the last row key done, as text
    for (;;) {
      // One batch: read the rows not yet under the current key, then compare-and-set each.
      const auto done = pool_.run("reseal_all", [&](pqxx::connection& c) {
        pqxx::work tx(c);
        const std::string k = tx.quote_name(col.key_column);
        const std::string v = tx.quote_name(col.column);
        const auto rows = tx.exec_params("SELECT " + k + "::text, " + v + select_sql_tail + "($1::text IS NULL OR " +
                                             k + " > $1::text::" + col.key_type + ") AND " + v + " <> '' AND left(" +
                                             v + ", length($2)) <> $2 ORDER BY " + k + " LIMIT $3",
                                         nullable(after), current_prefix, batch);
        const std::string update = "UPDATE " + table + " SET " + v + " = $1 WHERE " + k +
                                   " = $2::text::" + col.key_type + " AND " + v + " = $3";
        const std::string reread = "SELECT " + v + " FROM " + table + " WHERE " + k + " = $1::text::" + col.key_type;
        for (const auto& r : rows) {
          const auto key = r[0].as<std::string>();
          std::string old = r[1].as<std::string>();
          after = key;
          // A value a daemon rewrote meanwhile is read again; three tries are plenty (a refresh
          // rewrites a token once per token lifetime).
          for (int attempt = 0; attempt < 3; ++attempt) {
            if (old.empty() || old.rfind(current_prefix, 0) == 0) {
              ++counts.changed_concurrently;
              break;
            }
            const bool plain = !crypto::Sealer::is_sealed(old);
            std::string fresh;
            try {
              fresh = seal_field(col.name(), key, open_field(col.name(), key, old));
            } catch (const SecretUnreadableError& e) {
              counts.unreadable.push_back(col.name() + " of row " + report_key(col, key) + ": " + e.what());
              break;
            }
            if (tx.exec_params(update, fresh, key, old).affected_rows() == 1) {
              ++(plain ? counts.sealed_plain : counts.resealed);
              break;
            }
            const auto now = tx.exec_params(reread, key);
            if (now.empty()) break;  // deleted meanwhile
            old = now[0][0].as<std::string>();
          }
        }
        tx.commit();
        return rows.size() < static_cast<std::size_t>(batch);
      });
      if (done) break;
    }
    spdlog::info("rotate-key: {}: {} re-sealed, {} plain values sealed, {} rewritten meanwhile, {} unreadable",
                 counts.column, counts.resealed, counts.sealed_plain, counts.changed_concurrently,
                 counts.unreadable.size());
    report.push_back(std::move(counts));
  }
  return report;
}

}  // namespace mediax::pg
