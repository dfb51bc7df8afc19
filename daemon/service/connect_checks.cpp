#include "service/connect_checks.hpp"

#include "crypto/crypto.hpp"

namespace mediax {

namespace {

constexpr std::string_view kCallbackPath = "/oauth/callback";

bool ends_with(std::string_view s, std::string_view tail) {
  return s.size() >= tail.size() && s.substr(s.size() - tail.size()) == tail;
}

// The redirect_uri without query and fragment (the WeChat third-party platform's carries ?state=).
std::string_view without_query(std::string_view uri) {
  return uri.substr(0, std::min(uri.find('?'), uri.find('#')));
}

}  // namespace

std::string connect_secret_hash(std::string_view secret) { return crypto::to_hex(crypto::sha256(secret)); }

BindingVerdict check_binding(const std::string& stored_hash, const std::optional<std::string>& cookie) {
  if (stored_hash.empty()) return BindingVerdict::unbound;
  if (!cookie || cookie->empty()) return BindingVerdict::no_cookie;
  return crypto::constant_time_equals(connect_secret_hash(*cookie), stored_hash) ? BindingVerdict::ok
                                                                                 : BindingVerdict::mismatch;
}

std::string app_callback_url(const std::string& callback_base, const std::string& app_name) {
  return callback_base + "/" + app_name;
}

bool callback_path_fits(const std::optional<std::string>& path_app, const std::string& app_name,
                        const std::string& redirect_uri) {
  if (path_app) return *path_app == app_name;
  // A reverse proxy may put a prefix before the path, so only the end of the redirect_uri counts.
  const std::string own_path = std::string(kCallbackPath) + "/" + app_name;
  return !ends_with(without_query(redirect_uri), own_path);
}

IssVerdict check_iss(const CallbackIssuer& expected, const std::optional<std::string>& received) {
  if (!expected.error.empty()) return IssVerdict::metadata_unavailable;
  if (!received) return expected.required ? IssVerdict::missing : IssVerdict::ok;
  // Present: compared whenever the issuer is known, advertised or not (RFC 9207 §2.4), exactly.
  if (!expected.issuer.empty() && *received != expected.issuer) return IssVerdict::mismatch;
  if (expected.required && expected.issuer.empty()) return IssVerdict::mismatch;  // nothing to match: refuse
  return IssVerdict::ok;
}

RefusalPage ticket_refusal(ConsumeResult r) {
  switch (r) {
    case ConsumeResult::used:
      return {410, "Link already used",
              "This connect link was opened already; a link works once. Ask for a new one (mediaxctl authorize, "
              "or Connect in the console)."};
    case ConsumeResult::expired:
      return {410, "Link expired", "This connect link expired before it was opened. Ask for a new one."};
    case ConsumeResult::unknown:
    case ConsumeResult::ok:
      break;
  }
  return {400, "Unknown link",
          "This connect link is not one of this daemon's (mistyped or cut short?). Ask for a new one."};
}

}  // namespace mediax
