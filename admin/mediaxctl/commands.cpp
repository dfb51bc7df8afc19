// mediaxctl's commands: one function each, human output through table.hpp, --json prints the API's JSON.
#include <chrono>
#include <cstdlib>
#include <fstream>
#include <functional>
#include <iostream>
#include <memory>
#include <ostream>
#include <sstream>

#include "cli.hpp"
#include "table.hpp"

namespace mediax::ctl {

namespace {

constexpr const char* kMainHelp = R"(usage: mediaxctl [GLOBAL OPTIONS] COMMAND [ARGS]

Command-line client of mediaxd's admin API.

Commands:
  apps list                      registered apps
  apps show NAME                 one app
  apps add NAME [OPTIONS]        register an app (see `mediaxctl apps add --help`)
  apps rm NAME                   delete an app with its grants and tokens
  apps secrets NAME [OPTIONS]    change an app's client secret or secret options; grants are kept
  grants list APP                connected accounts of an app
  grants show ID                 one grant
  grants add APP --code CODE     connect an account with a code the creator's own app obtained
  grants import APP --account ID --refresh-token-file FILE
                                 take over an account's refresh token from another system
  grants revoke ID               revoke a grant (at the platform when it can)
  grants recover ID              get a grant with a lost or refused refresh token going again
                                 (WeChat third-party platform); `grant` is the same as `grants`
  token get APP [--grant ID]     print the current access token (the app's own, or a grant's)
  connect APP [--mobile]         print a one-time link that connects an account (open it in a browser)
  refresh APP [--grant ID]       refresh a token now
  webhook show|set|rm APP        an app's webhook (see `mediaxctl webhook --help`)
  status                         daemon health, readiness and counts
  audit [FILTERS]                the audit trail, newest first (see `mediaxctl audit --help`)

Global options (anywhere on the line):
  --url URL            the daemon (default http://127.0.0.1:8080)
  --api-key KEY        API key sent as "Authorization: Bearer KEY" (prefer --api-key-file or the environment)
  --api-key-file FILE  read the API key from FILE
  --config FILE        config file (default $XDG_CONFIG_HOME/mediax/ctl.toml or ~/.config/mediax/ctl.toml)
  --json               print the API's JSON instead of tables
  -h, --help           help for mediaxctl or for a command

Settings are taken from flags, then the environment (MEDIAX_URL, MEDIAX_API_KEY), then the config file:
  url = "http://127.0.0.1:8080"
  api_key = "..."

Exit codes:
  0  success
  1  the API or the platform reported an error (or the daemon is not ready, for `status`)
  2  usage error (bad command line or config file)
  3  cannot connect to the daemon
  4  not found (no such app, grant or token)
)";

constexpr const char* kAppsListHelp = "usage: mediaxctl apps list [--json]\n\nLists the registered apps.\n";
constexpr const char* kAppsShowHelp = "usage: mediaxctl apps show NAME [--json]\n\nShows one app (never its secret).\n";
constexpr const char* kAppsRmHelp =
    "usage: mediaxctl apps rm NAME [--json]\n\nDeletes the app with its grants and tokens. Exit 4 when it does not "
    "exist.\n";
constexpr const char* kAppsSecretsHelp =
    R"(usage: mediaxctl apps secrets NAME [--client-secret-file F | --client-secret-env VAR] [--option KEY=FILE]... [--drop-option KEY]...

Changes the app's client secret and/or secret options (PUT /v1/apps/NAME/secrets) without
registering it again: its grants are kept. Values are read from files ("-" reads stdin; a trailing
newline is dropped) or the environment, never from the command line. A stopped app token (its
secret was refused) is fetched again at once after a client secret change.
  --client-secret-file F    the new client secret (AppSecret) from file F
  --client-secret-env VAR   the new client secret from environment variable VAR
  --option KEY=FILE         a secret option (wechat_component: message_token, encoding_aes_key,
                            previous_encoding_aes_key) read from FILE
  --drop-option KEY         remove a secret option (e.g. previous_encoding_aes_key once WeChat uses
                            the new key)
wechat_component: a new encoding_aes_key keeps the current one as previous_encoding_aes_key, so
pushes sealed with either are accepted while WeChat switches; drop it afterwards.
)";
constexpr const char* kAppsAddHelp =
    R"(usage: mediaxctl apps add NAME --platform P --client-id ID (--client-secret-file F | --client-secret-env VAR) [OPTIONS]
       mediaxctl apps add [NAME] --from-json FILE

Registers an app. The client secret is never taken on the command line.

Options:
  --platform P              oauth2 (default), douyin, wechat, google
  --client-id ID            the client id at the platform
  --client-secret-file F    read the client secret from file F (trailing newline dropped)
  --client-secret-env VAR   read the client secret from environment variable VAR
  --scope S                 a scope to request (repeat for several)
  --issuer URL              discover the endpoints from this issuer (OpenID / RFC 8414) ...
  --authorize-url URL       ... or give them: authorization endpoint
  --token-url URL           token endpoint (required without --issuer for oauth2)
  --revocation-url URL      RFC 7009 revocation endpoint
  --client-credentials      also keep an app token (client credentials grant)
  --auth-method M           client_secret_post (default) or client_secret_basic
  --redirect-uri URL        override the default {public_url}/oauth/callback/APP
  --webhook-url URL         POST signed events (needs re-authorization, misconfigured) to URL ...
  --webhook-secret-file F   ... signed with the secret in file F (16+ characters) ...
  --webhook-secret-env VAR  ... or in environment variable VAR
  --from-json FILE          the whole request body as JSON ("-" reads stdin); NAME and the
                            secret options fill in "name" and "client_secret" when given
)";
constexpr const char* kGrantsListHelp =
    "usage: mediaxctl grants list APP [--json]\n\nLists the app's connected accounts.\n";
