#include "schedule/token_from_answer.hpp"

namespace mediax {

RefreshSuccess token_from_answer(const TokenResult& t, TimePoint received, const HeldBefore& before,
                                 RefreshPolicy& policy) {
  RefreshSuccess s;
  s.token.app_id = before.app_id;
  s.token.grant_id = before.grant_id;
  s.token.access_token = t.access_token;
  s.token.token_type = t.token_type;  // empty when the platform names none (Douyin, WeChat)
  s.token.scopes = !t.scopes.empty() ? t.scopes : before.scopes;
  s.token.refreshed_at = received;
  s.token.expires_at = received + t.expires_in.value_or(policy.lifetime_default());
  s.new_refresh_token = t.refresh_token;
  if (t.refresh_expires_in) s.refresh_expires_at = received + *t.refresh_expires_in;
  if (!t.account_id.empty()) s.account_id = t.account_id;
  s.grant_extra_patch = t.extra.is_object() ? t.extra : nlohmann::json::object();
  s.next_refresh_at = next_refresh_after(policy, t, received, s.token.expires_at, before.access_token);
  if (before.grant) {
    // The refresh token's end as stored after this answer, so grant.reauth_due is noticed once per
    // refresh token.
    if (t.reauth_due) s.reauth_due_at = s.refresh_expires_at ? s.refresh_expires_at : before.refresh_expires_at;
    if (!t.warning_code.empty()) s.last_error = t.warning_code + ": " + t.warning_message;
  }
  return s;
}

}  // namespace mediax
