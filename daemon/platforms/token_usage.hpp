// How each platform's APIs take a token: the one place that says so. Stored on the app at
// registration (apps.token_usage), shown in the token answers and in mediax.access_tokens.
#pragma once

#include <string>

#include "core/types.hpp"

namespace mediax {

// Douyin OpenAPI: an `access-token` header; WeChat: the `access_token` query parameter; Google
// and every OAuth 2.0 provider: `Authorization: Bearer` (RFC 6750). platforms-detail.md §5.
// (wechat_component: the grants' authorizer tokens, also ?access_token=.)
TokenUsage token_usage_for(const std::string& platform);
// How the app's own token is taken: token_usage_for's, except the WeChat third-party platform's
// component_access_token, which its APIs take as ?component_access_token=.
TokenUsage app_token_usage_for(const std::string& platform);

}  // namespace mediax