constexpr const char* kGrantsShowHelp =
    "usage: mediaxctl grants show ID [--json]\n\nShows one grant (never its refresh token).\n";
constexpr const char* kGrantsAddHelp =
    R"(usage: mediaxctl grants add APP --code CODE [--redirect-uri URI] [--code-verifier V] [--json]

Connects an account with an authorization code the creator's own app obtained instead of the
browser callback: Douyin's mobile (iOS/Android OpenSDK) and H5 authorization, WeChat's app
login, or an OAuth 2.0 / Google app that ran its own authorization (with its own PKCE).
mediaxd exchanges the code at the platform and stores the grant as the callback does.

Options:
  --code CODE            the code (single use, valid for minutes)
  --redirect-uri URI     the redirect URI the code was obtained with, when the platform checks it
                         (OAuth 2.0, Google); default: the app's redirect_uri
  --code-verifier V      the PKCE code_verifier of that authorization (43-128 characters)

Exit 1 when the platform refuses the code (a used or expired code: get a new one) or fails.
)";
constexpr const char* kGrantsImportHelp =
    R"(usage: mediaxctl grants import APP --account ID --refresh-token-file FILE [OPTIONS] [--json]

Takes over an account from another system (an old token store) without asking the creator
again: mediaxd refreshes the token at the platform at once to prove it works, then stores the
grant (with the new refresh token when the platform rotates it: the old one may stop working
at once, so stop using it in the old system). A refused token is not stored (exit 1).
The refresh token is never taken on the command line.

Options:
  --account ID                the account id at the platform (Douyin/WeChat open_id, OpenID sub, ...)
  --refresh-token-file FILE   read the refresh token from FILE ("-" reads stdin; trailing newline dropped)
  --refresh-expires-at TIME   when the refresh token expires, ISO 8601 (2027-01-31T12:00:00Z)
  --scope S                   a granted scope (repeat for several); default: as the platform says,
                              else the app's scopes
)";
constexpr const char* kGrantsRevokeHelp =
    "usage: mediaxctl grants revoke ID [--json]\n\nRevokes the grant at the platform when it supports RFC 7009, marks "
    "it\n"
    "revoked and drops its token.\n";
constexpr const char* kTokenGetHelp =
    "usage: mediaxctl token get APP [--grant ID] [--json]\n\nPrints the current access token: the app's own (client "
    "credentials)\n"
    "token, or with --grant the token of that connected account. Exit 4 when there is none yet.\n";
constexpr const char* kConnectHelp =
    R"(usage: mediaxctl connect APP [--mobile] [--auth-type N] [--biz-appid APPID] [--json]

Starts connecting an account and prints a one-time connect link to mediaxd
({public_url}/connect/start?ticket=...): open it in a browser, or send it to the creator. The
browser that opens it first is sent on to the platform to log in and approve, and only that
browser can finish the connection (a cookie); the link works once and expires after
oauth.connect_link_ttl_seconds (default 5 minutes). --json also prints expires_at.

WeChat third-party platform (wechat_component) only:
  --mobile            the mobile link (open it inside WeChat) instead of the PC page's QR code
  --auth-type N       which accounts the page offers: 1 official accounts, 2 mini programs, 3 both
  --biz-appid APPID   only this account may authorize
Exit 1 with waiting_for_ticket while WeChat has not pushed its first component_verify_ticket.
)";
constexpr const char* kGrantsRecoverHelp = R"(usage: mediaxctl grants recover ID [--json]

Gets a grant going again when its refresh token was lost or refused, without asking the account's
owner: the platform hands out the account's refresh token again (WeChat third-party platform:
api_get_authorizer_info), mediaxd refreshes with it and stores the grant as active. Prints the grant.
Exit 1 when the platform cannot (not_supported: other platforms; connect the account again), refuses
(recovery_refused: the account withdrew the authorization) or fails; also for a revoked grant.
Exit 4 when the grant does not exist.
)";
constexpr const char* kRefreshHelp =
    "usage: mediaxctl refresh APP [--grant ID] [--json]\n\nRefreshes the app's own token, or with --grant that grant's "
    "token, now.\n"
    "Exit 1 with the platform's code and class when the platform refuses.\n";
