// The state and protocol rules of the fake OAuth 2.0 provider, independent of HTTP plumbing:
// each endpoint is a method taking the parsed request and returning a Reply.
//
// Rules it enforces (what a strict real provider does):
//  - RFC 6749 §4.1: codes are single use, bound to client and redirect_uri, expire after 60 s;
//    PKCE S256 is required (RFC 7636); the verifier must match.
//  - §2.3.1: a client authenticates with the method it registered (Basic or post), never both at once.
//  - §6 + rotation (--rotate-refresh): a refresh issues a new refresh token and kills the old one at once;
//    a dead refresh token gives invalid_grant.
//  - §5.2: errors are JSON {error, error_description}, 400, or 401 for invalid_client.
//  - RFC 9207 (--iss-response): authorization responses carry iss, and the metadata says so.
//  - RFC 7009: revoking a refresh token ends its whole grant (its access tokens too); unknown tokens get 200.
// Tokens are random; access tokens expire after --expires-in seconds on the steady clock.
#pragma once

#include <chrono>
#include <cstdint>
#include <map>
#include <mutex>
#include <optional>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "fake_signing.hpp"
#include "fake_util.hpp"

namespace mediax::fake {

struct Options {
  std::string host = "127.0.0.1";
  int port = 0;
  std::int64_t expires_in = 3600;  // access token lifetime, seconds
  bool rotate_refresh = false;
  std::string issuer_path;  // "" or "/x": issuer is http://host:port/x and endpoints live under it
  // Benchmarks (bench/): every /token call waits this long before answering (a remote platform's latency).
  int latency_ms = 0;
  // Benchmarks: any client_id with a non-empty secret and any refresh token are accepted (grants
  // written straight into the database were never issued here); nothing is remembered per token.
  bool bulk = false;
  int threads = 64;  // HTTP worker threads (a kept-alive connection holds one while open)
  // RFC 9207 (--iss-response): the metadata says authorization_response_iss_parameter_supported and
  // every authorization response (code or error) carries iss, as such a server does.
  bool iss_response = false;
};

struct Reply {
  int status = 200;
  std::string content_type = "application/json";
  std::string body;
  std::vector<std::pair<std::string, std::string>> headers;
  int delay_seconds = 0;  // the transport sleeps this long before answering (injected hang)
  // How the transport misbehaves: "" answers normally; "trickle" sends the body one byte per
  // second (defeats a per-read timeout); "close" sends the headers and closes the connection.
  std::string transport;
};

// What arrives at /token and /revoke.
struct FormRequest {
  std::string body;
  std::string content_type;
  std::string authorization;  // Authorization header, "" when absent
};

class Provider {
 public:
  explicit Provider(Options opts);

  void set_base_url(const std::string& base_url);  // http://127.0.0.1:PORT, known once bound
  std::string issuer() const;

  Reply discovery() const;
  Reply jwks() const;  // the id_token signing key (discovery's jwks_uri)
  Reply authorize(const Form& query);
  Reply token(const FormRequest& req);
  Reply revoke(const FormRequest& req);
  Reply resource(const std::string& authorization);  // GET /userinfo: who a bearer token belongs to

  // Control endpoints for tests (/_fake/...).
  Reply register_client(const std::string& json_body);
  Reply stats() const;
  Reply inject_failure(const std::string& json_body);
  Reply clear_failures();
  Reply introspect(const std::string& token) const;
  // Every code, token and client secret ever issued or registered, so tests can check that none leaks.
  Reply secrets() const;

 private:
  using TimeSource = std::chrono::steady_clock;

  struct Client {
    std::string id;
    std::string secret;
    std::string auth_method;  // client_secret_basic | client_secret_post
    std::vector<std::string> redirect_uris;
  };
  struct Code {
    std::string client_id;
    std::string redirect_uri;
    std::string scope;
    std::string challenge;
    std::string account;
    TimeSource::time_point expires;
    bool used = false;
    std::int64_t grant_id = 0;  // set once exchanged
  };
  struct Access {
    std::string client_id;
    std::string account;        // "" for a client-credentials token
    std::int64_t grant_id = 0;  // 0 for a client-credentials token
    std::string scope;
    TimeSource::time_point expires;
    bool revoked = false;
  };
  struct Refresh {
    std::string client_id;
    std::string account;
    std::int64_t grant_id = 0;
    std::string scope;
    bool alive = true;
  };
  struct Failure {
    std::string mode;  // 500 | 429 | invalid_grant | invalid_client | garbage | hang | trickle | close
    int remaining = 1;
    int retry_after = 1;     // 429
    int seconds = 5;         // hang
    std::string grant_type;  // "" = any
  };
  struct Stats {
    std::int64_t authorizations = 0;
    std::int64_t codes_exchanged = 0;
    std::int64_t refreshes = 0;
    std::map<std::string, std::int64_t> refreshes_by_account;
    std::map<std::string, std::int64_t> refreshes_by_grant;
    std::int64_t dead_refresh_token_uses = 0;
    std::int64_t client_credentials_issued = 0;
    std::int64_t revocations = 0;          // requests that revoked a live token
    std::int64_t revocation_requests = 0;  // every authenticated revocation request
    std::int64_t token_requests = 0;
    std::int64_t token_errors = 0;
    std::int64_t failures_injected = 0;
    std::vector<std::int64_t> token_request_ms;  // when each /token request came, ms since start
    // Double-refresh detection (soak tests): a grant refreshed again less than a quarter of the
    // access token lifetime after its previous refresh; no schedule refreshes that early.
    std::map<std::int64_t, TimeSource::time_point> last_refresh_of_grant;
    std::int64_t quick_refreshes = 0;
    std::int64_t min_refresh_gap_ms = -1;  // smallest gap between two refreshes of one grant; -1: none yet
  };

  // Authenticates the client of a /token or /revoke request; on failure fills `error`.
  const Client* authenticate(const FormRequest& req, const Form& form, Reply& error) const;
  std::optional<Failure> take_failure(const std::string& grant_type);
  nlohmann::json issue_access(const std::string& client_id, const std::string& account, std::int64_t grant_id,
                              const std::string& scope);
  std::string id_token(const Client& c, const std::string& account) const;
  Reply grant_code(const Client& c, const Form& form);
  Reply grant_refresh(const Client& c, const Form& form);
  Reply grant_client_credentials(const Client& c, const Form& form);
  Reply bulk_token(const Form& form, const std::string& grant_type);
  std::string path(const std::string& p) const { return opts_.issuer_path + p; }

  Options opts_;
  RsaSigner signer_;  // signs id_tokens; immutable after construction
  std::string base_url_;
  mutable std::mutex mu_;
  std::map<std::string, Client> clients_;
  std::map<std::string, Code> codes_;
  std::map<std::string, Access> access_;
  std::map<std::string, Refresh> refresh_;
  std::vector<Failure> failures_;
  std::int64_t next_grant_id_ = 1;
  Stats stats_;
  TimeSource::time_point started_ = TimeSource::now();
};

// RFC 6749 §5.2 error reply.
Reply oauth_error(int status, const std::string& error, const std::string& description);

}  // namespace mediax::fake
