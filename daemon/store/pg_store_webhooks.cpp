// PgStore: per-app webhooks and their outbox (migrations/0006_webhooks.sql).
//
// Events are rows of mediax.webhook_deliveries. A sender claims due rows with one UPDATE whose
// row source is SELECT ... FOR UPDATE SKIP LOCKED: instances claiming at once never get the same
// row, and the lease it sets keeps the row away from the others until the attempt is recorded
// (or the lease runs out because the sender died). The webhook secret is sealed like
// apps.client_secret, with the app id as the row identity.
#include "store/pg_store.hpp"

#include <algorithm>

namespace mediax::pg {

namespace {

constexpr const char* kSecretColumn = "webhooks.secret";

WebhookDelivery delivery_from_row(const pqxx::row& r) {
  WebhookDelivery d;
  d.id = r["id"].as<std::int64_t>();
  d.app_id = r["app_id"].as<std::int64_t>();
  d.event = r["event"].as<std::string>();
  d.payload = parse_json_object(opt<std::string>(r["payload"]));
  d.attempts = r["attempts"].as<int>();
  d.created_at = from_epoch_us(r["created_us"].as<std::int64_t>());
  if (auto us = opt<std::int64_t>(r["next_us"])) d.next_attempt_at = from_epoch_us(*us);
  if (auto us = opt<std::int64_t>(r["delivered_us"])) d.delivered_at = from_epoch_us(*us);
  if (auto us = opt<std::int64_t>(r["failed_us"])) d.failed_at = from_epoch_us(*us);
  d.last_error = r["last_error"].as<std::string>();
  return d;
}

#define MEDIAX_DELIVERY_COLUMNS(p) \
  p "id AS id, " p "app_id AS app_id, " p "event AS event, " p "payload::text AS payload, " p                   \
    "attempts AS attempts, " MEDIAX_EPOCH_US(p "created_at") " AS created_us, " MEDIAX_EPOCH_US(p "next_attempt_at") \
    " AS next_us, " MEDIAX_EPOCH_US(p "delivered_at") " AS delivered_us, " MEDIAX_EPOCH_US(p "failed_at")          \
    " AS failed_us, " p "last_error AS last_error"

}  // namespace

std::string select_webhook_url(pqxx::work& tx, std::int64_t app_id) {
  const auto res = tx.exec_params("SELECT url FROM mediax.webhooks WHERE app_id = $1", app_id);
  return res.empty() ? std::string() : res[0][0].as<std::string>();
}

void enqueue_key_webhook(pqxx::work& tx, const std::string& event, std::int64_t app_id,
                         std::optional<std::int64_t> grant_id, const std::string& reason,
                         const std::optional<std::string>& klass) {
  // One builder for the events about an app token or a grant: {event, app, grant_id, account_id,
  // reason, class, at}, absent members (an app's event has no grant) left out.
  const std::optional<std::string> grant = grant_id ? std::optional<std::string>(std::to_string(*grant_id))
                                                    : std::nullopt;
  tx.exec_params(
      "INSERT INTO mediax.webhook_deliveries (app_id, event, payload, next_attempt_at)"
      " SELECT w.app_id, $2::text, jsonb_strip_nulls(jsonb_build_object('event', $2::text, 'app', a.name,"
      "   'grant_id', g.id, 'account_id', g.account_id, 'reason', $4::text, 'class', $5::text,"
      "   'at', to_char(now() AT TIME ZONE 'UTC', 'YYYY-MM-DD\"T\"HH24:MI:SS\"Z\"'))), now()"
      " FROM mediax.apps a JOIN mediax.webhooks w ON w.app_id = a.id LEFT JOIN mediax.grants g ON g.id = $3::int8"
      " WHERE a.id = CASE WHEN $3::int8 IS NULL THEN $1::int8"
      "                   ELSE (SELECT app_id FROM mediax.grants WHERE id = $3::int8) END",
      app_id, event, nullable(grant), reason, nullable(klass));
}

void enqueue_refresh_failure_webhook(pqxx::work& tx, const RefreshKey& key, const RefreshFailure& f) {
  if (f.new_status != GrantStatus::needs_reauth) return;
  // An app token that stops, or a grant refused because of the app's credentials, is the app's
  // problem; otherwise the account must be connected again.
  const bool app_problem = key.is_app_token() || f.kind == OutcomeKind::app_misconfigured;
  const std::string event = app_problem ? "app.misconfigured" : "grant.needs_reauth";
  enqueue_key_webhook(tx, event, key.app_id,
                      key.is_app_token() ? std::nullopt : std::optional<std::int64_t>(key.grant_id),
                      f.code.empty() ? to_string(f.kind) : f.code, to_string(f.kind));
}

void PgStore::set_webhook(std::int64_t app_id, const std::string& url, const std::string& secret) {
  const std::string sealed = seal_field(kSecretColumn, std::to_string(app_id), secret);
  pool_.run("set_webhook", [&](pqxx::connection& c) {
    pqxx::work tx(c);
    tx.exec_params(
        "INSERT INTO mediax.webhooks (app_id, url, secret) VALUES ($1, $2, $3)"
        " ON CONFLICT (app_id) DO UPDATE SET url = EXCLUDED.url, secret = EXCLUDED.secret, updated_at = now()",
        app_id, url, sealed);
    tx.commit();
  });
}

bool PgStore::delete_webhook(std::int64_t app_id) {
  return pool_.run("delete_webhook", [&](pqxx::connection& c) {
    pqxx::work tx(c);
    const auto res = tx.exec_params("DELETE FROM mediax.webhooks WHERE app_id = $1 RETURNING app_id", app_id);
    // Nothing is left to send them to; what was delivered or given up stays as history.
    tx.exec_params("DELETE FROM mediax.webhook_deliveries WHERE app_id = $1 AND next_attempt_at IS NOT NULL", app_id);
    tx.commit();
    return !res.empty();
  });
}

std::optional<Webhook> PgStore::get_webhook(std::int64_t app_id, bool with_secret) {
  auto hook = pool_.run("get_webhook", [&](pqxx::connection& c) -> std::optional<Webhook> {
    pqxx::work tx(c);
    const auto res = tx.exec_params(std::string("SELECT url, ") + (with_secret ? "secret" : "''::text") +
                                        " AS secret, " MEDIAX_EPOCH_US("created_at") " AS created_us, " MEDIAX_EPOCH_US(
                                            "updated_at") " AS updated_us FROM mediax.webhooks WHERE app_id = $1",
                                    app_id);
    tx.commit();
    if (res.empty()) return std::nullopt;
    Webhook w;
    w.app_id = app_id;
    w.url = res[0]["url"].as<std::string>();
    w.secret = res[0]["secret"].as<std::string>();
    w.created_at = from_epoch_us(res[0]["created_us"].as<std::int64_t>());
    w.updated_at = from_epoch_us(res[0]["updated_us"].as<std::int64_t>());
    return w;
  });
  if (hook && with_secret) hook->secret = open_field(kSecretColumn, std::to_string(app_id), hook->secret);
  return hook;
}

std::optional<std::int64_t> PgStore::enqueue_webhook(std::int64_t app_id, const std::string& event,
                                                     const nlohmann::json& payload) {
  return pool_.run("enqueue_webhook", [&](pqxx::connection& c) -> std::optional<std::int64_t> {
    pqxx::work tx(c);
    const auto res = tx.exec_params(
        "INSERT INTO mediax.webhook_deliveries (app_id, event, payload, next_attempt_at)"
        " SELECT app_id, $2::text, $3::jsonb, now() FROM mediax.webhooks WHERE app_id = $1 RETURNING id",
        app_id, event, (payload.is_object() ? payload : nlohmann::json::object()).dump());
    tx.commit();
    if (res.empty()) return std::nullopt;
    return res[0][0].as<std::int64_t>();
  });
}

std::vector<WebhookDelivery> PgStore::claim_webhook_deliveries(const std::string& owner, TimePoint now,
                                                               TimePoint lease_until, int limit) {
  auto claimed = pool_.run("claim_webhook_deliveries", [&](pqxx::connection& c) {
    pqxx::work tx(c);
    const auto res = tx.exec_params(
        "UPDATE mediax.webhook_deliveries d SET lease_owner = $1, lease_until = to_timestamp($3),"
        " attempts = d.attempts + 1"
        " FROM (SELECT id FROM mediax.webhook_deliveries"
        "       WHERE next_attempt_at IS NOT NULL AND next_attempt_at <= to_timestamp($2)"
        "         AND (lease_until IS NULL OR lease_until <= to_timestamp($2))"
        "       ORDER BY next_attempt_at, id LIMIT $4 FOR UPDATE SKIP LOCKED) due,"
        "      mediax.webhooks w"
        " WHERE d.id = due.id AND w.app_id = d.app_id"
        " RETURNING " MEDIAX_DELIVERY_COLUMNS("d.") ", w.url AS url, w.secret AS secret",
        owner, time_param(now), time_param(lease_until), std::max(1, limit));
    tx.commit();
    std::vector<WebhookDelivery> out;
    for (const auto& r : res) {
      auto d = delivery_from_row(r);
      d.url = r["url"].as<std::string>();
      d.secret = r["secret"].as<std::string>();
      out.push_back(std::move(d));
    }
    std::sort(out.begin(), out.end(), [](const auto& a, const auto& b) { return a.id < b.id; });
    return out;
  });
  for (auto& d : claimed) d.secret = open_field(kSecretColumn, std::to_string(d.app_id), d.secret);
  return claimed;
}

bool PgStore::finish_webhook_delivery(std::int64_t id, const std::string& owner, TimePoint at, const std::string& error,
                                      std::optional<TimePoint> retry_at) {
  std::string err = error;
  if (err.size() > 500) err.resize(500);
  return pool_.run("finish_webhook_delivery", [&](pqxx::connection& c) {
    pqxx::work tx(c);
    // $4 '' = delivered; else $5 NULL = given up, or the time of the next attempt.
    const auto res = tx.exec_params(
        "UPDATE mediax.webhook_deliveries SET lease_owner = NULL, lease_until = NULL, last_error = $4,"
        " delivered_at = CASE WHEN $4 = '' THEN to_timestamp($3) END,"
        " failed_at = CASE WHEN $4 <> '' AND $5::float8 IS NULL THEN to_timestamp($3) END,"
        " next_attempt_at = CASE WHEN $4 = '' THEN NULL ELSE to_timestamp($5::float8) END"
        " WHERE id = $1 AND lease_owner = $2 RETURNING id",
        id, owner, time_param(at), err, nullable(time_param(retry_at)));
    tx.commit();
    return !res.empty();
  });
}

std::optional<TimePoint> PgStore::next_webhook_due() {
  return pool_.run("next_webhook_due", [&](pqxx::connection& c) -> std::optional<TimePoint> {
    pqxx::work tx(c);
    // A leased row is due again when its lease runs out (GREATEST ignores NULL).
    const auto res = tx.exec(
        "SELECT " MEDIAX_EPOCH_US("min(GREATEST(next_attempt_at, lease_until))")
        " FROM mediax.webhook_deliveries WHERE next_attempt_at IS NOT NULL");
    tx.commit();
    if (res.empty() || res[0][0].is_null()) return std::nullopt;
    return from_epoch_us(res[0][0].as<std::int64_t>());
  });
}

std::vector<WebhookDelivery> PgStore::list_webhook_deliveries(std::int64_t app_id, int limit) {
  const int n = limit <= 0 ? 20 : std::min(limit, 1000);
  return pool_.run("list_webhook_deliveries", [&](pqxx::connection& c) {
    pqxx::work tx(c);
    std::vector<WebhookDelivery> out;
    const auto res = tx.exec_params("SELECT " MEDIAX_DELIVERY_COLUMNS("") " FROM mediax.webhook_deliveries"
                                    " WHERE app_id = $1 ORDER BY id DESC LIMIT $2",
                                    app_id, n);
    for (const auto& r : res) out.push_back(delivery_from_row(r));
    tx.commit();
    return out;
  });
}

}  // namespace mediax::pg
