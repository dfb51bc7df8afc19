// PUT /v1/apps/{name}/secrets: the body read strictly and the change applied to the stored app.
#include <gtest/gtest.h>

#include <algorithm>

#include "service/app_secrets.hpp"

namespace mediax {
namespace {

using nlohmann::json;

const std::string kKeyA(43, 'A');
const std::string kKeyB(43, 'B');
const std::string kKeyC(43, 'C');

int status_of(const json& body) {
  try {
    app_secrets_change_from_request(body);
  } catch (const ApiError& e) {
    return e.status();
  }
  return 200;
}

std::string message_of(const json& body) {
  try {
    app_secrets_change_from_request(body);
  } catch (const ApiError& e) {
    return e.what();
  }
  return "";
}

App component_app() {
  App a;
  a.platform = "wechat_component";
  a.client_secret = "old-secret";
  a.options = {{"auth_type", 3}};
  a.secret_options = {{"message_token", "tok123"}, {"encoding_aes_key", kKeyA}};
  return a;
}

bool has(const std::vector<std::string>& v, const std::string& s) {
  return std::find(v.begin(), v.end(), s) != v.end();
}

TEST(AppSecretsRequest, TakesAClientSecretOptionsOrBoth) {
  auto c = app_secrets_change_from_request({{"client_secret", "s3cret"}});
  ASSERT_TRUE(c.client_secret);
  EXPECT_EQ(*c.client_secret, "s3cret");
  EXPECT_TRUE(c.options.empty());
  c = app_secrets_change_from_request(
      {{"options", {{"encoding_aes_key", kKeyB}, {"previous_encoding_aes_key", nullptr}}}});
  EXPECT_FALSE(c.client_secret);
  EXPECT_EQ(c.options["encoding_aes_key"], kKeyB);
  EXPECT_TRUE(c.options["previous_encoding_aes_key"].is_null());
  // "" drops an option as null does.
  c = app_secrets_change_from_request({{"options", {{"previous_encoding_aes_key", ""}}}});
  EXPECT_TRUE(c.options["previous_encoding_aes_key"].is_null());
}

TEST(AppSecretsRequest, RefusesEverythingElseWith400) {
  EXPECT_EQ(status_of(json::array()), 400);
  EXPECT_EQ(status_of(json::object()), 400);                                // nothing to change
  EXPECT_EQ(status_of({{"options", json::object()}}), 400);                 // still nothing
  EXPECT_EQ(status_of({{"client_secret", "x"}, {"client_id", "y"}}), 400);  // unknown field
  EXPECT_NE(message_of({{"client_secret", "x"}, {"client_id", "y"}}).find("client_id: unknown field"),
            std::string::npos);
  EXPECT_EQ(status_of({{"client_secret", ""}}), 400);
  EXPECT_EQ(status_of({{"client_secret", nullptr}}), 400);
  EXPECT_EQ(status_of({{"client_secret", 42}}), 400);
  EXPECT_EQ(status_of({{"client_secret", "a\nb"}}), 400);
  EXPECT_EQ(status_of({{"client_secret", std::string(4097, 'x')}}), 400);
  EXPECT_EQ(status_of({{"options", "encoding_aes_key"}}), 400);
  EXPECT_EQ(status_of({{"options", {{"encoding_aes_key", 43}}}}), 400);
  EXPECT_EQ(status_of({{"options", {{"Bad Name", "x"}}}}), 400);
  EXPECT_EQ(status_of({{"options", {{"message_token", "a\u0001b"}}}}), 400);
}

TEST(AppSecretsRequest, ErrorsNeverQuoteTheSecret) {
  const std::string secret = "top-secret-value\x01";
  EXPECT_EQ(message_of({{"client_secret", secret}}).find("top-secret"), std::string::npos);
  EXPECT_EQ(message_of({{"options", {{"message_token", secret}}}}).find("top-secret"), std::string::npos);
}

TEST(AppSecretsApply, ANewEncodingAesKeyKeepsTheCurrentOneAsPrevious) {
  App a = component_app();
  auto changed = apply_app_secrets(a, app_secrets_change_from_request({{"options", {{"encoding_aes_key", kKeyB}}}}));
  EXPECT_EQ(a.secret_options["encoding_aes_key"], kKeyB);
  EXPECT_EQ(a.secret_options["previous_encoding_aes_key"], kKeyA);
  EXPECT_EQ(a.secret_options["message_token"], "tok123");
  EXPECT_EQ(a.client_secret, "old-secret");
  EXPECT_TRUE(has(changed, "options.encoding_aes_key"));
  EXPECT_TRUE(has(changed, "options.previous_encoding_aes_key"));
  EXPECT_FALSE(has(changed, "client_secret"));
  // Written to options too, where prepare_app takes secret options from.
  EXPECT_EQ(a.options["encoding_aes_key"], kKeyB);
  EXPECT_EQ(a.options["auth_type"], 3);
}

TEST(AppSecretsApply, APreviousKeyGivenOrTheSameKeyAgainIsNotOverwritten) {
  App a = component_app();
  apply_app_secrets(a, app_secrets_change_from_request(
                           {{"options", {{"encoding_aes_key", kKeyB}, {"previous_encoding_aes_key", kKeyC}}}}));
  EXPECT_EQ(a.secret_options["previous_encoding_aes_key"], kKeyC);

  a = component_app();
  auto changed = apply_app_secrets(a, app_secrets_change_from_request({{"options", {{"encoding_aes_key", kKeyA}}}}));
  EXPECT_FALSE(a.secret_options.contains("previous_encoding_aes_key"));
  EXPECT_TRUE(changed.empty());

  // A key given while a rotation is still open: the key in use now becomes the previous one.
  a = component_app();
  a.secret_options["previous_encoding_aes_key"] = kKeyC;
  apply_app_secrets(a, app_secrets_change_from_request({{"options", {{"encoding_aes_key", kKeyB}}}}));
  EXPECT_EQ(a.secret_options["previous_encoding_aes_key"], kKeyA);
}

TEST(AppSecretsApply, NullDropsThePreviousKey) {
  App a = component_app();
  a.secret_options["previous_encoding_aes_key"] = kKeyC;
  auto changed =
      apply_app_secrets(a, app_secrets_change_from_request({{"options", {{"previous_encoding_aes_key", nullptr}}}}));
  EXPECT_FALSE(a.secret_options.contains("previous_encoding_aes_key"));
  EXPECT_EQ(a.secret_options["encoding_aes_key"], kKeyA);
  EXPECT_EQ(changed, std::vector<std::string>{"options.previous_encoding_aes_key"});
  EXPECT_FALSE(a.options.contains("previous_encoding_aes_key"));
}

TEST(AppSecretsApply, NamesWhatChangedNeverTheValues) {
  App a = component_app();
  auto changed = apply_app_secrets(a, app_secrets_change_from_request({{"client_secret", "new-secret"}}));
  EXPECT_EQ(a.client_secret, "new-secret");
  EXPECT_EQ(changed, std::vector<std::string>{"client_secret"});
  changed = apply_app_secrets(a, app_secrets_change_from_request({{"client_secret", "new-secret"}}));
  EXPECT_TRUE(changed.empty());  // the same secret again changes nothing
}

}  // namespace
}  // namespace mediax
