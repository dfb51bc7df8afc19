// Granular consent: a user may untick some of the scopes an app asks for (Google: "the application
// must check what scopes are granted by the users and can't assume users grant all requested
// scopes"). A grant that lacks some of the scopes the app requires is still stored and refreshed;
// what it lacks is recorded in grant.extra["missing_scopes"] by the platform class, on the code
// exchange and on every refresh whose answer says which scopes the token carries, so the record
// follows the platform's latest word and survives refreshes that do not repeat it.
#pragma once

#include <optional>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "core/types.hpp"

namespace mediax::granted_scopes {

// The key in Grant::extra / TokenResult::extra.
inline constexpr const char* kExtraKey = "missing_scopes";

// A scope as Google reports it: the short names "email" and "profile" come back as their URL forms.
std::string canonical(const std::string& scope);

// The scopes of `required` not among `granted`, in the order of `required`, compared canonically.
std::vector<std::string> missing(const std::vector<std::string>& required, const std::vector<std::string>& granted);

// What the app requires: options.required_scopes when it is a list, else every scope it asks for.
std::vector<std::string> required_of(const App& app);

// Checks options.required_scopes: a list of scopes the app asks for (each one in app.scopes).
// nullopt when fine or absent, else "options.required_scopes: why".
std::optional<std::string> check_required_option(const App& app);

// When the answer names the granted scopes (t.scopes not empty), records in t.extra what the app
// requires and the token lacks ([] when nothing): the store merges extra, so the grant shows the
// latest answer's verdict. An answer without scopes changes nothing.
void record_missing(const App& app, TokenResult& t);

// What grant.extra records as missing ([] when nothing or never recorded).
std::vector<std::string> missing_of(const nlohmann::json& grant_extra);

}  // namespace mediax::granted_scopes