constexpr const char* kWebhookHelp = R"(usage: mediaxctl webhook show APP [--json]
       mediaxctl webhook set APP URL (--secret-file F | --secret-env VAR) [--json]
       mediaxctl webhook rm APP [--json]

An app's webhook: mediaxd POSTs a small signed JSON event to URL when a grant needs
re-authorization (grant.needs_reauth) or the app is misconfigured (app.misconfigured), and
retries with backoff until the receiver answers 2xx. Each request carries
X-Mediax-Signature: sha256=HEX(HMAC-SHA256(secret, X-Mediax-Timestamp + "." + body)).

  show   the URL (never the secret) and the latest events with their delivery state
  set    set or replace the URL and secret; the secret (16+ characters) is never taken on the
         command line: --secret-file F (trailing newline dropped) or --secret-env VAR
  rm     remove the webhook; events not yet delivered are dropped
Exit 4 when the app (or, for show and rm, its webhook) does not exist.
)";
constexpr const char* kStatusHelp =
    "usage: mediaxctl status [--json]\n\nShows /healthz, /readyz and the number of apps and grants by status.\n"
    "Exit 1 when the daemon is not ready, 3 when it cannot be reached.\n";

constexpr const char* kAuditHelp = R"(usage: mediaxctl audit [--since TIME] [--until TIME] [--who NAME] [--app APP]
                      [--limit N] [--before ID] [--json]

The audit trail (GET /v1/audit), newest first: who (API key or local command), what (the route's
operationId or the command), app, grant, result (HTTP status or outcome), peer address and, for
token reads, how many in that minute. An admin key is needed.
  --since, --until TIME  RFC 3339 times (2027-01-31T12:00:00Z): at or after, before
  --who NAME             one API key (or command)
  --app APP              one app
  --limit N              at most N records (1..1000, default 100)
  --before ID            records older than ID: the next page (printed under the table)
)";

std::string str(const json& j, const std::string& key) {
  if (!j.is_object() || !j.contains(key) || j[key].is_null()) return "";
  const json& v = j[key];
  if (v.is_string()) return v.get<std::string>();
  if (v.is_array()) {
    std::string out;
    for (const auto& e : v) {
      if (!out.empty()) out += " ";
      out += e.is_string() ? e.get<std::string>() : e.dump();
    }
    return out;
  }
  return v.dump();
}

std::string when(const json& j, const std::string& key) {
  std::string t = str(j, key);
  if (t.empty()) return "";
  std::string rel = relative_time(t, std::chrono::system_clock::now());
  return rel.empty() ? t : t + " (" + rel + ")";
}

std::string short_when(const json& j, const std::string& key) {
  std::string t = str(j, key);
  std::string rel = relative_time(t, std::chrono::system_clock::now());
  return rel.empty() ? t : rel;
}

std::string grant_id(const std::string& s) {
  if (s.empty() || s.find_first_not_of("0123456789") != std::string::npos) {
    throw UsageError("'" + s + "' is not a grant id (a positive number)");
  }
  return s;
}

struct Ctx {
  Args args;
  std::ostream& out;
  std::function<Api&()> api;
  bool json_out() const { return args.has("--json"); }
  void print_json(const json& j) const { out << j.dump(2) << "\n"; }
};

// The positional arguments after the command words: exactly `n` of them, else a usage error.
const std::vector<std::string>& operands(const Ctx& c, std::size_t words, std::size_t n, const char* what) {
  static std::vector<std::string> ops;
  ops.assign(c.args.positional.begin() + static_cast<std::ptrdiff_t>(std::min(words, c.args.positional.size())),
             c.args.positional.end());
  if (ops.size() != n) throw UsageError(std::string("expected ") + what);
  return ops;
}

std::string read_all(const std::string& path, const char* what) {
  std::stringstream ss;
  if (path == "-") {
    ss << std::cin.rdbuf();
    return ss.str();
  }
  std::ifstream in(path, std::ios::binary);
  if (!in) throw UsageError(std::string(what) + ": cannot read " + path);
  ss << in.rdbuf();
  return ss.str();
}

// A secret from `file_opt` FILE or `env_opt` VAR; "" when neither is given.
std::string secret_from(const Args& a, const std::string& file_opt, const std::string& env_opt) {
  if (a.has(file_opt) && a.has(env_opt)) throw UsageError("give " + file_opt + " or " + env_opt + ", not both");
  if (a.has(file_opt)) {
    std::string s = read_all(a.value(file_opt), file_opt.c_str());
    while (!s.empty() && (s.back() == '\n' || s.back() == '\r')) s.pop_back();
    if (s.empty()) throw UsageError(file_opt + ": the file is empty");
    return s;
  }
  if (a.has(env_opt)) {
    const char* v = std::getenv(a.value(env_opt).c_str());
    if (!v || !*v) throw UsageError(env_opt + ": $" + a.value(env_opt) + " is not set");
    return v;
  }
  return "";
}

std::string secret_from_options(const Args& a) { return secret_from(a, "--client-secret-file", "--client-secret-env"); }

