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

#include "core/secret_binding.hpp"
#include "crypto/crypto.hpp"
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
  // bound: sealed as v2 with the app's secret_binding (core/secret_binding.hpp).
  static const std::vector<SealedColumn> columns = {
      {"apps", "id", "int8", "client_secret", true},
      {"grants", "id", "int8", "refresh_token"},
      {"auth_requests", "state", "text", "code_verifier"},
      {"webhooks", "app_id", "int8", "secret"},                 // migrations/0006_webhooks.sql
      {"apps", "id", "int8", "secret_options", true},           // migrations/0011_wechat_component.sql
      {"component_tickets", "app_id", "int8", "ticket"},        // migrations/0011_wechat_component.sql
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
  if (stored.empty()) return {};
  if (!crypto::Sealer::is_sealed(stored)) {
    // Plain text from before encryption at rest, or written into the database by hand: never
    // used. `mediaxd migrate` (and rotate-key) seal what is left of it (the upgrade step).
    throw SecretUnreadableError("cannot use " + row_label(column, row_key) +
                                ": it is stored in plain text, which is not accepted; `mediaxd migrate` seals "
                                "values stored before encryption at rest");
  }
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

std::string PgStore::seal_app_field(std::string_view column, const App& app, std::string_view plaintext) const {
  if (plaintext.empty()) return {};
  if (!sealer_) {
    throw StoreError("cannot store the " + std::string(column.substr(column.find('.') + 1)) + " of app '" + app.name +
                     "': no encryption key is loaded");
  }
  return sealer_->seal_bound(plaintext, crypto::seal_context(column, std::to_string(app.id)), secret_binding(app));
}

std::string PgStore::open_app_field(std::string_view column, const App& app, std::string_view stored) const {
  if (stored.empty()) return {};
  const std::string what = "the " + std::string(column.substr(column.find('.') + 1)) + " of app '" + app.name +
                           "' (id " + std::to_string(app.id) + ")";
  switch (crypto::Sealer::version_of(stored)) {
    case 0:
      throw SecretUnreadableError("cannot use " + what +
                                  ": it is stored in plain text, which is not accepted; `mediaxd migrate` seals "
                                  "values stored before encryption at rest");
    case 1:
      // Sealed before secrets were bound to their token endpoint: bound to nothing, so it could be
      // sent wherever the row points now. The upgrade step of `mediaxd migrate` re-seals it.
      throw SecretUnreadableError("cannot use " + what +
                                  ": it was sealed before secrets were bound to their token endpoint; run "
                                  "`mediaxd migrate` (it re-seals it)");
    default:
      break;
  }
  if (!sealer_) throw SecretUnreadableError("cannot decrypt " + what + ": no encryption key is loaded");
  const std::string binding = secret_binding(app);
  try {
    return sealer_->open_bound(stored, crypto::seal_context(column, std::to_string(app.id)), binding);
  } catch (const crypto::BindingMismatch& e) {
    throw SecretUnreadableError("refused to use " + what + ": " + describe_binding_change(e.sealed_for(), binding) +
                                "; the secret is not sent. If the change is wanted, set the secret again "
                                "(PUT /v1/apps/" + app.name + "/secrets); else restore the endpoint");
  } catch (const crypto::SealError& e) {
    throw SecretUnreadableError("cannot decrypt " + what + ": " + e.what());
  }
}

void PgStore::open_app_secret(App& a) const {
  a.client_secret = open_app_field("apps.client_secret", a, a.client_secret);
  // app_from_row leaves the stored secret_options as a JSON string (the sealed text); '' = none.
  if (!a.secret_options.is_string()) return;
  std::string opened = open_app_field("apps.secret_options", a, a.secret_options.get<std::string>());
  auto j = nlohmann::json::parse(opened, nullptr, false);
  crypto::secure_wipe(opened);
  if (!j.is_object()) {
    throw SecretUnreadableError("cannot read the secret_options of app " + std::to_string(a.id) +
                                ": not a JSON object");
  }
  a.secret_options = std::move(j);
}

bool PgStore::app_secret_key_missing(const App& a) const {
  return key_missing(a.client_secret) || (a.secret_options.is_string() && key_missing(a.secret_options.get<std::string>()));
}

void PgStore::open_app_secret_or_mark(pqxx::work& tx, App& a) const {
  try {
    open_app_secret(a);
    if (!a.misconfigured.empty()) {
      // It opens again (the endpoint was put back, or another instance set the secret): no mark.
      tx.exec_params("UPDATE mediax.apps SET misconfigured = '', misconfigured_at = NULL WHERE id = $1", a.id);
      spdlog::info("app '{}' is no longer misconfigured: its secrets open for its endpoints again", a.name);
      a.misconfigured.clear();
      a.misconfigured_at.reset();
    }
  } catch (const SecretUnreadableError& e) {
    // A key this instance lacks is not the app's fault (another instance may open it).
    if (!app_secret_key_missing(a)) mark_app_misconfigured(tx, a, e.what());
    throw;
  }
}

void PgStore::open_secret_committing(pqxx::work& tx, App& a) const {
  try {
    open_app_secret_or_mark(tx, a);
  } catch (const SecretUnreadableError&) {
    tx.commit();  // the mark stays; the caller gets the refusal
    throw;
  }
}

void wipe_app_secrets(App& app) {
  crypto::secure_wipe(app.client_secret);
  app.secret_options = nlohmann::json::object();  // (a JSON value's strings cannot be wiped in place)
}

void mark_app_misconfigured(pqxx::work& tx, const App& app, const std::string& why) {
  const auto res = tx.exec_params(
      "UPDATE mediax.apps SET misconfigured = $2, misconfigured_at = now() WHERE id = $1 AND misconfigured <> $2"
      " RETURNING id",
      app.id, why);
  // Said once, when it becomes so; every refusal after it is in the refresh's own log line.
  if (!res.empty()) spdlog::error("app '{}' is misconfigured: {}", app.name, why);
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
      const std::string skip = skip_key_id.empty() ? ""
                                                   : " AND NOT starts_with(" + v + ", " +
                                                         tx.quote((col.bound ? "v2:" : "v1:") + skip_key_id + ":") + ")";
      const std::string sealed = "(" + v + " LIKE 'v1:%' OR " + v + " LIKE 'v2:%')";
      const auto res = tx.exec("SELECT CASE WHEN " + sealed + " THEN split_part(" + v +
                               ", ':', 2) ELSE '' END AS key_id, CASE WHEN " + sealed + " THEN substr(" + v +
                               ", 2, 1)::int ELSE 0 END AS version, count(*) FROM mediax." + tx.quote_name(col.table) +
                               " WHERE " + v + " <> ''" + skip + " GROUP BY 1, 2 ORDER BY 1, 2");
      for (const auto& r : res) {
        out.push_back({col.name(), r[0].as<std::string>(), r[2].as<std::int64_t>(), r[1].as<int>(), col.bound});
      }
    }
    tx.commit();
    return out;
  });
}

