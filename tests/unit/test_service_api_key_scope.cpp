// The scope of a reader API key (service/api_key_scope.hpp): --apps parsed and checked, and the one
// rule that says whether a key may use an app.
#include <gtest/gtest.h>

#include "service/api_key_scope.hpp"

namespace mediax {
namespace {

using Scope = std::vector<std::string>;

TEST(ApiKeyScope, ParsesNamesAndPatternsTrimmedWithoutDuplicates) {
  EXPECT_EQ(parse_app_scope("crm,shop-*"), (Scope{"crm", "shop-*"}));
  EXPECT_EQ(parse_app_scope(" crm , shop-* ,crm"), (Scope{"crm", "shop-*"}));
  EXPECT_EQ(parse_app_scope("*"), (Scope{"*"}));
  EXPECT_EQ(parse_app_scope("a_b-9,*-eu"), (Scope{"a_b-9", "*-eu"}));
}

TEST(ApiKeyScope, RefusesWhatIsNoAppNameOrPattern) {
  for (const char* bad :
       {"", ",", "crm,", ",crm", "crm,,shop", "CRM", "crm shop", "shop?", "-crm", "_x", "a/b", "crm;drop"}) {
    const auto r = parse_app_scope(bad);
    EXPECT_FALSE(r) << "'" << bad << "'";
  }
  EXPECT_EQ(parse_app_scope("crm,Shop").error(),
            "'Shop' may hold only a-z, 0-9, _, - and * (app names are lower case)");
  EXPECT_NE(parse_app_scope("crm,").error().find("an empty entry"), std::string::npos);
  EXPECT_FALSE(parse_app_scope(std::string(64, 'a')));
  std::string many;
  for (int i = 0; i < 101; ++i) many += (i ? "," : "") + std::string("app") + std::to_string(i);
  EXPECT_EQ(parse_app_scope(many).error(), "more than 100 entries");
}

TEST(ApiKeyScope, NoScopeMayUseEveryApp) {
  EXPECT_TRUE(key_may_use_app({}, "anything"));
  EXPECT_EQ(scope_text({}), "*");
}

TEST(ApiKeyScope, NamesMatchWholeAndStarsMatchAnyRun) {
  const Scope s{"crm", "shop-*"};
  EXPECT_TRUE(key_may_use_app(s, "crm"));
  EXPECT_TRUE(key_may_use_app(s, "shop-eu"));
  EXPECT_TRUE(key_may_use_app(s, "shop-")) << "* may be empty";
  EXPECT_FALSE(key_may_use_app(s, "crm2")) << "a name is matched whole";
  EXPECT_FALSE(key_may_use_app(s, "xcrm"));
  EXPECT_FALSE(key_may_use_app(s, "shop"));
  EXPECT_FALSE(key_may_use_app(s, "myshop-eu"));
  EXPECT_FALSE(key_may_use_app(s, ""));
  EXPECT_TRUE(key_may_use_app({"*"}, "x"));
  EXPECT_TRUE(key_may_use_app({"*-eu"}, "shop-eu"));
  EXPECT_FALSE(key_may_use_app({"*-eu"}, "shop-eu2"));
  EXPECT_TRUE(key_may_use_app({"a*b*c"}, "axxbyyc"));
  EXPECT_TRUE(key_may_use_app({"a*b*c"}, "abcbc"));
  EXPECT_FALSE(key_may_use_app({"a*b*c"}, "acb"));
  EXPECT_TRUE(key_may_use_app({"**"}, "x"));
  // Backtracking stays linear: a long name against many stars answers at once.
  EXPECT_FALSE(key_may_use_app({"*a*a*a*a*a*a*a*b"}, std::string(63, 'a')));
  EXPECT_EQ(scope_text(s), "crm,shop-*");
}

}  // namespace
}  // namespace mediax