// The body of PUT /v1/apps/NAME/secrets; every value read from a file or the environment.
json secrets_body(const Args& a) {
  json body = json::object();
  const std::string secret = secret_from_options(a);
  if (!secret.empty()) body["client_secret"] = secret;
  json options = json::object();
  for (const auto& kv : a.values("--option")) {
    const auto eq = kv.find('=');
    if (eq == std::string::npos || eq == 0 || eq + 1 == kv.size()) {
      throw UsageError("--option: expected KEY=FILE (the value is read from FILE, \"-\" for stdin)");
    }
    const std::string key = kv.substr(0, eq);
    std::string value = read_all(kv.substr(eq + 1), "--option");
    while (!value.empty() && (value.back() == '\n' || value.back() == '\r')) value.pop_back();
    if (value.empty()) throw UsageError("--option " + key + ": the file is empty (use --drop-option " + key + ")");
    if (options.contains(key)) throw UsageError("--option " + key + ": given twice");
    options[key] = value;
  }
  for (const auto& key : a.values("--drop-option")) {
    if (key.empty()) throw UsageError("--drop-option: expected an option name");
    if (options.contains(key)) throw UsageError("--drop-option " + key + ": also given with --option");
    options[key] = nullptr;
  }
  if (!options.empty()) body["options"] = options;
  if (body.empty()) {
    throw UsageError(
        "nothing to change: give --client-secret-file/--client-secret-env, --option KEY=FILE or --drop-option KEY");
  }
  return body;
}

// --webhook-url with its secret into body["webhook"].
void add_webhook(const Args& a, json& body) {
  const std::string secret = secret_from(a, "--webhook-secret-file", "--webhook-secret-env");
  if (!a.has("--webhook-url")) {
    if (!secret.empty()) throw UsageError("--webhook-secret-file/--webhook-secret-env need --webhook-url");
    return;
  }
  if (secret.empty()) throw UsageError("--webhook-url needs --webhook-secret-file FILE or --webhook-secret-env VAR");
  body["webhook"] = {{"url", a.value("--webhook-url")}, {"secret", secret}};
}

json app_body(const Ctx& c) {
  const Args& a = c.args;
  std::vector<std::string> ops(a.positional.begin() + 2, a.positional.end());
  if (ops.size() > 1) throw UsageError("expected one app NAME");
  json body;
  if (a.has("--from-json")) {
    for (const char* o : {"--platform", "--client-id", "--scope", "--issuer", "--authorize-url", "--token-url",
                          "--revocation-url", "--client-credentials", "--auth-method", "--redirect-uri"}) {
      if (a.has(o)) throw UsageError(std::string(o) + " cannot be combined with --from-json (put it in the file)");
    }
    body = json::parse(read_all(a.value("--from-json"), "--from-json"), nullptr, false);
    if (!body.is_object()) throw UsageError("--from-json: " + a.value("--from-json") + " does not hold a JSON object");
    if (!ops.empty()) body["name"] = ops[0];
    if (!body.contains("name")) throw UsageError("the app NAME is missing (argument or \"name\" in the file)");
    std::string secret = secret_from_options(a);
    if (!secret.empty()) body["client_secret"] = secret;
    add_webhook(a, body);
    return body;
  }
  if (ops.empty()) throw UsageError("expected the app NAME");
  if (!a.has("--client-id")) throw UsageError("--client-id is required");
  std::string secret = secret_from_options(a);
  if (secret.empty())
    throw UsageError("the client secret is required: --client-secret-file FILE or --client-secret-env VAR");
  body["name"] = ops[0];
  body["platform"] = a.value("--platform", "oauth2");
  body["client_id"] = a.value("--client-id");
  body["client_secret"] = secret;
  body["scopes"] = a.values("--scope");
  if (a.has("--client-credentials")) body["client_credentials"] = true;
  if (a.has("--issuer")) body["issuer"] = a.value("--issuer");
  json endpoints = json::object();
  if (a.has("--authorize-url")) endpoints["authorize_url"] = a.value("--authorize-url");
  if (a.has("--token-url")) endpoints["token_url"] = a.value("--token-url");
  if (a.has("--revocation-url")) endpoints["revocation_url"] = a.value("--revocation-url");
  if (!endpoints.empty()) body["endpoints"] = endpoints;
  if (a.has("--auth-method")) body["token_auth_method"] = a.value("--auth-method");
  if (a.has("--redirect-uri")) body["redirect_uri"] = a.value("--redirect-uri");
  add_webhook(a, body);
  return body;
}

