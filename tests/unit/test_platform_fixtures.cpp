// The platforms' documented behaviour as data: every fixture under tests/platforms/<platform>/*.json
// (see tests/platforms/README.md for the format) is one or more cases, each run here against the
// platform class the registry builds, with a scripted HttpClient. A case says which call is made,
// what each request must carry, what the platform answers (as its documentation shows it) and which
// Outcome must come out. The fixtures come from the platforms' documentation, never from the code.
//
// A case marked "known_divergence" documents where the code disagrees with the documentation: it is
// run, and skipped with the reason while it still fails; once it passes the mark must go (the test
// fails to say so). A malformed fixture fails its test with the file and the problem. The cases of a
// directory the registry has no platform for (one written from its documentation before its code)
// are skipped, after a check of their shape, until the registry builds it.
#include <gtest/gtest-spi.h>
#include <gtest/gtest.h>

#include <algorithm>
#include <cctype>
#include <filesystem>
#include <fstream>
#include <map>
#include <nlohmann/json.hpp>
#include <optional>
#include <set>
#include <sstream>
#include <stdexcept>
#include <string>
#include <vector>

#include "crypto/jwt.hpp"
#include "fake_http_client.hpp"
#include "platform_test_util.hpp"
#include "platforms/component_credentials.hpp"
#include "platforms/registry.hpp"
#include "rsa_test_keys.hpp"
#include "util/url.hpp"

#ifndef MEDIAX_PLATFORM_FIXTURES_DIR
#error "MEDIAX_PLATFORM_FIXTURES_DIR must name tests/platforms (tests/CMakeLists.txt)"
#endif

using namespace mediax;
using mediax::testing::expect_no_leak;
using mediax::testing::FakeHttpClient;
using nlohmann::json;
namespace fs = std::filesystem;

