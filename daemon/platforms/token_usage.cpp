#include "platforms/token_usage.hpp"

#include "platforms/specs.hpp"

namespace mediax {

TokenUsage token_usage_for(const std::string& platform) {
  // Douyin: "调用 OpenAPI 时在 header 中传入 access-token" — not Authorization, and no token_type.
  if (platform == "douyin") return TokenUsage::access_token_header;
  // WeChat: https://api.weixin.qq.com/...?access_token=ACCESS_TOKEN on every API.
  if (platform == "wechat") return TokenUsage::access_token_query;
  // WeChat third-party platform: the authorizer tokens (its grants') go where an account's own would.
  if (platform == "wechat_component") return TokenUsage::access_token_query;
  for (const spec::Spec* s : specs::all()) {
    if (s->name == platform) return s->token_usage;
  }
  return TokenUsage::authorization_bearer;
}

TokenUsage app_token_usage_for(const std::string& platform) {
  // cgi-bin/component/...?component_access_token=TOKEN (reference §2; all three SDKs spell it so).
  if (platform == "wechat_component") return TokenUsage::component_access_token_query;
  return token_usage_for(platform);
}

}  // namespace mediax
