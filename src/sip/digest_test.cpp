#include "sip/digest.h"

#include <gtest/gtest.h>

namespace parley::sip {
namespace {

// RFC 2617 §3.5: the worked example (method GET).
constexpr std::string_view kRfc2617Authorization =
    "Digest username=\"Mufasa\", realm=\"testrealm@host.com\", "
    "nonce=\"dcd98b7102dd2f0e8b11d0f600bfb0c093\", uri=\"/dir/index.html\", qop=auth, "
    "nc=00000001, cnonce=\"0a4f113b\", response=\"6629fae49393a05397450978507c4ef1\", "
    "opaque=\"5ccc069c403ebaf9f0171e9517f40e41\"";

TEST(Digest, Ha1MatchesRfc2617Example) {
  // python3 -c 'import hashlib; print(hashlib.md5(b"Mufasa:testrealm@host.com:Circle Of
  // Life").hexdigest())'
  EXPECT_EQ(toHex(computeHa1("Mufasa", "testrealm@host.com", "Circle Of Life")),
            "939e7578ed9e3c518a452acee763bce9");
  EXPECT_EQ(toHex(computeHa1("1001", "parley", "demo1001")), "7fc8ea7784e25deea3936443003f33b5");
}

TEST(Digest, ParsesRfc2617Authorization) {
  const auto c = parseAuthorization(kRfc2617Authorization);
  ASSERT_TRUE(c);
  EXPECT_EQ(c->username, "Mufasa");
  EXPECT_EQ(c->realm, "testrealm@host.com");
  EXPECT_EQ(c->nonce, "dcd98b7102dd2f0e8b11d0f600bfb0c093");
  EXPECT_EQ(c->uri, "/dir/index.html");
  EXPECT_EQ(c->qop, "auth");
  EXPECT_EQ(c->nc, "00000001");
  EXPECT_EQ(c->cnonce, "0a4f113b");
  EXPECT_EQ(c->response, "6629fae49393a05397450978507c4ef1");
  EXPECT_EQ(c->algorithm, "");
}

TEST(Digest, VerifiesRfc2617ExampleAndRejectsWrongPassword) {
  const auto c = parseAuthorization(kRfc2617Authorization);
  ASSERT_TRUE(c);
  EXPECT_TRUE(
      verifyDigest(*c, "GET", computeHa1("Mufasa", "testrealm@host.com", "Circle Of Life")));
  EXPECT_FALSE(
      verifyDigest(*c, "GET", computeHa1("Mufasa", "testrealm@host.com", "circle of life")));
  EXPECT_FALSE(
      verifyDigest(*c, "POST", computeHa1("Mufasa", "testrealm@host.com", "Circle Of Life")));
  EXPECT_EQ(computeDigestResponse(*c, "GET",
                                  computeHa1("Mufasa", "testrealm@host.com", "Circle Of Life")),
            "6629fae49393a05397450978507c4ef1");
}

TEST(Digest, VerifiesSipRegisterWithAndWithoutQop) {
  // Values computed independently with python3 hashlib:
  //   HA1 = md5("1001:parley:demo1001"), HA2 = md5("REGISTER:sip:127.0.0.1")
  //   qop:    md5(HA1:nonce123:00000001:abcdef:auth:HA2) = 1d7c1dbb5fc3f7c225bbc0a51eef72c9
  //   no qop: md5(HA1:nonce123:HA2)                      = dea7b73b923d199e2faa34bbb624c2b9
  const Ha1 ha1 = computeHa1("1001", "parley", "demo1001");
  auto with_qop = parseAuthorization(
      "Digest username=\"1001\",realm=\"parley\",nonce=\"nonce123\",uri=\"sip:127.0.0.1\","
      "response=\"1d7c1dbb5fc3f7c225bbc0a51eef72c9\",algorithm=MD5,cnonce=\"abcdef\",qop=auth,"
      "nc=00000001");
  ASSERT_TRUE(with_qop);
  EXPECT_EQ(with_qop->algorithm, "MD5");
  EXPECT_TRUE(verifyDigest(*with_qop, "REGISTER", ha1));
  auto without = parseAuthorization(
      "Digest username=\"1001\", realm=\"parley\", nonce=\"nonce123\", uri=\"sip:127.0.0.1\", "
      "response=\"dea7b73b923d199e2faa34bbb624c2b9\"");
  ASSERT_TRUE(without);
  EXPECT_TRUE(verifyDigest(*without, "REGISTER", ha1));
}

TEST(Digest, ParsesHa1HexStrictly) {
  EXPECT_TRUE(parseHa1Hex("7FC8EA7784E25DEEA3936443003F33B5"));
  EXPECT_FALSE(parseHa1Hex("7fc8ea7784e25deea3936443003f33b"));
  EXPECT_FALSE(parseHa1Hex("7fc8ea7784e25deea3936443003f33bz"));
  EXPECT_FALSE(parseHa1Hex(""));
}

TEST(Digest, RejectsMalformedAuthorizationWithoutCrashing) {
  for (std::string_view bad :
       {"", "Basic dXNlcjpwYXNz", "Digest", "Digest ,,,,", "Digest username=", "Digest \"\"\"",
        "Digest username=\"a\", realm=\"b\"", "Digest username=\"unterminated",
        "\x01\x02\xff Digest response=\"x\""}) {
    EXPECT_FALSE(parseAuthorization(bad)) << bad;
  }
  EXPECT_FALSE(parseAuthorization(std::string(10000, 'a')));
  // A short response never verifies.
  auto c = parseAuthorization(
      "Digest username=\"1001\", realm=\"parley\", nonce=\"n\", uri=\"sip:x\", response=\"abc\"");
  ASSERT_TRUE(c);
  EXPECT_FALSE(verifyDigest(*c, "REGISTER", computeHa1("1001", "parley", "demo1001")));
}

}  // namespace
}  // namespace parley::sip
