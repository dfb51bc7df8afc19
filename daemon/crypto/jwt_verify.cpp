#include "crypto/jwt_verify.hpp"

#include <openssl/bn.h>
#include <openssl/core_names.h>
#include <openssl/err.h>
#include <openssl/evp.h>
#include <openssl/param_build.h>
#include <openssl/rsa.h>

#include <memory>

#include "crypto/crypto.hpp"
#include "util/json_depth.hpp"

namespace mediax::crypto {

namespace {

using nlohmann::json;

struct BnFree {
  void operator()(BIGNUM* b) const { BN_free(b); }
};
struct PkeyFree {
  void operator()(EVP_PKEY* k) const { EVP_PKEY_free(k); }
};
struct PkeyCtxFree {
  void operator()(EVP_PKEY_CTX* c) const { EVP_PKEY_CTX_free(c); }
};
struct MdCtxFree {
  void operator()(EVP_MD_CTX* c) const { EVP_MD_CTX_free(c); }
};
struct ParamBldFree {
  void operator()(OSSL_PARAM_BLD* b) const { OSSL_PARAM_BLD_free(b); }
};
struct ParamFree {
  void operator()(OSSL_PARAM* p) const { OSSL_PARAM_free(p); }
};
using BnPtr = std::unique_ptr<BIGNUM, BnFree>;
using PkeyPtr = std::unique_ptr<EVP_PKEY, PkeyFree>;

// Smaller RSA keys are factorable; a provider serving one is not to be trusted with identities.
constexpr int kMinRsaBits = 2048;

JwtCheck fail(JwtFailure f, std::string message) {
  JwtCheck c;
  c.failure = f;
  c.message = std::move(message);
  return c;
}

std::string str(const json& j, const char* key) {
  auto it = j.find(key);
  return it != j.end() && it->is_string() ? it->get<std::string>() : std::string();
}

std::optional<json> decode_object(std::string_view part) {
  auto text = base64url_decode(part);
  if (!text) return std::nullopt;
  // A JWT's header and claims nest a level or two; deeper is refused before parsing (a copy of a
  // deep document recurses: util/json_depth.hpp).
  if (util::json_nesting_depth(*text, 16) > 16) return std::nullopt;
  json j = json::parse(*text, nullptr, false);
  if (j.is_discarded() || !j.is_object()) return std::nullopt;
  return j;
}

struct Parts {
  std::string_view header, payload, signature, signing_input;
};

std::optional<Parts> split(std::string_view jwt) {
  auto d1 = jwt.find('.');
  if (d1 == std::string_view::npos) return std::nullopt;
  auto d2 = jwt.find('.', d1 + 1);
  // A JWS has exactly three parts; a JWE (five) is not what an ID token from the token endpoint is.
  if (d2 == std::string_view::npos || jwt.find('.', d2 + 1) != std::string_view::npos) return std::nullopt;
  return Parts{jwt.substr(0, d1), jwt.substr(d1 + 1, d2 - d1 - 1), jwt.substr(d2 + 1), jwt.substr(0, d2)};
}

BnPtr bignum(const std::string& b64url) {
  auto bytes = base64url_decode(b64url);
  if (!bytes || bytes->empty()) return nullptr;
  return BnPtr(
      BN_bin2bn(reinterpret_cast<const unsigned char*>(bytes->data()), static_cast<int>(bytes->size()), nullptr));
}

// An RSA public key from a JWK's modulus and exponent (RFC 7518 §6.3.1).
PkeyPtr rsa_from_jwk(const json& jwk) {
  BnPtr n = bignum(str(jwk, "n"));
  BnPtr e = bignum(str(jwk, "e"));
  if (!n || !e) return nullptr;
  std::unique_ptr<OSSL_PARAM_BLD, ParamBldFree> bld(OSSL_PARAM_BLD_new());
  if (!bld || OSSL_PARAM_BLD_push_BN(bld.get(), OSSL_PKEY_PARAM_RSA_N, n.get()) != 1 ||
      OSSL_PARAM_BLD_push_BN(bld.get(), OSSL_PKEY_PARAM_RSA_E, e.get()) != 1) {
    return nullptr;
  }
  std::unique_ptr<OSSL_PARAM, ParamFree> params(OSSL_PARAM_BLD_to_param(bld.get()));
  std::unique_ptr<EVP_PKEY_CTX, PkeyCtxFree> ctx(EVP_PKEY_CTX_new_from_name(nullptr, "RSA", nullptr));
  EVP_PKEY* raw = nullptr;
  if (!params || !ctx || EVP_PKEY_fromdata_init(ctx.get()) != 1 ||
      EVP_PKEY_fromdata(ctx.get(), &raw, EVP_PKEY_PUBLIC_KEY, params.get()) != 1) {
    return nullptr;
  }
  return PkeyPtr(raw);
}

bool usable_rsa_key(const json& jwk) {
  if (!jwk.is_object() || str(jwk, "kty") != "RSA") return false;
  const std::string use = str(jwk, "use");
  const std::string alg = str(jwk, "alg");
  return (use.empty() || use == "sig") && (alg.empty() || alg == "RS256");
}

// The key the header names; with no kid, the only usable key (nullptr when none or several).
const json* find_key(const json& jwks, const std::string& kid) {
  if (!jwks.is_object() || !jwks.contains("keys") || !jwks["keys"].is_array()) return nullptr;
  const json* only = nullptr;
  int usable = 0;
  for (const auto& k : jwks["keys"]) {
    if (!usable_rsa_key(k)) continue;
    if (!kid.empty() && str(k, "kid") == kid) return &k;
    ++usable;
    only = &k;
  }
  return kid.empty() && usable == 1 ? only : nullptr;
}

bool verify_signature(EVP_PKEY* key, std::string_view signing_input, const std::string& signature) {
  std::unique_ptr<EVP_MD_CTX, MdCtxFree> ctx(EVP_MD_CTX_new());
  EVP_PKEY_CTX* pctx = nullptr;
  bool ok = ctx && EVP_DigestVerifyInit(ctx.get(), &pctx, EVP_sha256(), nullptr, key) == 1 &&
            EVP_PKEY_CTX_set_rsa_padding(pctx, RSA_PKCS1_PADDING) == 1 &&
            EVP_DigestVerify(ctx.get(), reinterpret_cast<const unsigned char*>(signature.data()), signature.size(),
                             reinterpret_cast<const unsigned char*>(signing_input.data()), signing_input.size()) == 1;
  ERR_clear_error();
  return ok;
}

std::optional<std::int64_t> seconds_claim(const json& claims, const char* key) {
  auto it = claims.find(key);
  if (it == claims.end()) return std::nullopt;
  if (it->is_number_integer()) return it->get<std::int64_t>();
  if (it->is_number_float()) return static_cast<std::int64_t>(it->get<double>());
  return std::nullopt;
}

bool audience_matches(const json& claims, const std::string& audience) {
  auto it = claims.find("aud");
  if (it == claims.end()) return false;
  if (it->is_string()) return it->get<std::string>() == audience;
  if (!it->is_array()) return false;
  for (const auto& a : *it) {
    if (a.is_string() && a.get<std::string>() == audience) return true;
  }
  return false;
}

}  // namespace

std::string to_string(JwtFailure f) {
  switch (f) {
    case JwtFailure::none: return "none";
    case JwtFailure::malformed: return "malformed";
    case JwtFailure::algorithm: return "algorithm";
    case JwtFailure::unknown_key: return "unknown_key";
    case JwtFailure::signature: return "signature";
    case JwtFailure::issuer: return "issuer";
    case JwtFailure::audience: return "audience";
    case JwtFailure::expired: return "expired";
    case JwtFailure::not_yet_valid: return "not_yet_valid";
  }
  return "unknown";
}

std::optional<JwtHeader> read_jwt_header(std::string_view jwt) {
  auto parts = split(jwt);
  if (!parts) return std::nullopt;
  auto header = decode_object(parts->header);
  if (!header) return std::nullopt;
  return JwtHeader{str(*header, "alg"), str(*header, "kid")};
}

JwtCheck verify_jwt_rs256(std::string_view jwt, const json& jwks, const JwtExpectations& want) {
  auto parts = split(jwt);
  if (!parts) return fail(JwtFailure::malformed, "the id_token is not a JWS (three dot-separated parts)");
  auto header = decode_object(parts->header);
  auto claims = decode_object(parts->payload);
  auto signature = base64url_decode(parts->signature);
  if (!header || !claims || !signature) {
    return fail(JwtFailure::malformed, "the id_token's parts are not base64url JSON objects and a signature");
  }
  const std::string alg = str(*header, "alg");
  if (alg != "RS256") {
    return fail(JwtFailure::algorithm,
                "the id_token is signed with \"" + alg.substr(0, 20) + "\", only RS256 is accepted");
  }
  const std::string kid = str(*header, "kid");
  const json* jwk = find_key(jwks, kid);
  if (jwk == nullptr) {
    JwtCheck c = fail(JwtFailure::unknown_key,
                      kid.empty() ? "the id_token names no key and the provider has several"
                                  : "the provider's key set has no RSA key \"" + kid.substr(0, 64) + "\"");
    c.kid = kid;
    return c;
  }
  PkeyPtr key = rsa_from_jwk(*jwk);
  if (!key)
    return fail(JwtFailure::unknown_key, "the provider's key \"" + kid.substr(0, 64) + "\" is not a usable RSA key");
  if (EVP_PKEY_get_bits(key.get()) < kMinRsaBits) {
    return fail(JwtFailure::unknown_key, "the provider's key is shorter than " + std::to_string(kMinRsaBits) + " bits");
  }
  if (!verify_signature(key.get(), parts->signing_input, *signature)) {
    return fail(JwtFailure::signature, "the id_token's signature does not verify with the provider's key");
  }

  JwtCheck c;
  c.kid = kid;
  const std::string iss = str(*claims, "iss");
  bool issuer_ok = false;
  for (const auto& i : want.issuers) issuer_ok = issuer_ok || (!i.empty() && i == iss);
  if (!issuer_ok)
    return fail(JwtFailure::issuer, "the id_token's issuer \"" + iss.substr(0, 200) + "\" is not the provider's");
  if (want.audience.empty() || !audience_matches(*claims, want.audience)) {
    return fail(JwtFailure::audience, "the id_token was issued to another client (aud)");
  }
  // OIDC Core §3.1.3.7 (5): an authorized party, when named, must be this client.
  if (claims->contains("azp") && str(*claims, "azp") != want.audience) {
    return fail(JwtFailure::audience, "the id_token was issued to another client (azp)");
  }
  const std::int64_t now = to_unix(want.now);
  const std::int64_t leeway = want.leeway.count();
  auto exp = seconds_claim(*claims, "exp");
  if (!exp) return fail(JwtFailure::expired, "the id_token has no exp");
  if (now > *exp + leeway) return fail(JwtFailure::expired, "the id_token expired at " + format_time(from_unix(*exp)));
  for (const char* k : {"iat", "nbf"}) {
    if (auto t = seconds_claim(*claims, k); t && *t > now + leeway) {
      return fail(JwtFailure::not_yet_valid, std::string("the id_token's ") + k + " is in the future (" +
                                                 format_time(from_unix(*t)) + "): check the clocks");
    }
  }
  c.claims = std::move(*claims);
  return c;
}

}  // namespace mediax::crypto