namespace {

// What the upgrade step re-seals in a column: plain text anywhere, and v1 values of a bound column.
std::string upgrade_condition(const SealedColumn& col, const std::string& v) {
  return col.bound ? "NOT starts_with(" + v + ", 'v2:')" : "NOT (" + v + " LIKE 'v1:%' OR " + v + " LIKE 'v2:%')";
}

}  // namespace

std::int64_t PgStore::count_values_to_upgrade() {
  return pool_.run("count_values_to_upgrade", [&](pqxx::connection& c) {
    pqxx::work tx(c);
    std::int64_t n = 0;
    for (const auto& col : sealed_columns()) {
      if (!tx.exec_params1("SELECT to_regclass($1) IS NOT NULL", "mediax." + col.table)[0].as<bool>()) continue;
      const std::string v = tx.quote_name(col.column);
      n += tx.exec1("SELECT count(*) FROM mediax." + tx.quote_name(col.table) + " WHERE " + v + " <> '' AND " +
                    upgrade_condition(col, v))[0]
               .as<std::int64_t>();
    }
    tx.commit();
    return n;
  });
}

std::vector<ResealCounts> PgStore::reseal_all(int batch_size, ResealMode mode) {
  if (!sealer_) throw StoreError("cannot re-seal: no encryption key is loaded");
  const int batch = std::max(1, batch_size);
  const std::string kid = sealer_->current_key_id();
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
    const std::string current_prefix = (col.bound ? "v2:" : "v1:") + kid + ":";
    // Whether a value (read, or read again after a concurrent write) still needs this pass.
    const auto needs = [&](const std::string& value) {
      if (value.empty()) return false;
      const int version = crypto::Sealer::version_of(value);
      if (mode == ResealMode::upgrade) return version == 0 || (col.bound && version == 1);
      return value.rfind(current_prefix, 0) != 0;
    };
    // A bound column's rows come with what their binding is made of (core/secret_binding.hpp).
    const std::string binding_columns =
        col.bound ? ", name, platform, token_url, revocation_url, options::text" : std::string();
    std::optional<std::string> after;  // the last row key done, as text
    for (;;) {
      // One batch: read the rows this pass changes, then compare-and-set each.
      const auto done = pool_.run("reseal_all", [&](pqxx::connection& c) {
        pqxx::work tx(c);
        // Identifiers come from sealed_columns(), never from input; quoted all the same.
        const std::string k = tx.quote_name(col.key_column);
        const std::string v = tx.quote_name(col.column);
        // Not under the current key ($2), and for the upgrade only plain or v1-bound values (none
        // of which starts with the current prefix either).
        const std::string which = "left(" + v + ", length($2)) <> $2" +
                                  (mode == ResealMode::upgrade ? " AND " + upgrade_condition(col, v) : std::string());
        const auto rows = tx.exec_params("SELECT " + k + "::text, " + v + binding_columns + " FROM " + table +
                                             " WHERE ($1::text IS NULL OR " + k + " > $1::text::" + col.key_type +
                                             ") AND " + v + " <> '' AND " + which + " ORDER BY " + k + " LIMIT $3",
                                         nullable(after), current_prefix, batch);
        // A bound value re-sealed for the endpoints its row names now opens again: the app's
        // misconfigured mark (if any) goes with the old value.
        const std::string update = "UPDATE " + table + " SET " + v + " = $1" +
                                   (col.bound ? ", misconfigured = '', misconfigured_at = NULL" : "") + " WHERE " + k +
                                   " = $2::text::" + col.key_type + " AND " + v + " = $3";
        const std::string reread = "SELECT " + v + " FROM " + table + " WHERE " + k + " = $1::text::" + col.key_type;
        for (const auto& r : rows) {
          const auto key = r[0].as<std::string>();
          std::string old = r[1].as<std::string>();
          after = key;
          App app;  // bound columns: what the value is bound to
          if (col.bound) {
            app.id = std::stoll(key);
            app.name = r[2].as<std::string>();
            app.platform = r[3].as<std::string>();
            app.endpoints.token_url = r[4].as<std::string>();
            app.endpoints.revocation_url = r[5].as<std::string>();
            app.options = nlohmann::json::parse(r[6].as<std::string>(), nullptr, false);
          }
          // A value a daemon rewrote meanwhile is read again; three tries are plenty (a refresh
          // rewrites a token once per token lifetime).
          for (int attempt = 0; attempt < 3; ++attempt) {
            if (!needs(old)) {
              ++counts.changed_concurrently;
              break;
            }
            const int version = crypto::Sealer::version_of(old);
            std::string plaintext;
            std::string fresh;
            try {
              if (version == 0) {
                plaintext = old;  // from before encryption at rest: sealed as it is
              } else if (col.bound && version == 2) {
                plaintext = open_app_field(col.name(), app, old);
              } else {
                plaintext = open_field(col.name(), key, old);  // v1: the row's identity alone
              }
              fresh = col.bound ? seal_app_field(col.name(), app, plaintext) : seal_field(col.name(), key, plaintext);
              crypto::secure_wipe(plaintext);
            } catch (const SecretUnreadableError& e) {
              crypto::secure_wipe(plaintext);
              counts.unreadable.push_back(col.name() + " of row " + report_key(col, key) + ": " + e.what());
              break;
            }
            if (tx.exec_params(update, fresh, key, old).affected_rows() == 1) {
              if (version == 0) {
                ++counts.sealed_plain;
              } else if (col.bound && version == 1) {
                ++counts.bound;
              } else {
                ++counts.resealed;
              }
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
    spdlog::info("{}: {}: {} re-sealed, {} plain values sealed, {} bound to their endpoint, {} rewritten meanwhile, "
                 "{} unreadable",
                 mode == ResealMode::upgrade ? "migrate" : "rotate-key", counts.column, counts.resealed,
                 counts.sealed_plain, counts.bound, counts.changed_concurrently, counts.unreadable.size());
    report.push_back(std::move(counts));
  }
  return report;
}

}  // namespace mediax::pg