void show_app(const Ctx& c, const json& app) {
  if (c.json_out()) return c.print_json(app);
  std::vector<std::pair<std::string, std::string>> f = {
      {"name", str(app, "name")},
      {"platform", str(app, "platform")},
      {"client id", str(app, "client_id")},
      {"scopes", str(app, "scopes")},
      {"client credentials", str(app, "client_credentials")},
      {"token auth method", str(app, "token_auth_method")},
      {"redirect uri", str(app, "redirect_uri")},
      {"token usage", str(app, "token_usage")},
      {"status", str(app, "status")},
  };
  if (app.contains("endpoints") && app["endpoints"].is_object()) {
    for (const auto& [k, v] : app["endpoints"].items())
      f.emplace_back(k, v.is_string() ? v.get<std::string>() : v.dump());
  }
  for (const char* k : {"failure_count", "last_error", "next_refresh_at", "created_at"}) {
    if (app.contains(k) && !app[k].is_null())
      f.emplace_back(k, k == std::string("next_refresh_at") ? when(app, k) : str(app, k));
  }
  if (app.contains("waiting_for_ticket")) {
    // wechat_component: the component token needs the ticket WeChat pushes every 10 minutes.
    f.emplace_back("ticket", app.value("waiting_for_ticket", false)    ? "waiting for WeChat's first push"
                             : str(app, "component_ticket_at").empty() ? "none"
                                                                       : "last at " + when(app, "component_ticket_at"));
  }
  f.emplace_back("webhook",
                 app.contains("webhook") && app["webhook"].is_object() ? str(app["webhook"], "url") : "none");
  c.out << render_fields(f);
}

void show_grant(const Ctx& c, const json& g) {
  if (c.json_out()) return c.print_json(g);
  c.out << render_fields({
      {"id", str(g, "id")},
      {"app", str(g, "app")},
      {"account", str(g, "account_id")},
      {"scopes", str(g, "scopes")},
      {"status", str(g, "status")},
      {"status reason", str(g, "status_reason")},
      {"failures", str(g, "failure_count")},
      {"last error", str(g, "last_error")},
      {"token expires", when(g, "token_expires_at")},
      {"next refresh", when(g, "next_refresh_at")},
      {"refresh expires", when(g, "refresh_expires_at")},
      {"created", str(g, "created_at")},
      {"updated", str(g, "updated_at")},
  });
}

void show_token(const Ctx& c, const json& t) {
  if (c.json_out()) return c.print_json(t);
  c.out << str(t, "access_token") << "\n";
}

int apps(Ctx& c) {
  const auto& p = c.args.positional;
  const std::string sub = p.size() > 1 ? p[1] : "";
  if (sub == "list") {
    c.args.allow_only({});
    operands(c, 2, 0, "no arguments");
    json r = c.api().get("/v1/apps");
    if (c.json_out()) return c.print_json(r), kExitOk;
    std::vector<Row> rows;
    for (const auto& a : r.value("apps", json::array())) {
      rows.push_back({str(a, "name"), str(a, "platform"), str(a, "client_id"), str(a, "scopes"),
                      a.value("client_credentials", false) ? "yes" : "no", str(a, "status")});
    }
    c.out << render_table({"NAME", "PLATFORM", "CLIENT ID", "SCOPES", "APP TOKEN", "STATUS"}, rows);
    return kExitOk;
  }
  if (sub == "show") {
    c.args.allow_only({});
    const auto& ops = operands(c, 2, 1, "one app NAME");
    show_app(c, c.api().get("/v1/apps/" + seg(ops[0])));
    return kExitOk;
  }
  if (sub == "add") {
    c.args.allow_only({"--platform", "--client-id", "--client-secret-file", "--client-secret-env", "--scope",
                       "--issuer", "--authorize-url", "--token-url", "--revocation-url", "--client-credentials",
                       "--auth-method", "--redirect-uri", "--from-json", "--webhook-url", "--webhook-secret-file",
                       "--webhook-secret-env"});
    json body = app_body(c);
    json app = c.api().post("/v1/apps", body);
    if (c.json_out()) return c.print_json(app), kExitOk;
    c.out << "registered app " << str(app, "name") << "\n";
    c.out << "register this redirect URI at the platform: " << str(app, "redirect_uri") << "\n";
    return kExitOk;
  }
  if (sub == "secrets") {
    c.args.allow_only({"--client-secret-file", "--client-secret-env", "--option", "--drop-option"});
    const auto& ops = operands(c, 2, 1, "one app NAME");
    json body = secrets_body(c.args);
    json app = c.api().put("/v1/apps/" + seg(ops[0]) + "/secrets", body);
    if (c.json_out()) return c.print_json(app), kExitOk;
    std::string what;
    for (const auto& [k, v] : body.items()) {
      if (k == "options") {
        for (const auto& [o, ov] : v.items())
          what += (what.empty() ? "" : ", ") + o + (ov.is_null() ? " (dropped)" : "");
      } else {
        what += (what.empty() ? "" : ", ") + k;
      }
    }
    c.out << "app " << str(app, "name") << ": secrets changed (" << what << ")\n";
    return kExitOk;
  }
  if (sub == "rm") {
    c.args.allow_only({});
    const auto& ops = operands(c, 2, 1, "one app NAME");
    json r = c.api().del("/v1/apps/" + seg(ops[0]));
    if (c.json_out()) return c.print_json(r), kExitOk;
    c.out << "deleted app " << ops[0] << "\n";
    return kExitOk;
  }
  throw UsageError(sub.empty() ? "apps: expected list, show, add, secrets or rm"
                               : "apps: unknown subcommand '" + sub + "'");
}

