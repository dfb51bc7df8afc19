// What an app's secrets are bound to: the places they may be sent. apps.client_secret and
// apps.secret_options are sealed with it in the associated data (store/pg_store_seal.cpp), so a
// database writer who points an app's token_url (or revocation_url, or a Douyin app's base_url)
// at another host gets a value the daemon refuses to open: the secret is never sent there.
//
// The binding is "<platform> token=<origin> revocation=<origin>":
//   token      the origin (scheme://host[:port], lower case, default port left out) of
//              endpoints.token_url; for an app without one the origin of options.base_url
//              (Douyin's per-app sandbox); else "config": the platform's token endpoint comes from
//              the daemon's configuration ([platforms.*]), which the database cannot change.
//   revocation the origin of endpoints.revocation_url (OAuth 2.0 sends the client secret there
//              too, RFC 7009), "none" without one.
// The platform is part of it: another platform sends the secret elsewhere. Paths are not: a
// writer who can only change the path on the same host gains nothing from it.
#pragma once

#include <optional>
#include <string>

#include "core/types.hpp"

namespace mediax {

std::string secret_binding(const App& app);

// Which part of two bindings differs, as an operator reads it: "token endpoint changed since the
// secret was sealed (sealed for https://a.example, now https://b.example)"; "" when they are equal.
std::string describe_binding_change(const std::string& sealed_for, const std::string& now);

}  // namespace mediax
