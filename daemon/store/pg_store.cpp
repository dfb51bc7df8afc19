// PgStore: apps, authorization requests, events, health; make_pg_store.
#include "store/pg_store.hpp"

#include <algorithm>
#include <unordered_map>

#include "crypto/crypto.hpp"


namespace mediax::pg {

namespace {

// The secret column is only read when asked for, so it never sits in memory by accident.
// The stored ticket's CreateTime comes along (LEFT JOIN, wechat_component apps only have one);
// never the ticket.
std::string app_select(bool with_secret) {
  return std::string("SELECT id, name, platform, client_id, ") + (with_secret ? "client_secret" : "''::text") +
         " AS client_secret, " + (with_secret ? "secret_options" : "''::text") +
         " AS secret_options, array_to_json(scopes)::text AS scopes, client_credentials, issuer, authorize_url,"
         " token_url, revocation_url, token_auth_method, redirect_uri, options::text AS options, status,"
         " failure_count, last_error, " MEDIAX_EPOCH_US("next_refresh_at") " AS next_refresh_us, "
         MEDIAX_EPOCH_US("created_at") " AS created_us, token_usage, app_token_usage, credential_key, "
         MEDIAX_EPOCH_US("renew_not_permitted_at") " AS renew_not_permitted_us, misconfigured, "
         MEDIAX_EPOCH_US("misconfigured_at") " AS misconfigured_us, "
         MEDIAX_EPOCH_US("ct.create_time") " AS ticket_create_us"
         " FROM mediax.apps LEFT JOIN mediax.component_tickets ct ON ct.app_id = apps.id ";
}

App app_from_row(const pqxx::row& r) {
  App a;
  a.id = r["id"].as<std::int64_t>();
  a.name = r["name"].as<std::string>();
  a.platform = r["platform"].as<std::string>();
  a.client_id = r["client_id"].as<std::string>();
  a.client_secret = r["client_secret"].as<std::string>();
  // Still sealed here: open_app_secret parses it (see there). Held as a JSON string meanwhile.
  if (const auto sealed = r["secret_options"].as<std::string>(); !sealed.empty()) a.secret_options = sealed;
  a.scopes = parse_text_array(opt<std::string>(r["scopes"]));
  a.client_credentials = r["client_credentials"].as<bool>();
  a.issuer = r["issuer"].as<std::string>();
  a.endpoints.authorize_url = r["authorize_url"].as<std::string>();
  a.endpoints.token_url = r["token_url"].as<std::string>();
  a.endpoints.revocation_url = r["revocation_url"].as<std::string>();
  a.token_auth_method = r["token_auth_method"].as<std::string>();
  a.redirect_uri = r["redirect_uri"].as<std::string>();
  a.options = parse_json_object(opt<std::string>(r["options"]));
  a.status = grant_status_from_string(r["status"].as<std::string>()).value_or(GrantStatus::disabled);
  a.failure_count = r["failure_count"].as<int>();
  a.last_error = r["last_error"].as<std::string>();
  if (auto us = opt<std::int64_t>(r["next_refresh_us"])) a.next_refresh_at = from_epoch_us(*us);
  a.created_at = from_epoch_us(r["created_us"].as<std::int64_t>());
  if (auto us = opt<std::int64_t>(r["renew_not_permitted_us"])) a.renew_not_permitted_at = from_epoch_us(*us);
  a.token_usage =
      token_usage_from_string(r["token_usage"].as<std::string>()).value_or(TokenUsage::authorization_bearer);
  if (auto u = opt<std::string>(r["app_token_usage"])) a.app_token_usage = token_usage_from_string(*u);
  a.credential_key = opt<std::string>(r["credential_key"]).value_or("");
  if (auto us = opt<std::int64_t>(r["ticket_create_us"])) a.component_ticket_at = from_epoch_us(*us);
  a.misconfigured = r["misconfigured"].as<std::string>();
  if (auto us = opt<std::int64_t>(r["misconfigured_us"])) a.misconfigured_at = from_epoch_us(*us);
  return a;
}

Event event_from_row(const pqxx::row& r) {
  Event e;
  e.id = r["id"].as<std::int64_t>();
  e.app_id = opt<std::int64_t>(r["app_id"]);
  e.grant_id = opt<std::int64_t>(r["grant_id"]);
  e.kind = r["kind"].as<std::string>();
  e.detail = parse_json_object(opt<std::string>(r["detail"]));
  e.at = from_epoch_us(r["at_us"].as<std::int64_t>());
  return e;
}

}  // namespace

std::optional<App> select_app_by_id(pqxx::work& tx, std::int64_t id, bool with_secret) {
  const auto res = tx.exec_params(app_select(with_secret) + "WHERE id = $1", id);
  if (res.empty()) return std::nullopt;
  return app_from_row(res[0]);
}

std::string apps_by_ids_sql(bool with_secret) { return app_select(with_secret) + "WHERE id = ANY($1::int8[])"; }

std::vector<App> select_apps_by_ids(pqxx::work& tx, const std::string& ids, bool with_secret) {
  std::vector<App> out;
  // Every batch of scheduled refreshes runs it (pg_store_batch.cpp): prepared, as the batch's others.
  const char* name = with_secret ? "mediax_apps_by_ids_secret" : "mediax_apps_by_ids";
  for (const auto& r : exec_prepared(tx, name, apps_by_ids_sql(with_secret), ids)) {
    out.push_back(app_from_row(r));
  }
  return out;
}

App PgStore::create_app(const App& app) {
  return pool_.run("create_app", [&](pqxx::connection& c) {
    pqxx::work tx(c);
    // The id is taken first: the sealed client secret names its row (and its endpoints).
    const auto id = tx.exec("SELECT nextval(pg_get_serial_sequence('mediax.apps', 'id'))")[0][0].as<std::int64_t>();
    App bound = app;
    bound.id = id;
    const std::string sealed = seal_app_field("apps.client_secret", bound, app.client_secret);
    const bool has_secret_options = app.secret_options.is_object() && !app.secret_options.empty();
    std::string options_text = has_secret_options ? app.secret_options.dump() : std::string();
    const std::string sealed_options = seal_app_field("apps.secret_options", bound, options_text);
    crypto::secure_wipe(options_text);
    // NULL: the app token is sent as the grants' tokens (every platform but wechat_component).
    const std::string app_usage = to_string(app.own_token_usage());
    const bool app_usage_differs = app.own_token_usage() != app.token_usage;
    pqxx::row row;
    try {
      row = tx.exec_params1(
          "INSERT INTO mediax.apps (id, name, platform, client_id, client_secret, scopes, client_credentials, issuer,"
          " authorize_url, token_url, revocation_url, token_auth_method, redirect_uri, options, status,"
          " failure_count, last_error, next_refresh_at, token_usage, credential_key, secret_options, app_token_usage)"
          " VALUES ($18, $1, $2, $3, $4, " MEDIAX_TEXT_ARRAY("$5") ", $6, $7, $8, $9, $10, $11, $12, $13::jsonb, $14,"
          " $15, $16, to_timestamp($17), $19, $20, $21, $22) RETURNING id",
          app.name, app.platform, app.client_id, sealed, text_array_param(app.scopes),
          app.client_credentials, app.issuer, app.endpoints.authorize_url, app.endpoints.token_url,
          app.endpoints.revocation_url, app.token_auth_method, app.redirect_uri,
          (app.options.is_null() ? nlohmann::json::object() : app.options).dump(), to_string(app.status),
          app.failure_count, app.last_error, nullable(time_param(app.next_refresh_at)), id, to_string(app.token_usage),
          app.credential_key.empty() ? nullptr : app.credential_key.c_str(), sealed_options,
          app_usage_differs ? app_usage.c_str() : nullptr);
    } catch (const pqxx::unique_violation& e) {
      // The index's name is the only way libpqxx tells which constraint it was.
      if (std::string_view(e.what()).find("apps_credential_key") == std::string_view::npos) {
        throw DuplicateError("an app named '" + app.name + "' exists already");
      }
      tx.abort();
      pqxx::work again(c);
      const auto holder =
          again.exec_params("SELECT name FROM mediax.apps WHERE credential_key = $1", app.credential_key);
      again.commit();
      std::string name = holder.empty() ? std::string() : holder[0][0].as<std::string>();
      throw CredentialInUseError("app '" + name + "' fetches its app token with this credential already", name);
    }
    auto stored = select_app_by_id(tx, row[0].as<std::int64_t>(), false);
    tx.commit();
    stored->client_secret = app.client_secret;
    stored->secret_options = has_secret_options ? app.secret_options : nlohmann::json::object();
    return *stored;
  });
}

// $1 app id, $2 sealed client secret, $3 sealed secret options (NULL: unchanged), $4 restart time.
// $4 not NULL: an app token stopped by a refused secret starts again as a human expects
// (active, no failures, due now); a running or healthy one keeps its schedule. Secrets set
// through the API are bound to the endpoints the row has now: the app is no longer misconfigured.
constexpr const char* kUpdateAppSecrets =
    "UPDATE mediax.apps SET client_secret = COALESCE($2, client_secret),"
    " secret_options = COALESCE($3, secret_options),"
    " failure_count = CASE WHEN old.restart THEN 0 ELSE failure_count END,"
    " last_error = CASE WHEN old.restart THEN '' ELSE last_error END,"
    " status_reason = CASE WHEN old.restart THEN '' ELSE status_reason END,"
    " next_refresh_at = CASE WHEN old.restart THEN to_timestamp($4::float8) ELSE next_refresh_at END,"
    " status = CASE WHEN old.restart THEN 'active' ELSE status END, updated_at = now(),"
    " misconfigured = '', misconfigured_at = NULL"
    " FROM (SELECT id, ($4::float8 IS NOT NULL AND client_credentials AND status = 'needs_reauth') AS restart"
    "       FROM mediax.apps WHERE id = $1 FOR UPDATE) AS old"
    " WHERE mediax.apps.id = old.id RETURNING old.restart";

AppSecretsUpdated PgStore::update_app_secrets(std::int64_t app_id, const std::optional<std::string>& client_secret,
                                              const std::optional<nlohmann::json>& secret_options,
                                              std::optional<TimePoint> restart_at) {
  return pool_.run("update_app_secrets", [&](pqxx::connection& c) {
    pqxx::work tx(c);
    AppSecretsUpdated out;
    // Sealed for this row and the endpoints it has, read under the row lock (a value copied to
    // another row, or a row pointed elsewhere later, does not open).
    const auto locked = tx.exec_params("SELECT 1 FROM mediax.apps WHERE id = $1 FOR UPDATE", app_id);
    if (locked.empty()) return out;
    const auto app = select_app_by_id(tx, app_id, false);
    if (!app) return out;
    std::optional<std::string> sealed;
    if (client_secret) sealed = seal_app_field("apps.client_secret", *app, *client_secret);
    std::optional<std::string> sealed_options;
    if (secret_options) {
      const bool empty = !secret_options->is_object() || secret_options->empty();
      std::string text = empty ? std::string() : secret_options->dump();
      sealed_options = seal_app_field("apps.secret_options", *app, text);
      crypto::secure_wipe(text);
    }
    const auto res = tx.exec_params(kUpdateAppSecrets, app_id, nullable(sealed), nullable(sealed_options),
                                    nullable(time_param(restart_at)));
    if (res.empty()) return out;
    out.found = true;
    out.rescheduled = res[0][0].as<bool>();
    tx.commit();
    return out;
  });
}

std::vector<App> PgStore::list_apps() {
  return pool_.run("list_apps", [&](pqxx::connection& c) {
    pqxx::work tx(c);
    std::vector<App> out;
    for (const auto& r : tx.exec(app_select(false) + "ORDER BY id")) out.push_back(app_from_row(r));
    // Webhook URLs in one more query (not one per app), from the same snapshot.
    std::unordered_map<std::int64_t, std::string> urls;
    for (const auto& r : tx.exec("SELECT app_id, url FROM mediax.webhooks")) {
      urls.emplace(r[0].as<std::int64_t>(), r[1].as<std::string>());
    }
    for (auto& a : out) {
      if (auto it = urls.find(a.id); it != urls.end()) a.webhook_url = std::move(it->second);
    }
    tx.commit();
    return out;
  });
}

std::optional<App> PgStore::get_app(const std::string& name, bool with_secret) {
  return pool_.run("get_app", [&](pqxx::connection& c) -> std::optional<App> {
    pqxx::work tx(c);
    const auto res = tx.exec_params(app_select(with_secret) + "WHERE name = $1", name);
    if (res.empty()) return std::nullopt;
    auto app = app_from_row(res[0]);
    if (with_secret) open_secret_committing(tx, app);
    tx.commit();
    return std::optional<App>(std::move(app));
  });
}

std::optional<App> PgStore::get_app_by_id(std::int64_t id, bool with_secret) {
  return pool_.run("get_app_by_id", [&](pqxx::connection& c) {
    pqxx::work tx(c);
    auto app = select_app_by_id(tx, id, with_secret);
    if (app && with_secret) open_secret_committing(tx, *app);
    tx.commit();
    return app;
  });
}

bool PgStore::delete_app(const std::string& name) {
  return pool_.run("delete_app", [&](pqxx::connection& c) {
    pqxx::work tx(c);
    const auto res = tx.exec_params("DELETE FROM mediax.apps WHERE name = $1 RETURNING id", name);
    tx.commit();
    return !res.empty();
  });
}

void PgStore::create_auth_request(const AuthRequest& r) {
  pool_.run("create_auth_request", [&](pqxx::connection& c) {
    pqxx::work tx(c);
    tx.exec_params(
        "INSERT INTO mediax.auth_requests (state, app_id, code_verifier, redirect_uri, expires_at, browser_hash)"
        " VALUES ($1, $2, $3, $4, to_timestamp($5), NULLIF($6, ''))",
        r.state, r.app_id, seal_field("auth_requests.code_verifier", r.state, r.code_verifier), r.redirect_uri,
        time_param(r.expires_at), r.browser_hash);
    tx.commit();
  });
}

ConsumeResult PgStore::consume_auth_request(const std::string& state, TimePoint now, AuthRequest& out) {
  return pool_.run("consume_auth_request", [&](pqxx::connection& c) {
    pqxx::work tx(c);
    // The row lock of the UPDATE serialises concurrent callbacks: exactly one sees used_at NULL.
    const auto res = tx.exec_params(
        "UPDATE mediax.auth_requests SET used_at = to_timestamp($2)"
        " WHERE state = $1 AND used_at IS NULL AND expires_at > to_timestamp($2)"
        " RETURNING app_id, code_verifier, redirect_uri, COALESCE(browser_hash, '') AS browser_hash, " MEDIAX_EPOCH_US(
            "expires_at") " AS expires_us",
        state, time_param(now));
    if (!res.empty()) {
      // Opened before COMMIT: a verifier that does not decrypt leaves the request unused.
      const std::string verifier = open_verifier(state, res[0]["code_verifier"].as<std::string>());
      tx.commit();
      out.state = state;
      out.app_id = res[0]["app_id"].as<std::int64_t>();
      out.code_verifier = verifier;
      out.redirect_uri = res[0]["redirect_uri"].as<std::string>();
      out.browser_hash = res[0]["browser_hash"].as<std::string>();
      out.expires_at = from_epoch_us(res[0]["expires_us"].as<std::int64_t>());
      return ConsumeResult::ok;
    }
    const auto why = tx.exec_params("SELECT used_at IS NOT NULL FROM mediax.auth_requests WHERE state = $1", state);
    tx.commit();
    if (why.empty()) return ConsumeResult::unknown;
    return why[0][0].as<bool>() ? ConsumeResult::used : ConsumeResult::expired;
  });
}

int PgStore::purge_auth_requests(TimePoint older_than) {
  return pool_.run("purge_auth_requests", [&](pqxx::connection& c) {
    pqxx::work tx(c);
    const auto res = tx.exec_params(
        "DELETE FROM mediax.auth_requests WHERE expires_at < to_timestamp($1) OR used_at < to_timestamp($1)",
        time_param(older_than));
    const auto tickets = tx.exec_params(
        "DELETE FROM mediax.connect_tickets WHERE expires_at < to_timestamp($1) OR used_at < to_timestamp($1)",
        time_param(older_than));
    tx.commit();
    return static_cast<int>(res.affected_rows() + tickets.affected_rows());
  });
}

void PgStore::create_connect_ticket(const ConnectTicket& t) {
  pool_.run("create_connect_ticket", [&](pqxx::connection& c) {
    pqxx::work tx(c);
    tx.exec_params(
        "INSERT INTO mediax.connect_tickets (ticket_hash, app_id, choices, expires_at)"
        " VALUES ($1, $2, $3::jsonb, to_timestamp($4))",
        t.ticket_hash, t.app_id, t.choices.empty() ? std::string("{}") : t.choices, time_param(t.expires_at));
    tx.commit();
  });
}

ConsumeResult PgStore::consume_connect_ticket(const std::string& ticket_hash, TimePoint now, ConnectTicket& out) {
  return pool_.run("consume_connect_ticket", [&](pqxx::connection& c) {
    pqxx::work tx(c);
    // As consume_auth_request: the row lock makes exactly one opener see used_at NULL.
    const auto res = tx.exec_params(
        "UPDATE mediax.connect_tickets SET used_at = to_timestamp($2)"
        " WHERE ticket_hash = $1 AND used_at IS NULL AND expires_at > to_timestamp($2)"
        " RETURNING app_id, choices::text AS choices, " MEDIAX_EPOCH_US("expires_at") " AS expires_us",
        ticket_hash, time_param(now));
    if (!res.empty()) {
      tx.commit();
      out.ticket_hash = ticket_hash;
      out.app_id = res[0]["app_id"].as<std::int64_t>();
      out.choices = res[0]["choices"].as<std::string>();
      out.expires_at = from_epoch_us(res[0]["expires_us"].as<std::int64_t>());
      return ConsumeResult::ok;
    }
    const auto why =
        tx.exec_params("SELECT used_at IS NOT NULL FROM mediax.connect_tickets WHERE ticket_hash = $1", ticket_hash);
    tx.commit();
    if (why.empty()) return ConsumeResult::unknown;
    return why[0][0].as<bool>() ? ConsumeResult::used : ConsumeResult::expired;
  });
}

CallSpend PgStore::try_spend_call(std::int64_t app_id, const std::string& kind, const CallLimit& limit, TimePoint now) {
  const std::int64_t day = platform_day(now, limit.utc_offset_hours);
  return pool_.run("try_spend_call", [&](pqxx::connection& c) {
    pqxx::work tx(c);
    // Instances counting the same app and kind take turns: the gap spans days, so no single row's
    // lock covers it. The lock ends with the transaction.
    tx.exec_params("SELECT pg_advisory_xact_lock(hashtextextended('mediax.call_counts:' || $2, $1))", app_id, kind);
    const auto row = tx.exec_params1(
        "SELECT coalesce(max(count) FILTER (WHERE day = DATE '1970-01-01' + $3::integer), 0),"
        " " MEDIAX_EPOCH_US("max(last_at)") " FROM mediax.call_counts WHERE app_id = $1 AND kind = $2",
        app_id, kind, day);
    CallSpend spend;
    spend.count = row[0].as<int>();
    if (!row[1].is_null()) spend.last_at = from_epoch_us(row[1].as<std::int64_t>());
    spend.verdict = spend_verdict(spend.count, spend.last_at, limit, now);
    if (spend.counted()) {
      tx.exec_params(
          "INSERT INTO mediax.call_counts AS cc (app_id, kind, day, count, last_at)"
          " VALUES ($1, $2, DATE '1970-01-01' + $3::integer, 1, to_timestamp($4))"
          " ON CONFLICT (app_id, kind, day) DO UPDATE SET count = cc.count + 1,"
          " last_at = greatest(cc.last_at, excluded.last_at)",
          app_id, kind, day, time_param(now));
      ++spend.count;
    }
    tx.commit();
    return spend;
  });
}

int PgStore::calls_today(std::int64_t app_id, const std::string& kind, TimePoint now, int utc_offset_hours) {
  return pool_.run("calls_today", [&](pqxx::connection& c) {
    pqxx::work tx(c);
    const auto res = tx.exec_params(
        "SELECT count FROM mediax.call_counts"
        " WHERE app_id = $1 AND kind = $2 AND day = DATE '1970-01-01' + $3::integer",
        app_id, kind, platform_day(now, utc_offset_hours));
    return res.empty() ? 0 : res[0][0].as<int>();
  });
}

void PgStore::add_event(const Event& e) { events_.run(&e); }  // with other threads' events: pg_store_batch.cpp

std::vector<Event> PgStore::list_events(std::optional<std::int64_t> app_id, std::optional<std::int64_t> grant_id,
                                        int limit) {
  const int n = limit <= 0 ? 100 : std::min(limit, 10000);
  return pool_.run("list_events", [&](pqxx::connection& c) {
    pqxx::work tx(c);
    std::vector<Event> out;
    const auto res = tx.exec_params(
        "SELECT id, app_id, grant_id, kind, detail::text AS detail, " MEDIAX_EPOCH_US("at") " AS at_us"
        " FROM mediax.events WHERE ($1::int8 IS NULL OR app_id = $1) AND ($2::int8 IS NULL OR grant_id = $2)"
        " ORDER BY id DESC LIMIT $3",
        nullable(id_param(app_id)), nullable(id_param(grant_id)), n);
    for (const auto& r : res) out.push_back(event_from_row(r));
    tx.commit();
    return out;
  });
}

bool PgStore::ping() {
  try {
    return pool_.run("ping", [](pqxx::connection& c) {
      pqxx::work tx(c);
      tx.exec("SELECT 1");
      tx.commit();
      return true;
    });
  } catch (const StoreError&) {
    return false;
  }
}

}  // namespace mediax::pg

namespace mediax {

std::unique_ptr<Store> make_pg_store(const std::string& db_url, int pool_size,
                                     std::shared_ptr<const crypto::Sealer> sealer) {
  return std::make_unique<pg::PgStore>(db_url, pool_size, std::move(sealer));
}

}  // namespace mediax