// The answer of grants add / import: 201 a new grant, 200 the account's grant replaced.
int show_added(const Ctx& c, const json& g, const char* how) {
  if (c.json_out()) return c.print_json(g), kExitOk;
  c.out << how << " account " << str(g, "account_id") << " as grant " << str(g, "id") << "\n";
  show_grant(c, g);
  return kExitOk;
}

int grants(Ctx& c) {
  const auto& p = c.args.positional;
  const std::string sub = p.size() > 1 ? p[1] : "";
  if (sub == "add") {
    c.args.allow_only({"--code", "--redirect-uri", "--code-verifier"});
    const auto& ops = operands(c, 2, 1, "one APP");
    if (!c.args.has("--code") || c.args.value("--code").empty()) throw UsageError("--code CODE is required");
    json body{{"code", c.args.value("--code")}};
    if (c.args.has("--redirect-uri")) body["redirect_uri"] = c.args.value("--redirect-uri");
    if (c.args.has("--code-verifier")) body["code_verifier"] = c.args.value("--code-verifier");
    return show_added(c, c.api().post("/v1/apps/" + seg(ops[0]) + "/grants", body), "connected");
  }
  if (sub == "import") {
    c.args.allow_only({"--account", "--refresh-token-file", "--refresh-expires-at", "--scope"});
    const auto& ops = operands(c, 2, 1, "one APP");
    if (!c.args.has("--account")) throw UsageError("--account ID is required");
    if (!c.args.has("--refresh-token-file")) {
      throw UsageError(
          "--refresh-token-file FILE is required (\"-\" reads stdin); the token is never taken on the command line");
    }
    std::string token = read_all(c.args.value("--refresh-token-file"), "--refresh-token-file");
    while (!token.empty() && (token.back() == '\n' || token.back() == '\r')) token.pop_back();
    if (token.empty())
      throw UsageError("--refresh-token-file: no refresh token in " + c.args.value("--refresh-token-file"));
    json body{{"account_id", c.args.value("--account")}, {"refresh_token", token}};
    if (c.args.has("--refresh-expires-at")) body["refresh_expires_at"] = c.args.value("--refresh-expires-at");
    if (c.args.has("--scope")) body["scopes"] = c.args.values("--scope");
    return show_added(c, c.api().post("/v1/apps/" + seg(ops[0]) + "/grants/import", body), "imported");
  }
  c.args.allow_only({});
  if (sub == "list") {
    const auto& ops = operands(c, 2, 1, "one APP");
    json r = c.api().get("/v1/apps/" + seg(ops[0]) + "/grants");
    if (c.json_out()) return c.print_json(r), kExitOk;
    std::vector<Row> rows;
    for (const auto& g : r.value("grants", json::array())) {
      rows.push_back({str(g, "id"), str(g, "account_id"), str(g, "status"), short_when(g, "token_expires_at"),
                      short_when(g, "next_refresh_at"), str(g, "failure_count"), str(g, "last_error")});
    }
    c.out << render_table({"ID", "ACCOUNT", "STATUS", "TOKEN EXPIRES", "NEXT REFRESH", "FAILURES", "LAST ERROR"}, rows);
    return kExitOk;
  }
  if (sub == "show") {
    const auto& ops = operands(c, 2, 1, "one grant ID");
    show_grant(c, c.api().get("/v1/grants/" + grant_id(ops[0])));
    return kExitOk;
  }
  if (sub == "recover") {
    const auto& ops = operands(c, 2, 1, "one grant ID");
    json g = c.api().post("/v1/grants/" + grant_id(ops[0]) + "/recover");
    if (c.json_out()) return c.print_json(g), kExitOk;
    c.out << "recovered grant " << str(g, "id") << " (account " << str(g, "account_id") << ")\n";
    show_grant(c, g);
    return kExitOk;
  }
  if (sub == "revoke") {
    const auto& ops = operands(c, 2, 1, "one grant ID");
    json r = c.api().del("/v1/grants/" + grant_id(ops[0]));
    if (c.json_out()) return c.print_json(r), kExitOk;
    c.out << "revoked grant " << ops[0] << " (revocation at the platform: " << str(r, "platform_revocation") << ")\n";
    return kExitOk;
  }
  throw UsageError(sub.empty() ? "grants: expected list, show, add, import, revoke or recover"
                               : "grants: unknown subcommand '" + sub + "'");
}

