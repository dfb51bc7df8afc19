// Which platform credential an app's own (client-credentials) token belongs to. Two apps with the
// same key would fetch app tokens that invalidate each other: Douyin keeps only the newest two
// client_tokens, WeChat's cgi-bin/token ends the previous token five minutes after a new fetch and
// a forced stable_token at once. mediax.apps.credential_key is unique (migrations/0009), so the
// second registration is refused (409 credential_in_use), by whichever instance makes it.
#pragma once

#include <string>

#include "core/types.hpp"
#include "platforms/platform.hpp"

namespace mediax {

// "<platform> <where> <client_id>", e.g. "douyin - ck_123", "oauth2 https://idp.example/token svc";
// empty when the app fetches no app token (client_credentials false: grants of apps sharing a
// client id are separate and do not disturb each other). <where> is "-" for the daemon's own base
// URL ([platforms.douyin|wechat] is one per database), else what makes another credential of the
// same client id: Douyin's options.base_url (the sandbox), an OAuth 2.0 app's token endpoint,
// Google's impersonated user ("sub=<options.subject>"). migrations/0009 computes the same text
// for the rows it backfills: change both together.
std::string credential_key(const App& app, const PlatformSettings& settings);

// scheme://host in lower case, trailing '/' removed: the same endpoint spelled the same way.
std::string normalized_base_url(const std::string& url);

}  // namespace mediax
