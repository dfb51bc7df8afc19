#include "service/new_grant.hpp"

#include "crypto/crypto.hpp"
#include "schedule/token_from_answer.hpp"

namespace mediax {

NewGrant new_grant_from(const App& app, const TokenResult& t, TimePoint received, const Grant& known,
                        RefreshPolicy& policy) {
  HeldBefore held;
  held.app_id = app.id;
  held.grant = true;
  held.scopes = !known.scopes.empty() ? known.scopes : app.scopes;
  held.refresh_expires_at = known.refresh_expires_at;
  const RefreshSuccess s = token_from_answer(t, received, held, policy);

  NewGrant n;
  Grant& g = n.grant;
  g.app_id = app.id;
  g.account_id = s.account_id.value_or(known.account_id);
  if (g.account_id.empty()) {
    // The provider did not say who the account is (no id_token, no account field): each
    // connection becomes its own grant.
    g.account_id = "anonymous-" + crypto::to_hex(crypto::random_bytes(8));
  }
  g.scopes = s.token.scopes;
  g.refresh_token = s.new_refresh_token.value_or(known.refresh_token);
  g.refresh_expires_at = s.refresh_expires_at ? s.refresh_expires_at : known.refresh_expires_at;
  g.extra = s.grant_extra_patch;
  n.token = s.token;
  if (!g.refresh_token.empty()) {
    // The platform may want to be called back earlier (Douyin: the refresh token's renewal).
    g.next_refresh_at = s.next_refresh_at;
  }
  // No renewal left or allowed (Douyin), or no refresh token at all (Weibo's web apps: the grant
  // ends with its access token): the account must be connected again when it ends.
  g.reauth_due_at = s.reauth_due_at;
  return n;
}

}  // namespace mediax
