#include "service/new_grant.hpp"

#include "crypto/crypto.hpp"

namespace mediax {

NewGrant new_grant_from(const App& app, const TokenResult& t, TimePoint received, const Grant& known,
                        RefreshPolicy& policy) {
  NewGrant n;
  Grant& g = n.grant;
  g.app_id = app.id;
  g.account_id = !t.account_id.empty() ? t.account_id : known.account_id;
  if (g.account_id.empty()) {
    // The provider did not say who the account is (no id_token, no account field): each
    // connection becomes its own grant.
    g.account_id = "anonymous-" + crypto::to_hex(crypto::random_bytes(8));
  }
  g.scopes = !t.scopes.empty() ? t.scopes : !known.scopes.empty() ? known.scopes : app.scopes;
  g.refresh_token = t.refresh_token.value_or(known.refresh_token);
  g.refresh_expires_at = t.refresh_expires_in ? std::optional<TimePoint>(received + *t.refresh_expires_in)
                                              : known.refresh_expires_at;
  g.extra = t.extra.is_object() ? t.extra : nlohmann::json::object();
  Token& tok = n.token;
  tok.app_id = app.id;
  tok.access_token = t.access_token;
  tok.token_type = t.token_type;  // as the platform names it (Douyin and WeChat name none)
  tok.scopes = g.scopes;
  tok.refreshed_at = received;
  tok.expires_at = received + t.expires_in.value_or(policy.lifetime_default());
  if (!g.refresh_token.empty()) g.next_refresh_at = policy.next_refresh(received, tok.expires_at, received);
  return n;
}

}  // namespace mediax