int webhook(Ctx& c) {
  const auto& p = c.args.positional;
  const std::string sub = p.size() > 1 ? p[1] : "";
  if (sub == "show") {
    c.args.allow_only({});
    const auto& ops = operands(c, 2, 1, "one APP");
    json r = c.api().get("/v1/apps/" + seg(ops[0]) + "/webhook");
    if (c.json_out()) return c.print_json(r), kExitOk;
    c.out << render_fields({{"url", str(r, "url")}, {"updated", str(r, "updated_at")}});
    std::vector<Row> rows;
    for (const auto& d : r.value("deliveries", json::array())) {
      rows.push_back({str(d, "id"), str(d, "event"), str(d, "state"), str(d, "attempts"), str(d, "last_error"),
                      str(d, "created_at"), short_when(d, "next_attempt_at")});
    }
    c.out << "\n" << render_table({"ID", "EVENT", "STATE", "ATTEMPTS", "LAST ERROR", "CREATED", "NEXT ATTEMPT"}, rows);
    return kExitOk;
  }
  if (sub == "set") {
    c.args.allow_only({"--secret-file", "--secret-env"});
    const auto& ops = operands(c, 2, 2, "APP and URL");
    const std::string app = ops[0], url = ops[1];
    const std::string secret = secret_from(c.args, "--secret-file", "--secret-env");
    if (secret.empty()) throw UsageError("the webhook secret is required: --secret-file FILE or --secret-env VAR");
    json r = c.api().put("/v1/apps/" + seg(app) + "/webhook", {{"url", url}, {"secret", secret}});
    if (c.json_out()) return c.print_json(r), kExitOk;
    c.out << "app " << app << ": events go to " << url << "\n";
    return kExitOk;
  }
  if (sub == "rm") {
    c.args.allow_only({});
    const auto& ops = operands(c, 2, 1, "one APP");
    json r = c.api().del("/v1/apps/" + seg(ops[0]) + "/webhook");
    if (c.json_out()) return c.print_json(r), kExitOk;
    c.out << "app " << ops[0] << ": webhook removed\n";
    return kExitOk;
  }
  throw UsageError(sub.empty() ? "webhook: expected show, set or rm" : "webhook: unknown subcommand '" + sub + "'");
}

std::string token_path(const Ctx& c, const std::string& app) {
  if (c.args.has("--grant")) return "/v1/grants/" + grant_id(c.args.value("--grant"));
  return "/v1/apps/" + seg(app);
}

int token(Ctx& c) {
  const auto& p = c.args.positional;
  const std::string sub = p.size() > 1 ? p[1] : "";
  if (sub != "get") throw UsageError(sub.empty() ? "token: expected get" : "token: unknown subcommand '" + sub + "'");
  c.args.allow_only({"--grant"});
  const auto& ops = operands(c, 2, 1, "one APP");
  show_token(c, c.api().get(token_path(c, ops[0]) + "/token"));
  return kExitOk;
}

int connect(Ctx& c) {
  c.args.allow_only({"--mobile", "--auth-type", "--biz-appid"});
  const auto& ops = operands(c, 1, 1, "one APP");
  // Only the choices given: the daemon refuses them for platforms that take none.
  json body = json::object();
  if (c.args.has("--mobile")) body["mobile"] = true;
  if (c.args.has("--auth-type")) {
    const std::string n = c.args.value("--auth-type");
    if (n != "1" && n != "2" && n != "3")
      throw UsageError("--auth-type is 1 (official accounts), 2 (mini programs) or 3 (both)");
    body["auth_type"] = n[0] - '0';
  }
  if (c.args.has("--biz-appid")) body["biz_appid"] = c.args.value("--biz-appid");
  json r = c.api().post("/v1/apps/" + seg(ops[0]) + "/authorize", body);
  if (c.json_out()) return c.print_json(r), kExitOk;
  c.out << str(r, "connect_url") << "\n";
  return kExitOk;
}

int refresh(Ctx& c) {
  c.args.allow_only({"--grant"});
  const auto& ops = operands(c, 1, 1, "one APP");
  json t = c.api().post(token_path(c, ops[0]) + "/refresh");
  if (c.json_out()) return c.print_json(t), kExitOk;
  c.out << "refreshed; the new token expires " << when(t, "expires_at") << "\n";
  return kExitOk;
}

int status(Ctx& c) {
  c.args.allow_only({});
  operands(c, 1, 0, "no arguments");
  Api& api = c.api();
  const int hs = api.raw_get("/healthz").first;
  const int rs = api.raw_get("/readyz").first;
  json summary = {{"url", api.settings().url}, {"healthz", hs}, {"readyz", rs}};
  bool ready = hs == 200 && rs == 200;
  if (ready) {
    json apps_list = api.get("/v1/apps").value("apps", json::array());
    json by_status = json::object();
    int total = 0;
    for (const auto& a : apps_list) {
      for (const auto& g : api.get("/v1/apps/" + seg(str(a, "name")) + "/grants").value("grants", json::array())) {
        ++total;
        std::string s = str(g, "status");
        by_status[s] = by_status.value(s, 0) + 1;
      }
    }
    summary["apps"] = apps_list.size();
    summary["grants"] = total;
    summary["grants_by_status"] = by_status;
  }
  if (c.json_out()) {
    c.print_json(summary);
  } else {
    std::vector<std::pair<std::string, std::string>> f = {
        {"daemon", api.settings().url},
        {"healthz", hs == 200 ? "ok" : "HTTP " + std::to_string(hs)},
        {"readyz", rs == 200 ? "ready" : "not ready (HTTP " + std::to_string(rs) + ")"},
    };
    if (ready) {
      f.emplace_back("apps", summary["apps"].dump());
      std::string g = summary["grants"].dump();
      std::string parts;
      for (const auto& [k, v] : summary["grants_by_status"].items())
        parts += (parts.empty() ? "" : ", ") + v.dump() + " " + k;
      if (!parts.empty()) g += " (" + parts + ")";
      f.emplace_back("grants", g);
    }
    c.out << render_fields(f);
  }
  return ready ? kExitOk : kExitApiError;
}

