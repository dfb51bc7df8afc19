// A platform as data: what its OAuth dialect sends where, how its answers are laid out, what each
// of its error codes means, how long its tokens live and which app options it takes. One
// interpreter (platforms/spec_platform.hpp) runs every spec; behaviour that cannot be data is a
// named hook (SpecHooks) beside the spec. Specs are C++ aggregates written with designated
// initialisers (platforms/specs/*.cpp): the compiler checks every field name and type, a spec is
// there from the first instruction (no file to find, read or refuse at start), and its hooks sit in
// the same file. See README "Platforms as specs".
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "core/types.hpp"

namespace mediax {

class SpecHooks;

namespace spec {

// The calls a platform may answer (the authorization page is a URL, not a call).
// renew: a call that gives a grant a new refresh token (Douyin's renew_refresh_token), made by a hook.
enum class Call : std::uint8_t { exchange_code, refresh, renew, client_token, revoke };
const char* to_string(Call c);

// A set of calls, for error codes whose meaning depends on the call.
using Calls = std::uint8_t;
constexpr Calls only(Call c) { return static_cast<Calls>(1u << static_cast<unsigned>(c)); }
constexpr Calls operator|(Call a, Call b) { return static_cast<Calls>(only(a) | only(b)); }
inline constexpr Calls kAllCalls = 0x1F;

// What a request parameter carries.
enum class Value : std::uint8_t {
  text,            // Param::text as it is
  client_id,       // the app's client id
  client_secret,   // the app's secret (the one place it goes: nowhere else in the request)
  code,            // the authorization code
  code_verifier,   // PKCE (exchange_code; omitted when the app does not use PKCE)
  redirect_uri,    // the callback URL of the authorization
  refresh_token,   // the grant's refresh token
  access_token,    // the grant's access token (revocation)
  scopes,          // the requested scopes joined with Spec::scope_separator (omitted when none)
  state,           // the authorization's state
  code_challenge,  // PKCE S256 challenge (omitted when the app does not use PKCE)
  option,          // the app's string option named by Param::text (omitted when unset)
  hook,            // SpecHooks::param(Param::name, app) (omitted when it gives nothing)
};

struct Param {
  std::string_view name;
  Value value = Value::text;
  std::string_view text = {};      // the value for Value::text, the option's name for Value::option
  std::string_view fallback = {};  // Value::option: the value when the app does not set it ("": left out)
};

// Where a call's parameters go. `query` with POST: in the URL with an empty form body (Bilibili).
enum class Encoding : std::uint8_t { query, form, json };

struct Request {
  std::string_view what;               // names the endpoint in messages: "Kuaishou's oauth2/access_token"
  std::string_view base = "base_url";  // which of Spec::base_urls
  std::string_view path = {};          // appended to the base URL
  std::string_view method = "POST";
  Encoding encoding = Encoding::form;
  std::vector<Param> params = {};  // in this order
  // A choice option ("query" | "form" | "json") that moves the parameters elsewhere for an app
  // whose platform documents one place and is reported to accept another (Bilibili); "": none.
  std::string_view encoding_option = {};
};

// A base URL the config can point elsewhere: [platforms.NAME] KEY = "..." (tests, sandboxes).
struct BaseUrl {
  std::string_view key;         // "base_url"
  std::string_view fallback;    // the real host
  std::string_view about = {};  // for the config reference
};

// How a lifetime field is written.
enum class Expiry : std::uint8_t {
  relative,              // seconds from now
  absolute_or_relative,  // Unix seconds when larger than now, else seconds from now (Bilibili)
};

// Where the parts of an answer are. Member paths are names, "a.b" one level down.
struct Answer {
  // The object holding the token fields: the first of these that is an object; the top otherwise.
  std::vector<std::string_view> data = {};
  // The platform's error code: the first of these present (number or numeric string) ...
  std::vector<std::string_view> code = {};
  // ... which means success when it equals this (absent means success too).
  std::int64_t ok_code = 0;
  // An error named by a string (RFC 6749 "error"), the first of these that is a non-empty string:
  // looked up by name in the error table, unless it is ok_name.
  std::vector<std::string_view> error_name = {};
  std::string_view ok_name = {};
  // The platform's own words for an error, first present wins (scrubbed of what the request carried).
  std::vector<std::string_view> text = {};
  std::string_view access_token = "access_token";
  std::string_view expires_in = "expires_in";
  Expiry expiry = Expiry::relative;
  // When set, the access token's end (Unix seconds) is also kept in the grant's extra under this
  // name, for a later call that must know whether it comes after that end (Bilibili's late refresh).
  std::string_view expires_at_extra = {};
  std::string_view refresh_token = "refresh_token";
  std::string_view refresh_expires_in = {};  // "" when the platform does not say
  std::string_view account_id = {};          // "open_id"
  std::string_view scopes = {};              // a string of Spec::scope_separator-joined scopes, or an array
  std::string_view token_type = {};
};

// One row of a platform's error table: a code (or an error name) on some calls means `kind`.
// kind success, on a call that hands back no token (revoke): what the call wanted is already so
// (revoking a token that already expired); the outcome is a success with this code and meaning.
struct Error {
  std::int64_t code = 0;
  std::string_view name = {};  // for Answer::error_name errors; code is then 0
  OutcomeKind kind = OutcomeKind::retry_later;
  std::string_view meaning = {};  // what an admin reads when the platform says nothing (or beside it)
  Calls calls = kAllCalls;
  int retry_after_seconds = 0;  // the documented wait (a quota's window); 0: none
};

// What a refresh does to the refresh token.
enum class Rotation : std::uint8_t {
  none,                    // the platform gives no refresh token (Weibo's web apps): the grant ends with its token
  reused,                  // the same refresh token stays valid (a different one in the answer is stored)
  rotates,                 // a new one each refresh, its lifetime from the answer (or Lifetimes::refresh_token)
  rotates_keeping_expiry,  // a new one each refresh that dies when the first would have (Kuaishou)
};

struct Lifetimes {
  std::int64_t refresh_token = 0;  // seconds, when an answer does not say; 0: unknown
  // An integer app option (seconds) that gives the refresh token's lifetime instead, for a platform
  // that documents none (Bilibili); "": none.
  std::string_view refresh_token_option = {};
  Rotation rotation = Rotation::rotates;
  // The refresh token's end is fixed (no renewal call): the account must be connected again at that
  // end, and the last refresh comes just before it so the last access token lasts as long as allowed.
  bool refresh_expiry_fixed = false;
};

// An app option: read once when the app is registered, refused with "options.NAME: why".
// object: any JSON object, its members checked by the spec's hooks (SpecHooks::check_app).
enum class OptionType : std::uint8_t { integer, boolean, choice, text, url, object };
struct Option {
  std::string_view name;
  OptionType type = OptionType::text;
  std::string_view about = {};
  std::int64_t min = 0, max = 0;               // integer bounds
  std::vector<std::string_view> choices = {};  // choice: the allowed values, the first is the default
};

// An authorization page: base + path, then the params in order, then "#fragment" when set.
struct Page {
  std::string_view when = {};  // the value of Authorize::page_option that picks this page
  std::string_view base = "base_url";
  std::string_view path = {};
  std::vector<Param> params = {};
  std::string_view fragment = {};
};

// The authorization page, or one of several picked by an app option (the first when it is unset).
struct Authorize {
  std::string_view page_option = {};
  std::vector<Page> pages = {};
  // The Page::when of the page for a connection made from a phone (AuthorizeParams::mobile), which
  // the platform then accepts; "": the platform takes no such choice.
  std::string_view mobile_page = {};
};

struct Spec {
  std::string_view name;     // App::platform
  std::string_view display;  // "Kuaishou", in messages
  std::vector<BaseUrl> base_urls = {};
  Authorize authorize = {};
  bool pkce = false;  // S256 (RFC 7636); an app turns it off with the boolean option "pkce"
  // A choice option "hex" | "base64url": the challenge's encoding, hex unless it says base64url
  // (TikTok); "": base64url as RFC 7636 says.
  std::string_view pkce_hex_option = {};
  std::string_view scope_separator = ",";
  bool scopes_required = true;  // an app that authorizes accounts must name at least one scope
  // The calls the platform has; an absent one is refused (client_token) or not made (revoke).
  std::optional<Request> exchange_code = std::nullopt;
  std::optional<Request> refresh = std::nullopt;
  std::optional<Request> renew = std::nullopt;
  std::optional<Request> client_token = std::nullopt;
  std::optional<Request> revoke = std::nullopt;
  Answer answer = {};
  std::vector<Error> errors = {};
  // A code the table does not know: transient unless the spec says otherwise.
  OutcomeKind unknown_code = OutcomeKind::retry_later;
  Lifetimes lifetimes = {};
  TokenUsage token_usage = TokenUsage::authorization_bearer;  // how consumers send the token
  std::vector<Option> options = {};
  std::string_view no_revoke = {};   // why revoke() does nothing, when there is no revoke call
  const SpecHooks* hooks = nullptr;  // behaviour that is code; nullptr: none

  const std::optional<Request>& request(Call c) const;
};

}  // namespace spec
}  // namespace mediax
