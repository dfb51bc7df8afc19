// Which apps a reader API key may use: a list of app names and glob patterns ("crm", "shop-*"),
// given at `mediaxd create-api-key --apps`, stored with the key (mediax.api_keys.apps, migration
// 0013). An empty list is no scope: every app (admin keys are never scoped). The one rule that
// decides whether a key may use an app is key_may_use_app(); pure.
#pragma once

#include <string>
#include <string_view>
#include <vector>

#include <tl/expected.hpp>

namespace mediax {

// The patterns of an --apps value: comma-separated, blanks around each trimmed, each an app name
// ([a-z0-9][a-z0-9_-]{0,62}) in which '*' stands for any run of characters (maybe none), duplicates
// dropped, order kept. The error says which entry is wrong and why; an empty list is an error
// (no --apps means every app).
tl::expected<std::vector<std::string>, std::string> parse_app_scope(std::string_view text);

// Whether a key scoped to `scope` may use app `app_name`: always when scope is empty, else when
// a pattern matches the whole name.
bool key_may_use_app(const std::vector<std::string>& scope, std::string_view app_name);

// Who asks for a token: the accepted API key's name ("" without keys) and its scope (empty: every
// app). References: it lives as long as the request it is made from.
struct Caller {
  const std::string& key_name;
  const std::vector<std::string>& apps;
};

// "crm,shop-*", as --apps takes it (for messages and list-api-keys); "*" for no scope.
std::string scope_text(const std::vector<std::string>& scope);

}  // namespace mediax
