#include <gtest/gtest.h>

#include "net/http_client.hpp"
#include "util/url.hpp"

using namespace mediax;

TEST(UrlEncode, KeepsUnreservedAndEscapesEverythingElse) {
  EXPECT_EQ(url_encode("AZaz09-._~"), "AZaz09-._~");
  EXPECT_EQ(url_encode("a b+c&d=e/f?g#h%"), "a%20b%2Bc%26d%3De%2Ff%3Fg%23h%25");
  EXPECT_EQ(url_encode("\xe4\xb8\xad"), "%E4%B8%AD");
  EXPECT_EQ(url_encode(std::string("\0", 1)), "%00");
  EXPECT_EQ(url_encode(""), "");
}

TEST(FormEncode, JoinsEncodedPairsInOrder) {
  EXPECT_EQ(form_encode({{"grant_type", "refresh_token"}, {"refresh_token", "a/b+c=="}, {"scope", "x y"}}),
            "grant_type=refresh_token&refresh_token=a%2Fb%2Bc%3D%3D&scope=x%20y");
  EXPECT_EQ(form_encode({}), "");
  EXPECT_EQ(form_encode({{"empty", ""}}), "empty=");
}

TEST(ParseQuery, DecodesPlusAndPercentEscapes) {
  auto q = parse_query("code=abc%2Fdef&state=s+t&x=%E4%B8%AD");
  ASSERT_EQ(q.size(), 3u);
  EXPECT_EQ(q[0], (std::pair<std::string, std::string>{"code", "abc/def"}));
  EXPECT_EQ(q[1], (std::pair<std::string, std::string>{"state", "s t"}));
  EXPECT_EQ(q[2].second, "\xe4\xb8\xad");
}

TEST(ParseQuery, ToleratesLeadingQuestionMarkEmptyPartsAndBrokenEscapes) {
  auto q = parse_query("?a=1&&b&c=%zz&d=%4");
  ASSERT_EQ(q.size(), 4u);
  EXPECT_EQ(q[0].first, "a");
  EXPECT_EQ(q[1], (std::pair<std::string, std::string>{"b", ""}));
  EXPECT_EQ(q[2].second, "%zz");
  EXPECT_EQ(q[3].second, "%4");
  EXPECT_TRUE(parse_query("").empty());
}

TEST(ParseQuery, RoundTripsFormEncode) {
  std::vector<std::pair<std::string, std::string>> fields{{"k 1", "v&=+/?%"}, {"", "x"}, {"z", ""}};
  EXPECT_EQ(parse_query(form_encode(fields)), fields);
}

TEST(RedactUrl, DropsQueryFragmentAndUserinfo) {
  EXPECT_EQ(redact_url("https://api.weixin.qq.com/cgi-bin/token?appid=a&secret=s3cr3t"),
            "https://api.weixin.qq.com/cgi-bin/token");
  EXPECT_EQ(redact_url("https://user:pass@host:8443/p#frag"), "https://host:8443/p");
  EXPECT_EQ(redact_url("https://user:pass@host"), "https://host");
  EXPECT_EQ(redact_url("https://host/a@b"), "https://host/a@b");
  EXPECT_EQ(redact_url("http://host/x"), "http://host/x");
}

TEST(ParseUrl, SplitsSchemeHostPortAndTarget) {
  auto u = parse_url("https://example.com/oauth/token?x=1#frag");
  ASSERT_TRUE(u.has_value());
  EXPECT_EQ(u->scheme, "https");
  EXPECT_EQ(u->host, "example.com");
  EXPECT_EQ(u->port, 443);
  EXPECT_EQ(u->target, "/oauth/token?x=1");

  u = parse_url("HTTP://127.0.0.1:8080");
  ASSERT_TRUE(u.has_value());
  EXPECT_EQ(u->scheme, "http");
  EXPECT_EQ(u->port, 8080);
  EXPECT_EQ(u->target, "/");

  u = parse_url("http://[::1]:9000?a=b");
  ASSERT_TRUE(u.has_value());
  EXPECT_EQ(u->host, "::1");
  EXPECT_EQ(u->port, 9000);
  EXPECT_EQ(u->target, "/?a=b");
}

TEST(ParseUrl, RejectsWhatCannotBeSent) {
  for (const char* bad : {"", "example.com/token", "ftp://example.com/", "https://", "https:///path", "https://host:0/",
                          "https://host:65536/", "https://host:12ab/", "https://host:/", "https://user:pw@host/",
                          "https://ho st/", "https://host/a b", "http://[::1/", "http://[]/"}) {
    EXPECT_FALSE(parse_url(bad).has_value()) << bad;
  }
}

TEST(ClientResponse, FindsHeadersCaseInsensitively) {
  ClientResponse r;
  r.headers = {{"Content-Type", "application/json"}, {"retry-after", "30"}};
  EXPECT_EQ(r.header("content-type"), "application/json");
  EXPECT_EQ(r.header("Retry-After"), "30");
  EXPECT_EQ(r.header("X-Missing"), "");
}

TEST(HttpClient, InvalidUrlFailsWithoutThrowing) {
  auto client = make_http_client({});
  ClientRequest req;
  req.url = "not a url";
  auto r = client->send(req);
  EXPECT_EQ(r.status, 0);
  EXPECT_EQ(r.error, "bad_url");
}
