// PgStore: what a WeChat third-party platform (wechat_component) keeps besides apps and grants
// (migrations/0011_wechat_component.sql): the latest component_verify_ticket of each app, and
// the revocation of a grant the platform says its account withdrew.
//
// Tickets are sealed like every secret ("component_tickets.ticket:<app_id>"). A push may be
// retried or overtaken by the next one: the row is only replaced by a ticket with a later
// CreateTime, in one conditional upsert, so concurrent instances cannot store an older one last.
#include "store/pg_store.hpp"

namespace mediax::pg {

namespace {
constexpr const char* kTicketColumn = "component_tickets.ticket";
// Other instances LISTEN here (runtime/cluster_sync.cpp) and look at the app's token again. Not
// mediax_tokens: that channel is the readers' and says only that a token changed.
constexpr const char* kTicketChannel = "mediax_component_tickets";
}  // namespace

bool PgStore::put_component_ticket(const ComponentTicket& t) {
  const std::string sealed = seal_field(kTicketColumn, std::to_string(t.app_id), t.ticket);
  return pool_.run("put_component_ticket", [&](pqxx::connection& c) {
    pqxx::work tx(c);
    const auto res = tx.exec_params(
        "INSERT INTO mediax.component_tickets AS ct (app_id, ticket, create_time, received_at)"
        " VALUES ($1, $2, to_timestamp($3), to_timestamp($4))"
        " ON CONFLICT (app_id) DO UPDATE SET ticket = EXCLUDED.ticket, create_time = EXCLUDED.create_time,"
        " received_at = EXCLUDED.received_at WHERE ct.create_time < EXCLUDED.create_time RETURNING app_id",
        t.app_id, sealed, time_param(t.create_time), time_param(t.received_at));
    if (res.empty()) return false;  // the stored ticket is as new or newer
    tx.exec_params(
        "SELECT pg_notify($1, json_build_object('op', 'ticket', 'app_id', $2::int8, 'grant_id', NULL,"
        " 'by', current_setting('application_name', true))::text)",
        kTicketChannel, t.app_id);
    tx.commit();
    return true;
  });
}

std::optional<ComponentTicket> PgStore::latest_component_ticket(std::int64_t app_id) {
  auto t = pool_.run("latest_component_ticket", [&](pqxx::connection& c) -> std::optional<ComponentTicket> {
    pqxx::work tx(c);
    const auto res =
        tx.exec_params("SELECT ticket, " MEDIAX_EPOCH_US("create_time") " AS create_us, " MEDIAX_EPOCH_US(
                           "received_at") " AS received_us FROM mediax.component_tickets WHERE app_id = $1",
                       app_id);
    tx.commit();
    if (res.empty()) return std::nullopt;
    ComponentTicket out;
    out.app_id = app_id;
    out.ticket = res[0]["ticket"].as<std::string>();
    out.create_time = from_epoch_us(res[0]["create_us"].as<std::int64_t>());
    out.received_at = from_epoch_us(res[0]["received_us"].as<std::int64_t>());
    return out;
  });
  if (t) t->ticket = open_field(kTicketColumn, std::to_string(app_id), t->ticket);
  return t;
}

std::optional<std::int64_t> PgStore::revoke_grant_of_account(std::int64_t app_id, const std::string& account_id,
                                                             const std::string& reason) {
  return pool_.run("revoke_grant_of_account", [&](pqxx::connection& c) -> std::optional<std::int64_t> {
    pqxx::work tx(c);
    // A revoked grant is not revoked again: a retried push queues no second webhook.
    const auto found = tx.exec_params(
        "SELECT id FROM mediax.grants WHERE app_id = $1 AND account_id = $2 AND status <> 'revoked' FOR UPDATE", app_id,
        account_id);
    if (found.empty()) return std::nullopt;
    const auto id = found[0][0].as<std::int64_t>();
    revoke_grant_row(tx, id, reason);
    enqueue_key_webhook(tx, "grant.revoked", app_id, id, reason);
    tx.commit();
    return id;
  });
}

}  // namespace mediax::pg
