// util/: the one copy of the string helpers and of host:port (listen addresses, URL authorities).
#include <gtest/gtest.h>

#include "util/host_port.hpp"
#include "util/strings.hpp"

namespace mediax::util {
namespace {

TEST(UtilStrings, CaseInsensitiveOnlyForAscii) {
  EXPECT_EQ(to_lower("Bearer ABC-xyz"), "bearer abc-xyz");
  EXPECT_EQ(to_lower("\xC3\x89"), "\xC3\x89");  // É in UTF-8 stays as it is
  EXPECT_TRUE(iequals("Content-Length", "content-length"));
  EXPECT_FALSE(iequals("content-length", "content-lengths"));
  EXPECT_TRUE(istarts_with("BEARER key", "bearer "));
  EXPECT_FALSE(istarts_with("bear", "bearer "));
}

TEST(UtilStrings, TrimAndSplit) {
  EXPECT_EQ(trim("  a b \r\n"), "a b");
  EXPECT_EQ(trim(" \t\n"), "");
  EXPECT_EQ(trim("\tkeep-alive ", " \t"), "keep-alive");
  EXPECT_EQ(split("a, b,,c ", ", "), (std::vector<std::string>{"a", "b", "c"}));
  EXPECT_TRUE(split("", ",").empty());
}

// A log line can only be forged with a control character: none survives, and a backslash the
// sender wrote cannot pass for an escape made here.
TEST(UtilStrings, EscapeControlLeavesNoControlCharacter) {
  EXPECT_EQ(escape_control("/v1/apps\r\n2026-01-01T00:00:00.000Z info forged"),
            "/v1/apps\\r\\n2026-01-01T00:00:00.000Z info forged");
  EXPECT_EQ(escape_control(std::string("a\x1b[31mb\x7f" "\x00" "c\td", 12)), "a\\x1b[31mb\\x7f\\x00c\\td");
  EXPECT_EQ(escape_control("C:\\n"), "C:\\\\n");            // a literal backslash-n stays two visible bytes
  EXPECT_EQ(escape_control("caf\xC3\xA9 ok/\"q\""), "caf\xC3\xA9 ok/\"q\"");  // UTF-8 and printable ASCII unchanged
  std::string all;
  for (int c = 0; c < 256; ++c) all += static_cast<char>(c);
  for (const char c : escape_control(all)) {
    const auto u = static_cast<unsigned char>(c);
    EXPECT_TRUE(u >= 0x20 && u != 0x7f) << "control byte " << int(u) << " left";
  }
}

// What PostgreSQL refuses as text becomes U+FFFD, byte by byte; valid UTF-8 is kept as it is.
TEST(UtilStrings, ValidUtf8ReplacesWhatIsNotText) {
  const std::string r = "\xEF\xBF\xBD";
  EXPECT_EQ(valid_utf8("shop caf\xC3\xA9 \xE4\xB8\xAD \xF0\x9F\x98\x80"), "shop caf\xC3\xA9 \xE4\xB8\xAD \xF0\x9F\x98\x80");
  EXPECT_EQ(valid_utf8("\xFF\xFE"), r + r);
  EXPECT_EQ(valid_utf8("\xC3\x28"), r + "(");                        // a lead byte without its continuation
  EXPECT_EQ(valid_utf8(std::string("a\0b", 3)), "a" + r + "b");      // NUL: no text column takes it
  EXPECT_EQ(valid_utf8("\xC0\xAF"), r + r);                          // an overlong '/'
  EXPECT_EQ(valid_utf8("\xED\xA0\x80"), r + r + r);                  // a UTF-16 surrogate
  EXPECT_EQ(valid_utf8("\xF4\x90\x80\x80"), r + r + r + r);          // past U+10FFFF
  EXPECT_EQ(valid_utf8("ab\xE4\xB8"), "ab" + r + r);                 // cut short at the end
  std::string all;
  for (int c = 0; c < 256; ++c) all += static_cast<char>(c);
  const std::string cleaned = valid_utf8(all);
  EXPECT_EQ(valid_utf8(cleaned), cleaned);  // the result is valid: a second pass changes nothing
  EXPECT_EQ(cleaned.find('\0'), std::string::npos);
}

TEST(UtilHostPort, ParsesNamesIpv4AndBracketedIpv6) {
  auto a = parse_host_port("127.0.0.1:8080");
  ASSERT_TRUE(a);
  EXPECT_EQ(a->host, "127.0.0.1");
  EXPECT_EQ(a->port, 8080);
  a = parse_host_port("[::1]:0");
  ASSERT_TRUE(a);
  EXPECT_EQ(a->host, "::1");
  EXPECT_EQ(a->port, 0);
  a = parse_host_port("example.com");
  ASSERT_TRUE(a);
  EXPECT_EQ(a->host, "example.com");
  EXPECT_FALSE(a->port);
}

TEST(UtilHostPort, RefusesWhatNoListenerCouldBind) {
  for (const char* bad : {"", ":8080", "host:", "host:65536", "host:-1", "host:+1", "host:123456", "[::1", "[]:80",
                          "[::1]x", "[::1]:", "ho st:80", "user@host:80", "[fe80::g]:80"}) {
    EXPECT_FALSE(parse_host_port(bad)) << bad;
  }
}

TEST(UtilHostPort, FormatsWhatItParses) {
  EXPECT_EQ(format_host_port("127.0.0.1", 8080), "127.0.0.1:8080");
  EXPECT_EQ(format_host_port("::1", 43210), "[::1]:43210");
  for (const char* text : {"localhost:1", "[::1]:8080", "10.0.0.1:65535"}) {
    const auto a = parse_host_port(text);
    ASSERT_TRUE(a && a->port) << text;
    EXPECT_EQ(format_host_port(a->host, *a->port), text);
  }
}

}  // namespace
}  // namespace mediax::util
