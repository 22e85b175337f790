#include "sip/nonce.h"

#include <gtest/gtest.h>

namespace parley::sip {
namespace {

using std::chrono::seconds;

const TimePoint kT0 = TimePoint{} + std::chrono::hours(1000);

TEST(Nonce, FreshNonceIsValidUntilItsLifetime) {
  NonceIssuer issuer("0123456789abcdef", "parley", seconds(300));
  const std::string n = issuer.issue(kT0, 42);
  EXPECT_EQ(n.size(), 64u);
  EXPECT_EQ(issuer.check(n, kT0), NonceCheck::Valid);
  EXPECT_EQ(issuer.check(n, kT0 + seconds(300)), NonceCheck::Valid);
  EXPECT_EQ(issuer.check(n, kT0 + seconds(301)), NonceCheck::Stale);
}

TEST(Nonce, SaltMakesNoncesOfTheSameSecondDiffer) {
  NonceIssuer issuer("0123456789abcdef", "parley", seconds(300));
  EXPECT_NE(issuer.issue(kT0, 1), issuer.issue(kT0, 2));
}

TEST(Nonce, ForeignTamperedOrFutureNoncesAreInvalid) {
  NonceIssuer issuer("0123456789abcdef", "parley", seconds(300));
  NonceIssuer other_secret("fedcba9876543210", "parley", seconds(300));
  NonceIssuer other_realm("0123456789abcdef", "other", seconds(300));
  const std::string n = issuer.issue(kT0, 7);
  EXPECT_EQ(other_secret.check(n, kT0), NonceCheck::Invalid);
  EXPECT_EQ(other_realm.check(n, kT0), NonceCheck::Invalid);

  std::string tampered = n;
  tampered[15] = tampered[15] == '0' ? '1' : '0';  // move the timestamp
  EXPECT_EQ(issuer.check(tampered, kT0), NonceCheck::Invalid);

  EXPECT_EQ(issuer.check(issuer.issue(kT0 + seconds(60), 7), kT0), NonceCheck::Invalid);
  for (std::string_view bad : {std::string_view(""), std::string_view("abc"),
                               std::string_view("zz"), std::string_view(n).substr(0, 63)}) {
    EXPECT_EQ(issuer.check(bad, kT0), NonceCheck::Invalid) << bad;
  }
  EXPECT_EQ(issuer.check(std::string(64, 'g'), kT0), NonceCheck::Invalid);
}

}  // namespace
}  // namespace parley::sip