namespace {

// ---------------------------------------------------------------------------------------------
// Loading

struct FixtureCase {
  std::string test_name;  // platform_case, [A-Za-z0-9_] only
  std::string platform;
  std::string file;  // relative to the fixtures directory
  json spec;         // the file's defaults merged with the case
  std::string load_error;
};

void PrintTo(const FixtureCase& c, std::ostream* os) { *os << c.file << " " << c.test_name; }

// Objects merge member by member; anything else (null included) replaces, and so does a case's
// request (with its form, query, JSON body, headers) or an answer's body: each is one documented whole.
void merge_into(json& base, const json& patch) {
  if (!base.is_object() || !patch.is_object()) {
    base = patch;
    return;
  }
  static const std::set<std::string> kWholes{"request", "form", "query", "json", "headers", "body"};
  for (const auto& [k, v] : patch.items()) {
    if (base.contains(k) && base[k].is_object() && v.is_object() && !kWholes.count(k)) {
      merge_into(base[k], v);
    } else {
      base[k] = v;
    }
  }
}

std::string sanitized(const std::string& s) {
  std::string out;
  for (char c : s) out += std::isalnum(static_cast<unsigned char>(c)) ? c : '_';
  return out.empty() ? std::string("unnamed") : out;
}

FixtureCase broken(const std::string& platform, const std::string& file, const std::string& why) {
  FixtureCase c;
  c.platform = platform;
  c.file = file;
  c.test_name = sanitized(platform + "_" + fs::path(file).stem().string() + "_malformed");
  c.load_error = why;
  return c;
}

std::vector<FixtureCase> load_all() {
  const fs::path root(MEDIAX_PLATFORM_FIXTURES_DIR);
  std::vector<fs::path> files;
  std::error_code ec;
  for (fs::recursive_directory_iterator it(root, ec), end; !ec && it != end; it.increment(ec)) {
    if (it->is_regular_file() && it->path().extension() == ".json") files.push_back(it->path());
  }
  std::sort(files.begin(), files.end());
  std::vector<FixtureCase> out;
  if (files.empty()) {
    out.push_back(broken("none", "none", "no fixture (*.json) found under " + root.string()));
    return out;
  }
  std::set<std::string> names;
  for (const auto& path : files) {
    const std::string rel = fs::relative(path, root).string();
    const std::string platform = fs::relative(path, root).begin()->string();
    std::ifstream in(path);
    std::stringstream text;
    text << in.rdbuf();
    json doc;
    try {
      doc = json::parse(text.str());
    } catch (const std::exception& e) {
      out.push_back(broken(platform, rel, std::string("not JSON: ") + e.what()));
      continue;
    }
    if (!doc.is_object() || !doc.contains("cases") || !doc["cases"].is_array() || doc["cases"].empty()) {
      out.push_back(broken(platform, rel, "must be an object with a non-empty array \"cases\""));
      continue;
    }
    if (doc.contains("platform") && doc["platform"] != platform) {
      out.push_back(broken(platform, rel, "\"platform\" must be the directory's name, " + platform));
      continue;
    }
    const json defaults = doc.value("defaults", json::object());
    if (!defaults.is_object()) {
      out.push_back(broken(platform, rel, "\"defaults\" must be an object"));
      continue;
    }
    std::size_t index = 0;
    for (const auto& c : doc["cases"]) {
      ++index;
      FixtureCase fc;
      fc.platform = platform;
      fc.file = rel;
      fc.spec = defaults;
      if (!c.is_object()) {
        fc.load_error = "case " + std::to_string(index) + " is not an object";
      } else {
        merge_into(fc.spec, c);
      }
      std::string name = fc.spec.is_object() && fc.spec.contains("name") && fc.spec["name"].is_string()
                             ? fc.spec["name"].get<std::string>()
                             : std::string();
      if (name.empty() && fc.load_error.empty()) fc.load_error = "case " + std::to_string(index) + " has no \"name\"";
      if (name.empty()) name = fs::path(rel).stem().string() + "_case" + std::to_string(index);
      fc.test_name = sanitized(platform + "_" + name);
      if (!names.insert(fc.test_name).second) {
        fc.load_error = "the case name \"" + name + "\" is used twice for " + platform;
        fc.test_name += "_dup" + std::to_string(index);
        names.insert(fc.test_name);
      }
      out.push_back(std::move(fc));
    }
  }
  return out;
}

// ---------------------------------------------------------------------------------------------
// Reading a case: every accessor throws Malformed with the member's path on a wrong shape.

struct Malformed : std::runtime_error {
  using std::runtime_error::runtime_error;
};

const json& member(const json& j, const std::string& key, const std::string& where) {
  if (!j.is_object() || !j.contains(key)) throw Malformed(where + "." + key + " is required");
  return j.at(key);
}

std::string str(const json& j, const std::string& where) {
  if (!j.is_string()) throw Malformed(where + " must be a string");
  return j.get<std::string>();
}

std::string opt_str(const json& j, const std::string& key, const std::string& where, const std::string& fallback = "") {
  if (!j.is_object() || !j.contains(key)) return fallback;
  return str(j.at(key), where + "." + key);
}

std::int64_t integer(const json& j, const std::string& where) {
  if (!j.is_number_integer()) throw Malformed(where + " must be an integer");
  return j.get<std::int64_t>();
}

bool boolean(const json& j, const std::string& where) {
  if (!j.is_boolean()) throw Malformed(where + " must be true or false");
  return j.get<bool>();
}

std::vector<std::string> strings(const json& j, const std::string& where) {
  if (!j.is_array()) throw Malformed(where + " must be an array of strings");
  std::vector<std::string> out;
  for (const auto& v : j) out.push_back(str(v, where + "[]"));
  return out;
}

// The members a case may have, and the Outcome classes it may expect.
const std::set<std::string> kCaseMembers{"name",   "source",           "call",      "app",     "grant",
                                         "inputs", "component",        "exchanges", "request", "answer",
                                         "expect", "known_divergence", "secrets",   "note"};
const std::set<std::string> kKinds{"success", "retry_later", "rate_limited", "needs_reauth", "app_misconfigured"};

void only_keys(const json& j, const std::set<std::string>& allowed, const std::string& where) {
  if (!j.is_object()) throw Malformed(where + " must be an object");
  for (const auto& [k, v] : j.items()) {
    if (!allowed.count(k)) throw Malformed(where + "." + k + ": unknown member (a typo?)");
  }
}

// ---------------------------------------------------------------------------------------------
// Placeholders for what cannot be written down: key material and signed tokens.
//   "$TEST_RSA_PRIVATE_KEY"  the test RSA key (PEM), e.g. in a service-account key file
//   "$TEST_JWKS"             the key set (JSON object) with the test key's public half as kid "g1"
//   "$ID_TOKEN:<sub>"        an id_token signed with it: iss https://accounts.google.com, aud and azp
//                            the app's client_id, current iat/exp
//   "$NOW_PLUS:<seconds>"    the integer Unix time now + seconds (absolute expiry times)

std::string signed_id_token(const std::string& sub, const std::string& client_id) {
  const auto now = to_unix(SysClock::now());
  json claims{{"iss", "https://accounts.google.com"},
              {"azp", client_id},
              {"aud", client_id},
              {"sub", sub},
              {"iat", now},
              {"exp", now + 3600}};
  auto r = crypto::sign_jwt_rs256(json{{"alg", "RS256"}, {"kid", "g1"}, {"typ", "JWT"}}.dump(), claims.dump(),
                                  mediax::testing::test_key().private_pem);
  if (!r.ok()) throw Malformed("signing the id_token failed: " + r.error);
  return r.token;
}

// "$NOW_PLUS:<seconds>": the Unix time (integer seconds) that many seconds from now (negative: in the
// past), for platforms that answer absolute expiry times (Bilibili's expires_in). Every occurrence in
// a case is the same instant, taken once before the case runs, so an answer and an expected value
// written with the same placeholder are equal.
std::int64_t now_plus(const std::string& s, std::int64_t now) {
  const std::string n = s.substr(10);
  std::size_t used = 0;
  std::int64_t v = 0;
  try {
    v = std::stoll(n, &used);
  } catch (const std::exception&) {
    used = 0;
  }
  if (n.empty() || used != n.size()) throw Malformed(s + ": $NOW_PLUS: must be followed by an integer");
  return now + v;
}

void substitute(json& j, const std::string& client_id, std::int64_t now) {
  if (j.is_object() || j.is_array()) {
    for (auto& v : j) substitute(v, client_id, now);
    return;
  }
  if (!j.is_string()) return;
  const std::string s = j.get<std::string>();
  if (s.rfind("$NOW_PLUS:", 0) == 0) {
    j = now_plus(s, now);
  } else if (s == "$TEST_RSA_PRIVATE_KEY") {
    j = mediax::testing::test_key().private_pem;
  } else if (s == "$TEST_JWKS") {
    j = json{{"keys", {mediax::testing::jwk_of(mediax::testing::test_key().public_pem, "g1")}}};
  } else if (s.rfind("$ID_TOKEN:", 0) == 0) {
    j = signed_id_token(s.substr(10), client_id);
  }
}

// ---------------------------------------------------------------------------------------------
// The daemon's side of wechat_component: the stored ticket and the component tokens in turn (a
// refusal of the current one moves to the next, as the real credentials do when it is still current).

class FixtureCredentials : public ComponentCredentials {
 public:
  std::optional<std::string> latest_ticket(const App&) override { return ticket; }
  std::optional<std::string> component_token(const App&, const std::optional<std::string>& refused) override {
    if (tokens.empty()) return std::nullopt;
    if (refused && *refused == tokens.front() && tokens.size() > 1) tokens.erase(tokens.begin());
    return tokens.front();
  }
  std::optional<std::string> ticket;
  std::vector<std::string> tokens;
};

// ---------------------------------------------------------------------------------------------
// Building the inputs

App make_app(const std::string& platform, const json& a) {
  only_keys(a,
            {"client_id", "client_secret", "scopes", "options", "redirect_uri", "endpoints", "token_auth_method",
             "client_credentials", "renew_not_permitted"},
            "app");
  App app;
  app.id = 1;
  app.name = "fixture";
  app.platform = platform;
  app.client_id = opt_str(a, "client_id", "app");
  app.client_secret = opt_str(a, "client_secret", "app");
  if (a.contains("scopes")) app.scopes = strings(a["scopes"], "app.scopes");
  if (a.contains("options")) {
    if (!a["options"].is_object()) throw Malformed("app.options must be an object");
    app.options = a["options"];
  }
  app.redirect_uri = opt_str(a, "redirect_uri", "app", "https://mediax.example.com/oauth/callback/fixture");
  if (a.contains("endpoints")) {
    const json& e = a["endpoints"];
    only_keys(e, {"authorize_url", "token_url", "revocation_url"}, "app.endpoints");
    app.endpoints.authorize_url = opt_str(e, "authorize_url", "app.endpoints");
    app.endpoints.token_url = opt_str(e, "token_url", "app.endpoints");
    app.endpoints.revocation_url = opt_str(e, "revocation_url", "app.endpoints");
  }
  app.token_auth_method = opt_str(a, "token_auth_method", "app", "client_secret_post");
  if (a.contains("client_credentials"))
    app.client_credentials = boolean(a["client_credentials"], "app.client_credentials");
  if (a.contains("renew_not_permitted") && boolean(a["renew_not_permitted"], "app.renew_not_permitted")) {
    app.renew_not_permitted_at = SysClock::now() - std::chrono::hours(24);
  }
  return app;
}

Grant make_grant(const json& g) {
  only_keys(g, {"account_id", "refresh_token", "access_token", "scopes", "extra", "refresh_expires_in_seconds"},
            "grant");
  Grant grant;
  // The current access token, for the platforms that revoke it (Weibo, TikTok).
  if (g.contains("access_token")) grant.access_token = str(g["access_token"], "grant.access_token");
  grant.id = 2;
  grant.app_id = 1;
  grant.account_id = opt_str(g, "account_id", "grant");
  grant.refresh_token = opt_str(g, "refresh_token", "grant");
  if (g.contains("scopes")) grant.scopes = strings(g["scopes"], "grant.scopes");
  if (g.contains("extra")) {
    if (!g["extra"].is_object()) throw Malformed("grant.extra must be an object");
    grant.extra = g["extra"];
  }
  if (g.contains("refresh_expires_in_seconds")) {
    grant.refresh_expires_at = SysClock::now() +
                               Seconds(integer(g["refresh_expires_in_seconds"], "grant.refresh_expires_in_seconds"));
  }
  return grant;
}

AuthorizeParams make_authorize(const json& in) {
  only_keys(in,
            {"state", "code_challenge", "redirect_uri", "scopes", "prompt", "login_hint", "include_granted_scopes",
             "mobile", "auth_type", "biz_appid"},
            "inputs");
  AuthorizeParams p;
  p.state = opt_str(in, "state", "inputs");
  p.code_challenge = opt_str(in, "code_challenge", "inputs");
  p.redirect_uri = opt_str(in, "redirect_uri", "inputs");
  if (in.contains("scopes")) p.scopes = strings(in["scopes"], "inputs.scopes");
  p.prompt = opt_str(in, "prompt", "inputs");
  p.login_hint = opt_str(in, "login_hint", "inputs");
  if (in.contains("include_granted_scopes"))
    p.include_granted_scopes = boolean(in["include_granted_scopes"], "inputs.include_granted_scopes");
  if (in.contains("mobile")) p.mobile = boolean(in["mobile"], "inputs.mobile");
  if (in.contains("auth_type")) p.auth_type = static_cast<int>(integer(in["auth_type"], "inputs.auth_type"));
  p.biz_appid = opt_str(in, "biz_appid", "inputs");
  return p;
}

// One scripted answer.
void script(FakeHttpClient& http, const json& answer, const std::string& where) {
  only_keys(answer, {"status", "headers", "body", "body_text", "transport_error"}, where);
  if (answer.contains("transport_error")) {
    http.fail(str(answer["transport_error"], where + ".transport_error"));
    return;
  }
  const int status = static_cast<int>(integer(member(answer, "status", where), where + ".status"));
  if (answer.contains("body") && answer.contains("body_text")) throw Malformed(where + ": body or body_text, not both");
  std::string body;
  if (answer.contains("body")) body = answer["body"].dump();
  if (answer.contains("body_text")) body = str(answer["body_text"], where + ".body_text");
  HeaderList headers;
  if (answer.contains("headers")) {
    const json& h = answer["headers"];
    if (!h.is_object()) throw Malformed(where + ".headers must be an object");
    for (const auto& [k, v] : h.items()) headers.emplace_back(k, str(v, where + ".headers." + k));
  }
  http.respond(status, std::move(body), std::move(headers));
}

// ---------------------------------------------------------------------------------------------
// Checking

std::string without_query(const std::string& url) {
  auto end = url.find_first_of("?#");
  return end == std::string::npos ? url : url.substr(0, end);
}

std::string show(const std::map<std::string, std::string>& m) {
  json j = json::object();
  for (const auto& [k, v] : m) j[k] = v;
  return j.dump();
}

// Expected string fields against actual ones: the same names, and each value equal ("$any": any
// non-empty value).
void expect_fields(const std::map<std::string, std::string>& actual, const json& expected, const std::string& what) {
  if (!expected.is_object()) throw Malformed(what + " must be an object of strings");
  std::set<std::string> names;
  for (const auto& [k, v] : expected.items()) {
    const std::string want = str(v, what + "." + k);
    names.insert(k);
    auto it = actual.find(k);
    if (it == actual.end()) {
      ADD_FAILURE() << what << ": no " << k << " (has " << show(actual) << ")";
    } else if (want == "$any") {
      EXPECT_FALSE(it->second.empty()) << what << "." << k << " is empty";
    } else {
      EXPECT_EQ(it->second, want) << what << "." << k;
    }
  }
  for (const auto& [k, v] : actual) {
    EXPECT_TRUE(names.count(k)) << what << ": unexpected field " << k << "=" << v << " (documented: " << expected.dump()
                                << ")";
  }
}

// JSON equality where an expected "$any" matches any non-empty string.
bool json_matches(const json& actual, const json& expected) {
  if (expected.is_string() && expected.get<std::string>() == "$any") {
    return actual.is_string() && !actual.get<std::string>().empty();
  }
  if (expected.is_object()) {
    if (!actual.is_object() || actual.size() != expected.size()) return false;
    for (const auto& [k, v] : expected.items()) {
      if (!actual.contains(k) || !json_matches(actual[k], v)) return false;
    }
    return true;
  }
  if (expected.is_array()) {
    if (!actual.is_array() || actual.size() != expected.size()) return false;
    for (std::size_t i = 0; i < expected.size(); ++i) {
      if (!json_matches(actual[i], expected[i])) return false;
    }
    return true;
  }
  return actual == expected;
}

bool json_holds_string(const json& j, const std::string& s) {
  if (j.is_string()) return j.get<std::string>() == s;
  if (j.is_object() || j.is_array()) {
    for (const auto& v : j) {
      if (json_holds_string(v, s)) return true;
    }
  }
  return false;
}

std::map<std::string, std::string> to_map(const std::vector<std::pair<std::string, std::string>>& fields) {
  std::map<std::string, std::string> m;
  for (const auto& [k, v] : fields) m[k] = v;
  return m;
}

void check_request(const HttpClientRequest& r, const json& want, const std::string& secret, const std::string& where) {
  only_keys(want, {"method", "url", "content_type", "query", "form", "json", "headers", "secret_in"}, where);
  if (want.contains("method")) {
    EXPECT_EQ(r.method, str(want["method"], where + ".method")) << where;
  }
  EXPECT_EQ(without_query(r.url), str(member(want, "url", where), where + ".url")) << where << ": the endpoint";
  if (want.contains("content_type")) {
    EXPECT_EQ(r.content_type, str(want["content_type"], where + ".content_type")) << where;
  }
  const auto q = r.url.find('?');
  const std::string query = q == std::string::npos ? "" : r.url.substr(q + 1);
  if (want.contains("query")) {
    expect_fields(mediax::testing::query_fields(r.url), want["query"], where + " query");
  } else {
    EXPECT_EQ(query, "") << where << ": a query the documentation does not show";
  }
  if (want.contains("form") && want.contains("json")) throw Malformed(where + ": form or json, not both");
  if (want.contains("form")) {
    EXPECT_EQ(r.content_type, "application/x-www-form-urlencoded") << where;
    expect_fields(to_map(parse_query(r.body)), want["form"], where + " form");
  } else if (want.contains("json")) {
    json body;
    try {
      body = json::parse(r.body);
    } catch (const std::exception&) {
      ADD_FAILURE() << where << ": the body is not JSON: " << r.body;
    }
    EXPECT_TRUE(json_matches(body, want["json"]))
        << where << " JSON body\n  sent:       " << body.dump() << "\n  documented: " << want["json"].dump();
  } else {
    EXPECT_EQ(r.body, "") << where << ": a body the documentation does not show";
  }
  if (want.contains("headers")) {
    const json& h = want["headers"];
    if (!h.is_object()) throw Malformed(where + ".headers must be an object");
    for (const auto& [k, v] : h.items()) {
      const std::string value = str(v, where + ".headers." + k);
      const std::string got = mediax::testing::header_value(r, k);
      if (value == "$any") {
        EXPECT_FALSE(got.empty()) << where << ": no header " << k;
      } else {
        EXPECT_EQ(got, value) << where << ": header " << k;
      }
    }
  }
  // Where the app's secret travels, and nowhere else.
  const std::string place = opt_str(want, "secret_in", where, "");
  if (place.empty()) return;
  static const std::set<std::string> kPlaces{"form", "json", "query", "header", "none"};
  if (!kPlaces.count(place)) throw Malformed(where + ".secret_in must be form, json, query, header or none");
  if (secret.empty()) throw Malformed(where + ".secret_in needs app.client_secret");
  bool in_query = false;
  for (const auto& [k, v] : parse_query(query)) in_query = in_query || v == secret;
  bool in_form = false;
  if (r.content_type == "application/x-www-form-urlencoded") {
    for (const auto& [k, v] : parse_query(r.body)) in_form = in_form || v == secret;
  }
  bool in_json = false;
  if (r.content_type == "application/json") {
    try {
      in_json = json_holds_string(json::parse(r.body), secret);
    } catch (const std::exception&) {
    }
  }
  bool in_header = false;
  for (const auto& [k, v] : r.headers) in_header = in_header || k == "Authorization";
  EXPECT_EQ(in_query, place == "query") << where << ": the secret " << (in_query ? "is" : "is not") << " in the query";
  EXPECT_EQ(in_form, place == "form") << where << ": the secret " << (in_form ? "is" : "is not") << " in the form";
  EXPECT_EQ(in_json, place == "json") << where << ": the secret " << (in_json ? "is" : "is not") << " in the JSON body";
  EXPECT_EQ(in_header, place == "header") << where << ": Authorization header " << (in_header ? "sent" : "not sent");
  if (place != "query") {
    EXPECT_EQ(r.url.find(secret), std::string::npos) << where << ": the secret is in the URL";
  }
  if (place == "header" || place == "none") {
    EXPECT_EQ(r.body.find(secret), std::string::npos) << where << ": the secret is in the body";
  }
}

// A number of seconds: an integer (exact), null (absent) or {"min", "max"}.
void expect_seconds(const std::optional<Seconds>& actual, const json& want, const std::string& what) {
  if (want.is_null()) {
    EXPECT_FALSE(actual.has_value()) << what << " should be absent, is " << (actual ? actual->count() : 0);
    return;
  }
  if (want.is_number_integer()) {
    ASSERT_TRUE(actual.has_value()) << what << " is absent";
    EXPECT_EQ(actual->count(), want.get<std::int64_t>()) << what;
    return;
  }
  only_keys(want, {"min", "max"}, what);
  ASSERT_TRUE(actual.has_value()) << what << " is absent";
  if (want.contains("min")) {
    EXPECT_GE(actual->count(), integer(want["min"], what + ".min")) << what;
  }
  if (want.contains("max")) {
    EXPECT_LE(actual->count(), integer(want["max"], what + ".max")) << what;
  }
}

void check_token(const TokenResult& t, const json& want) {
  only_keys(want,
            {"access_token", "refresh_token", "expires_in", "refresh_expires_in", "scopes", "account_id", "token_type",
             "extra", "warning_code", "renew_not_permitted", "reauth_due", "same_until_expiry"},
            "expect.token");
  if (want.contains("access_token")) {
    EXPECT_EQ(t.access_token, str(want["access_token"], "token.access_token"));
  }
  if (want.contains("refresh_token")) {
    if (want["refresh_token"].is_null()) {
      EXPECT_FALSE(t.refresh_token.has_value()) << "no refresh token expected (the stored one is kept), got one";
    } else {
      EXPECT_EQ(t.refresh_token.value_or("<none>"), str(want["refresh_token"], "token.refresh_token"));
    }
  }
  if (want.contains("expires_in")) expect_seconds(t.expires_in, want["expires_in"], "token.expires_in");
  if (want.contains("refresh_expires_in")) {
    expect_seconds(t.refresh_expires_in, want["refresh_expires_in"], "token.refresh_expires_in");
  }
  if (want.contains("scopes")) {
    EXPECT_EQ(t.scopes, strings(want["scopes"], "token.scopes")) << "token.scopes";
  }
  if (want.contains("account_id")) {
    EXPECT_EQ(t.account_id, str(want["account_id"], "token.account_id"));
  }
  if (want.contains("token_type")) {
    EXPECT_EQ(t.token_type, str(want["token_type"], "token.token_type"));
  }
  if (want.contains("extra")) {
    if (!want["extra"].is_object()) throw Malformed("expect.token.extra must be an object");
    for (const auto& [k, v] : want["extra"].items()) {
      EXPECT_TRUE(t.extra.contains(k) && t.extra[k] == v)
          << "token.extra." << k << ": expected " << v.dump() << ", extra is " << t.extra.dump();
    }
  }
  if (want.contains("warning_code")) {
    EXPECT_EQ(t.warning_code, str(want["warning_code"], "token.warning_code"));
  }
  if (want.contains("renew_not_permitted")) {
    EXPECT_EQ(t.renew_not_permitted, boolean(want["renew_not_permitted"], "token.renew_not_permitted"));
  }
  if (want.contains("reauth_due")) {
    EXPECT_EQ(t.reauth_due, boolean(want["reauth_due"], "token.reauth_due"));
  }
  if (want.contains("same_until_expiry")) {
    EXPECT_EQ(t.same_until_expiry, boolean(want["same_until_expiry"], "token.same_until_expiry"));
  }
}

void check_outcome(const Outcome& o, const json& want) {
  only_keys(want, {"kind", "code", "message_contains", "http_status", "retry_after", "token", "url"}, "expect");
  const std::string kind = str(member(want, "kind", "expect"), "expect.kind");
  if (!kKinds.count(kind)) throw Malformed("expect.kind: " + kind + " is not an OutcomeKind");
  EXPECT_EQ(to_string(o.kind), kind) << "the outcome's class (code " << o.code << ": " << o.message << ")";
  if (want.contains("code")) {
    EXPECT_EQ(o.code, str(want["code"], "expect.code")) << o.message;
  }
  if (want.contains("message_contains")) {
    const json& m = want["message_contains"];
    for (const auto& s : m.is_array() ? strings(m, "expect.message_contains")
                                      : std::vector<std::string>{str(m, "expect.message_contains")}) {
      EXPECT_NE(o.message.find(s), std::string::npos) << "the message lacks \"" << s << "\": " << o.message;
    }
  }
  if (want.contains("http_status")) {
    EXPECT_EQ(o.http_status, integer(want["http_status"], "expect.http_status"));
  }
  if (want.contains("retry_after")) expect_seconds(o.retry_after, want["retry_after"], "retry_after");
  if (want.contains("token")) check_token(o.token, want["token"]);
}

void check_url(const std::string& url, const json& want) {
  only_keys(want, {"base", "query", "order", "fragment"}, "expect.url");
  EXPECT_EQ(without_query(url), str(member(want, "base", "expect.url"), "expect.url.base")) << url;
  if (want.contains("query")) expect_fields(mediax::testing::query_fields(url), want["query"], "authorization URL");
  if (want.contains("order")) {
    EXPECT_EQ(mediax::testing::query_names(url), strings(want["order"], "expect.url.order"))
        << "the parameters' order: " << url;
  }
  if (want.contains("fragment")) {
    const auto hash = url.find('#');
    if (want["fragment"].is_null()) {
      EXPECT_EQ(hash, std::string::npos) << url;
    } else {
      EXPECT_EQ(hash == std::string::npos ? "<none>" : url.substr(hash + 1),
                str(want["fragment"], "expect.url.fragment"))
          << url;
    }
  }
}

// Every value a fixture holds that an Outcome's message or code must never repeat.
void collect_answer_secrets(const json& j, std::vector<std::string>& out) {
  static const std::set<std::string> kKeys{"access_token",      "refresh_token",           "component_access_token",
                                           "pre_auth_code",     "authorizer_access_token", "authorizer_refresh_token",
                                           "id_token",          "client_secret",           "component_verify_ticket",
                                           "authorization_code"};
  if (j.is_object()) {
    for (const auto& [k, v] : j.items()) {
      if (kKeys.count(k) && v.is_string()) out.push_back(v.get<std::string>());
      collect_answer_secrets(v, out);
    }
  } else if (j.is_array()) {
    for (const auto& v : j) collect_answer_secrets(v, out);
  }
}

// ---------------------------------------------------------------------------------------------
// Running a case

void run_case(const FixtureCase& fc) {
  json spec = fc.spec;
  only_keys(spec, kCaseMembers, "case");
  const std::string source = str(member(spec, "source", "case"), "case.source");
  if (source.empty()) throw Malformed("case.source must cite the documentation");
  const std::string call = str(member(spec, "call", "case"), "case.call");
  substitute(spec, spec.contains("app") ? opt_str(spec["app"], "client_id", "app") : "", to_unix(SysClock::now()));

  // The exchanges: "exchanges": [{request, answer}...], or one as "request" + "answer" (a case sets
  // those to null to drop the file's defaults, e.g. when no request is documented).
  for (const char* key : {"request", "answer"}) {
    if (spec.contains(key) && spec[key].is_null()) spec.erase(key);
  }
  json exchanges = json::array();
  if (spec.contains("exchanges")) {
    if (spec.contains("request") || spec.contains("answer")) throw Malformed("case: exchanges or request/answer");
    exchanges = spec["exchanges"];
    if (!exchanges.is_array()) throw Malformed("case.exchanges must be an array");
  } else if (spec.contains("answer")) {
    exchanges.push_back({{"request", member(spec, "request", "case")}, {"answer", spec["answer"]}});
  } else if (spec.contains("request")) {
    throw Malformed("case.request without case.answer");
  }

  FakeHttpClient http;
  FixtureCredentials credentials;
  if (spec.contains("component")) {
    const json& c = spec["component"];
    only_keys(c, {"ticket", "tokens"}, "component");
    if (c.contains("ticket") && !c["ticket"].is_null()) credentials.ticket = str(c["ticket"], "component.ticket");
    if (c.contains("tokens")) credentials.tokens = strings(c["tokens"], "component.tokens");
  }
  PlatformRegistry registry(http, PlatformSettings{}, nullptr, &credentials);
  Platform* platform = registry.get(fc.platform);
  if (platform == nullptr) throw Malformed("no platform named " + fc.platform + " (the directory's name)");

  App app = make_app(fc.platform, member(spec, "app", "case"));
  // As at registration: the platform checks the app and fills in what follows from it.
  const AppCheck check = platform->prepare_app(app);
  ASSERT_TRUE(check.ok) << "prepare_app refused the fixture's app: " << check.message;
  ASSERT_TRUE(http.requests.empty()) << "prepare_app called the platform (fixtures use no discovery)";
  const Grant grant = make_grant(spec.value("grant", json::object()));
  const json inputs = spec.value("inputs", json::object());

  for (std::size_t i = 0; i < exchanges.size(); ++i) {
    script(http, member(exchanges[i], "answer", "exchanges[" + std::to_string(i) + "]"),
           "exchanges[" + std::to_string(i) + "].answer");
  }

  const json& expect = member(spec, "expect", "case");
  Outcome outcome;
  std::vector<std::string> secrets{app.client_secret, grant.refresh_token};
  if (spec.contains("grant") && spec["grant"].contains("access_token")) {
    secrets.push_back(str(spec["grant"]["access_token"], "grant.access_token"));
  }
  if (app.secret_options.is_object()) {
    for (const auto& [k, v] : app.secret_options.items()) {
      if (v.is_string()) secrets.push_back(v.get<std::string>());
    }
  }
  if (credentials.ticket) secrets.push_back(*credentials.ticket);
  for (const auto& t : credentials.tokens) secrets.push_back(t);
  for (const auto& e : exchanges) collect_answer_secrets(e.at("answer"), secrets);
  if (spec.contains("secrets")) {
    for (const auto& s : strings(spec["secrets"], "case.secrets")) secrets.push_back(s);
  }

  if (call == "exchange_code") {
    only_keys(inputs, {"code", "code_verifier", "redirect_uri"}, "inputs");
    const std::string code = str(member(inputs, "code", "inputs"), "inputs.code");
    const std::string verifier = opt_str(inputs, "code_verifier", "inputs");
    secrets.push_back(code);
    secrets.push_back(verifier);
    outcome = platform->exchange_code(app, code, verifier, opt_str(inputs, "redirect_uri", "inputs", app.redirect_uri));
  } else if (call == "refresh") {
    outcome = platform->refresh(app, grant);
  } else if (call == "client_token") {
    only_keys(inputs, {"reason", "rejected_token"}, "inputs");
    const std::string reason = opt_str(inputs, "reason", "inputs", "scheduled");
    AppTokenCall why;
    if (reason == "forced") {
      why = AppTokenCall::forced();
    } else if (reason == "rejected") {
      why = AppTokenCall::rejected(str(member(inputs, "rejected_token", "inputs"), "inputs.rejected_token"));
    } else if (reason != "scheduled") {
      throw Malformed("inputs.reason must be scheduled, forced or rejected");
    }
    outcome = platform->client_token(app, why);
  } else if (call == "revoke") {
    outcome = platform->revoke(app, grant);
  } else if (call == "recover_grant") {
    outcome = platform->recover_grant(app, grant);
  } else if (call == "authorize_url") {
    // As the daemon does: check the choices, let the platform fetch what the page needs, build the URL.
    AuthorizeParams p = make_authorize(inputs);
    const std::string refused = platform->check_authorize(app, p);
    ASSERT_EQ(refused, "") << "check_authorize refused the fixture's inputs";
    outcome = platform->prepare_authorize(app, p);
    secrets.push_back(p.pre_auth_code);
    if (outcome.ok()) {
      const std::string url = platform->authorize_url(app, p);
      if (expect.contains("url")) check_url(url, expect["url"]);
    } else if (expect.contains("url")) {
      ADD_FAILURE() << "no authorization URL: prepare_authorize failed (" << outcome.code << ": " << outcome.message
                    << ")";
    }
  } else {
    throw Malformed("case.call: " + call +
                    " is not one of exchange_code, refresh, client_token, revoke, recover_grant, authorize_url");
  }
  if (call != "authorize_url" && expect.contains("url")) throw Malformed("expect.url is for authorize_url only");

  // The requests, in order: as many as the case scripted answers for, each as documented.
  EXPECT_EQ(http.requests.size(), exchanges.size()) << "requests sent vs. the documented exchanges";
  for (std::size_t i = 0; i < std::min(http.requests.size(), exchanges.size()); ++i) {
    const std::string where = "exchanges[" + std::to_string(i) + "].request";
    check_request(http.requests[i], member(exchanges[i], "request", "exchanges[" + std::to_string(i) + "]"),
                  app.client_secret, where);
  }
  check_outcome(outcome, expect);
  // Nothing secret in what is logged and shown.
  std::vector<std::string> checked;
  for (auto& s : secrets) {
    if (s.size() >= 4) checked.push_back(s);
  }
  expect_no_leak(outcome, checked);
  Outcome warning;
  warning.message = outcome.token.warning_message;
  warning.code = outcome.token.warning_code;
  expect_no_leak(warning, checked);
}

// Runs the case; a malformed fixture is a failure that names the problem.
void run_checked(const FixtureCase& fc) {
  try {
    run_case(fc);
  } catch (const Malformed& e) {
    ADD_FAILURE() << "malformed fixture " << fc.file << " (" << fc.test_name << "): " << e.what();
  } catch (const std::exception& e) {
    ADD_FAILURE() << "fixture " << fc.file << " (" << fc.test_name << ") threw: " << e.what();
  }
}

// Whether the registry builds a platform of this name. The fixtures of a platform still being built
// (a directory written from its documentation before the code) are skipped, and only those: once the
// registry knows the name, every case runs.
bool platform_built(const std::string& name) {
  FakeHttpClient http;
  FixtureCredentials credentials;
  PlatformRegistry registry(http, PlatformSettings{}, nullptr, &credentials);
  return registry.get(name) != nullptr;
}

// What can be checked of a case without its platform: the members every case needs.
void check_shape(const FixtureCase& fc) {
  const json& spec = fc.spec;
  only_keys(spec, kCaseMembers, "case");
  if (str(member(spec, "source", "case"), "case.source").empty()) {
    throw Malformed("case.source must cite the documentation");
  }
  static const std::set<std::string> kCalls{"exchange_code", "refresh",       "client_token",
                                            "revoke",        "recover_grant", "authorize_url"};
  const std::string call = str(member(spec, "call", "case"), "case.call");
  if (!kCalls.count(call)) throw Malformed("case.call: " + call + " is not a call");
  const std::string kind = str(member(member(spec, "expect", "case"), "kind", "expect"), "expect.kind");
  if (!kKinds.count(kind)) throw Malformed("expect.kind: " + kind + " is not an OutcomeKind");
}

class PlatformFixtures : public ::testing::TestWithParam<FixtureCase> {};

TEST_P(PlatformFixtures, AsDocumented) {
  const FixtureCase& fc = GetParam();
  if (!fc.load_error.empty()) FAIL() << "malformed fixture " << fc.file << ": " << fc.load_error;
  if (!platform_built(fc.platform)) {
    try {
      check_shape(fc);
    } catch (const Malformed& e) {
      FAIL() << "malformed fixture " << fc.file << " (" << fc.test_name << "): " << e.what();
    }
    GTEST_SKIP() << "platform " << fc.platform << " is not built yet";
  }
  SCOPED_TRACE(fc.file + ": " + fc.spec.value("source", std::string("(no source)")));
  const auto divergence = fc.spec.find("known_divergence");
  if (divergence == fc.spec.end()) {
    run_checked(fc);
    return;
  }
  if (!divergence->is_string() || divergence->get<std::string>().empty()) {
    FAIL() << "malformed fixture " << fc.file << ": known_divergence must say why";
  }
  // Run it with the failures caught: still failing, it is skipped with the reason; passing, the mark is stale.
  ::testing::TestPartResultArray results;
  {
    ::testing::ScopedFakeTestPartResultReporter intercept(
        ::testing::ScopedFakeTestPartResultReporter::INTERCEPT_ONLY_CURRENT_THREAD, &results);
    run_checked(fc);
  }
  std::string failures;
  bool malformed = false;
  for (int i = 0; i < results.size(); ++i) {
    const auto& r = results.GetTestPartResult(i);
    if (!r.failed()) continue;
    const std::string text = r.message();
    malformed = malformed || text.find("malformed fixture") != std::string::npos;
    failures += "\n  " + text.substr(0, 400);
  }
  if (malformed) FAIL() << failures;
  if (failures.empty()) {
    FAIL() << "marked known_divergence (" << divergence->get<std::string>()
           << ") but the code now does what the documentation says: remove the mark";
  }
  GTEST_SKIP() << "known divergence: " << divergence->get<std::string>() << "\n what differs:" << failures;
}

INSTANTIATE_TEST_SUITE_P(Platforms, PlatformFixtures, ::testing::ValuesIn(load_all()),
                         [](const ::testing::TestParamInfo<FixtureCase>& param_info) {
                           return param_info.param.test_name;
                         });

}  // namespace
