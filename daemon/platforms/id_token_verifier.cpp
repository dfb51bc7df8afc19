#include "platforms/id_token_verifier.hpp"

#include <algorithm>
#include <cctype>

#include "platforms/platform_util.hpp"
#include "util/strings.hpp"
#include "util/url.hpp"

namespace mediax {

namespace {

constexpr Seconds kMinLifetime{300};
constexpr Seconds kMaxLifetime{86400};
constexpr Seconds kDefaultLifetime{3600};

Outcome refused(const crypto::JwtCheck& c) {
  return Outcome::failure(OutcomeKind::app_misconfigured, "invalid_id_token",
                          "the id_token was refused (" + crypto::to_string(c.failure) + "): " + c.message);
}

}  // namespace

Seconds jwks_cache_lifetime(const std::string& cache_control) {
  const std::string cc = util::to_lower(cache_control);
  auto pos = cc.find("max-age=");
  if (pos == std::string::npos) return kDefaultLifetime;
  pos += 8;
  std::int64_t v = 0;
  bool digits = false;
  while (pos < cc.size() && std::isdigit(static_cast<unsigned char>(cc[pos])) && v < kMaxLifetime.count()) {
    v = v * 10 + (cc[pos++] - '0');
    digits = true;
  }
  if (!digits) return kDefaultLifetime;
  return std::clamp(Seconds(v), kMinLifetime, kMaxLifetime);
}

std::optional<std::string> IdTokenVerifier::fetch(const std::string& url, TimePoint now, KeySet& out) {
  HttpClientRequest req;
  req.url = url;
  req.headers.emplace_back("Accept", "application/json");
  HttpClientResponse r = http_.send(req);
  if (r.status != 200) {
    return "the provider's key set at " + redact_url(url) + " could not be read (" +
           (r.address_refused() ? "refused: " + r.error_detail
            : r.status == 0     ? (r.error.empty() ? std::string("no answer") : r.error)
                                : "HTTP " + std::to_string(r.status)) +
           ")";
  }
  auto j = platform_util::parse_object(r.body);
  if (!j || !j->contains("keys") || !(*j)["keys"].is_array()) {
    return "the provider's key set at " + redact_url(url) + " is not a JWK Set";
  }
  out.jwks = std::move(*j);
  out.fresh_until = now + jwks_cache_lifetime(r.header("Cache-Control"));
  return std::nullopt;
}

IdTokenResult IdTokenVerifier::verify(const std::string& id_token, const std::string& jwks_url,
                                      const crypto::JwtExpectations& want) {
  IdTokenResult res;
  auto header = crypto::read_jwt_header(id_token);
  if (!header) {
    crypto::JwtCheck c;
    c.failure = crypto::JwtFailure::malformed;
    c.message = "the id_token is not a JWS";
    res.failure = refused(c);
    return res;
  }
  std::lock_guard lk(mu_);
  const TimePoint now = want.now;
  auto it = sets_.find(jwks_url);
  bool fetched = false;
  if (it == sets_.end() || it->second.fresh_until <= now) {
    KeySet fresh;
    if (auto err = fetch(jwks_url, now, fresh)) {
      res.failure = Outcome::failure(OutcomeKind::retry_later, "jwks_unavailable", *err);
      return res;
    }
    it = sets_.insert_or_assign(jwks_url, std::move(fresh)).first;
    fetched = true;
  }
  auto check = crypto::verify_jwt_rs256(id_token, it->second.jwks, want);
  if (check.failure == crypto::JwtFailure::unknown_key && !fetched) {
    // A key newer than our copy of the set: the provider rotated. One fetch per such token; a code
    // exchange is rare (a person connecting an account), so this cannot become a flood.
    KeySet fresh;
    if (auto err = fetch(jwks_url, now, fresh)) {
      res.failure = Outcome::failure(OutcomeKind::retry_later, "jwks_unavailable", *err);
      return res;
    }
    it->second = std::move(fresh);
    check = crypto::verify_jwt_rs256(id_token, it->second.jwks, want);
  }
  if (!check.ok()) {
    res.failure = refused(check);
    return res;
  }
  res.subject = platform_util::id_member(check.claims, "sub");
  if (res.subject.empty()) {
    check.failure = crypto::JwtFailure::malformed;
    check.message = "the id_token has no sub";
    res.failure = refused(check);
  }
  return res;
}

void IdTokenVerifier::clear() {
  std::lock_guard lk(mu_);
  sets_.clear();
}

}  // namespace mediax