int audit(Ctx& c) {
  c.args.allow_only({"--since", "--until", "--who", "--app", "--limit", "--before"});
  operands(c, 1, 0, "no operands");
  std::string query;
  for (const auto& [flag, param] : std::vector<std::pair<std::string, std::string>>{
           {"--since", "since"}, {"--until", "until"}, {"--who", "who"}, {"--app", "app"}, {"--limit", "limit"},
           {"--before", "before"}}) {
    if (c.args.has(flag)) query += (query.empty() ? "?" : "&") + param + "=" + seg(c.args.value(flag));
  }
  json r = c.api().get("/v1/audit" + query);
  if (c.json_out()) return c.print_json(r), kExitOk;
  std::vector<Row> rows;
  for (const auto& e : r.value("entries", json::array())) {
    rows.push_back({str(e, "id"), str(e, "at"), str(e, "who"), str(e, "what"), str(e, "app"), str(e, "grant_id"),
                    e.contains("result") && e["result"].is_null() ? "unknown" : str(e, "result"), str(e, "peer"),
                    str(e, "count")});
  }
  c.out << render_table({"ID", "AT", "WHO", "WHAT", "APP", "GRANT", "RESULT", "PEER", "COUNT"}, rows);
  if (r.contains("next_before") && !r["next_before"].is_null()) {
    c.out << "more: mediaxctl audit --before " << r["next_before"].dump() << "\n";
  }
  return kExitOk;
}

const char* help_for(const std::vector<std::string>& p) {
  auto at = [&](std::size_t i) { return p.size() > i ? p[i] : std::string(); };
  const std::string cmd = at(0) == "grant" ? "grants" : at(0), sub = at(1);
  if (cmd == "apps" && sub == "list") return kAppsListHelp;
  if (cmd == "apps" && sub == "show") return kAppsShowHelp;
  if (cmd == "apps" && sub == "add") return kAppsAddHelp;
  if (cmd == "apps" && sub == "rm") return kAppsRmHelp;
  if (cmd == "apps" && sub == "secrets") return kAppsSecretsHelp;
  if (cmd == "grants" && sub == "list") return kGrantsListHelp;
  if (cmd == "grants" && sub == "show") return kGrantsShowHelp;
  if (cmd == "grants" && sub == "revoke") return kGrantsRevokeHelp;
  if (cmd == "grants" && sub == "add") return kGrantsAddHelp;
  if (cmd == "grants" && sub == "import") return kGrantsImportHelp;
  if (cmd == "grants" && sub == "recover") return kGrantsRecoverHelp;
  if (cmd == "token") return kTokenGetHelp;
  if (cmd == "connect") return kConnectHelp;
  if (cmd == "refresh") return kRefreshHelp;
  if (cmd == "status") return kStatusHelp;
  if (cmd == "webhook") return kWebhookHelp;
  if (cmd == "audit") return kAuditHelp;
  return kMainHelp;
}

}  // namespace

int run(const std::vector<std::string>& argv, std::ostream& out, std::ostream& err) {
  std::unique_ptr<Api> api;
  try {
    Ctx c{parse_args(argv), out, {}};
    auto& p = c.args.positional;
    if (!p.empty() && p[0] == "help") {
      p.erase(p.begin());
      out << help_for(p);
      return kExitOk;
    }
    if (c.args.has("--help")) {
      out << help_for(p);
      return kExitOk;
    }
    if (p.empty()) {
      err << kMainHelp;
      return kExitUsage;
    }
    Settings settings = resolve_settings(c.args);
    c.api = [&]() -> Api& {
      if (!api) api = std::make_unique<Api>(settings);
      return *api;
    };
    const std::string& cmd = p[0];
    if (cmd == "apps") return apps(c);
    if (cmd == "grants" || cmd == "grant") return grants(c);
    if (cmd == "token") return token(c);
    if (cmd == "connect") return connect(c);
    if (cmd == "refresh") return refresh(c);
    if (cmd == "status") return status(c);
    if (cmd == "webhook") return webhook(c);
    if (cmd == "audit") return audit(c);
    throw UsageError("unknown command '" + cmd + "'");
  } catch (const UsageError& e) {
    err << "mediaxctl: " << e.what() << "\n(see mediaxctl --help)\n";
    return kExitUsage;
  } catch (const Failure& e) {
    err << "mediaxctl: " << e.what() << "\n";
    return e.code;
  } catch (const std::exception& e) {
    err << "mediaxctl: " << e.what() << "\n";
    return kExitApiError;
  }
}

}  // namespace mediax::ctl
