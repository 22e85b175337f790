#include "sip/registrar.h"

#include <gtest/gtest.h>

#include <random>

namespace parley::sip {
namespace {

using std::chrono::seconds;

const TimePoint kT0 = TimePoint{} + std::chrono::hours(1000);

RegistrarConfig demoConfig() {
  RegistrarConfig c;
  c.realm = "parley";
  c.users = {{.name = "1001", .password = "demo1001"},
             // HA1 of 1002:parley:demo1002, as a config file would give it:
             // python3 -c 'import hashlib; print(hashlib.md5(b"1002:parley:demo1002").hexdigest())'
             {.name = "1002", .ha1 = "7da8cd80b14ae00b97c5e51d74e7123f"}};
  c.default_expires = seconds(3600);
  c.min_expires = seconds(60);
  c.max_expires = seconds(7200);
  c.nonce_lifetime = seconds(300);
  c.max_contacts_per_aor = 3;
  c.rate_limit = {.max_failures = 3, .window = seconds(60), .lockout = seconds(300)};
  return c;
}

Registrar makeRegistrar(RegistrarConfig c = demoConfig()) {
  return Registrar(std::move(c), "test-secret-0123456789",
                   [rng = std::mt19937_64(7)]() mutable { return rng(); });
}

std::string param(std::string_view header, std::string_view name) {
  const std::string key = std::string(name) + "=\"";
  const auto at = header.find(key);
  if (at == std::string_view::npos) return {};
  const auto start = at + key.size();
  return std::string(header.substr(start, header.find('"', start) - start));
}

// A phone: builds REGISTERs and answers challenges like a SIP user agent would.
struct Phone {
  std::string user = "1001";
  std::string password = "demo1001";
  std::string source = "127.0.0.1";
  std::string call_id = "call-1";
  std::uint32_t cseq = 0;
  std::uint32_t nc = 0;

  RegisterRequest request(std::vector<ContactSpec> contacts,
                          std::optional<std::uint32_t> expires = std::nullopt) {
    RegisterRequest r;
    r.source = source;
    r.received = source + ":5070";
    r.transport = "udp";
    r.request_uri = "sip:127.0.0.1";
    r.aor = user;
    r.contacts = std::move(contacts);
    r.expires = expires;
    r.call_id = call_id;
    r.cseq = ++cseq;
    return r;
  }

  void answer(RegisterRequest& r, const std::string& www_authenticate) {
    DigestCredentials c;
    c.username = user;
    c.realm = param(www_authenticate, "realm");
    c.nonce = param(www_authenticate, "nonce");
    c.uri = r.request_uri;
    c.qop = "auth";
    char nc_hex[9];
    std::snprintf(nc_hex, sizeof nc_hex, "%08x", ++nc);
    c.nc = nc_hex;
    c.cnonce = "c0ffee" + std::to_string(nc);
    c.response = computeDigestResponse(c, "REGISTER", computeHa1(user, c.realm, password));
    r.authorizations = {"Digest username=\"" + c.username + "\", realm=\"" + c.realm +
                        "\", nonce=\"" + c.nonce + "\", uri=\"" + c.uri + "\", response=\"" +
                        c.response + "\", algorithm=MD5, cnonce=\"" + c.cnonce +
                        "\", qop=auth, nc=" + c.nc};
  }

  // REGISTER, get challenged, answer: the usual two legs. Returns the second answer.
  RegisterResult registerWith(Registrar& reg, std::vector<ContactSpec> contacts, TimePoint now,
                              std::optional<std::uint32_t> expires = std::nullopt) {
    RegisterRequest first = request(contacts, expires);
    RegisterResult challenge = reg.handleRegister(first, now);
    EXPECT_EQ(challenge.status, 401);
    RegisterRequest second = request(contacts, expires);
    answer(second, challenge.www_authenticate);
    return reg.handleRegister(second, now);
  }
};

ContactSpec contact(std::string uri, std::optional<std::uint32_t> expires = std::nullopt) {
  return {std::move(uri), expires};
}

TEST(Registrar, ValidatesConfiguration) {
  EXPECT_FALSE(validate(demoConfig()));
  auto c = demoConfig();
  c.users.push_back({.name = "1001", .password = "x"});
  EXPECT_NE(validate(c)->find("duplicate"), std::string::npos);
  c = demoConfig();
  c.users[1].ha1 = "not-hex";
  EXPECT_NE(validate(c)->find("users[1].ha1"), std::string::npos);
  c = demoConfig();
  c.users[0].password.clear();
  EXPECT_NE(validate(c)->find("users[0]"), std::string::npos);
  c = demoConfig();
  c.realm = "a\"b";
  EXPECT_NE(validate(c)->find("realm"), std::string::npos);
  c = demoConfig();
  c.default_expires = seconds(10);
  EXPECT_NE(validate(c)->find("default_expires"), std::string::npos);
}

TEST(Registrar, ChallengesThenAcceptsTheRightPassword) {
  Registrar reg = makeRegistrar();
  Phone phone;
  RegisterRequest first = phone.request({contact("sip:1001@127.0.0.1:5070")});
  RegisterResult challenge = reg.handleRegister(first, kT0);
  EXPECT_EQ(challenge.outcome, RegisterOutcome::Challenge);
  EXPECT_EQ(challenge.status, 401);
  EXPECT_NE(challenge.www_authenticate.find("Digest realm=\"parley\""), std::string::npos);
  EXPECT_NE(challenge.www_authenticate.find("qop=\"auth\""), std::string::npos);
  EXPECT_NE(challenge.www_authenticate.find("algorithm=MD5"), std::string::npos);
  EXPECT_EQ(challenge.www_authenticate.find("stale"), std::string::npos);
  EXPECT_TRUE(challenge.log.empty());  // a first challenge is not worth a log line

  RegisterRequest second = phone.request({contact("sip:1001@127.0.0.1:5070")});
  phone.answer(second, challenge.www_authenticate);
  RegisterResult ok = reg.handleRegister(second, kT0);
  EXPECT_EQ(ok.outcome, RegisterOutcome::Registered);
  EXPECT_EQ(ok.status, 200);
  ASSERT_EQ(ok.bindings.size(), 1u);
  EXPECT_EQ(ok.bindings[0].contact, "sip:1001@127.0.0.1:5070");
  EXPECT_EQ(ok.bindings[0].expires_at, kT0 + seconds(3600));
  EXPECT_EQ(ok.bindings[0].received, "127.0.0.1:5070");
  ASSERT_EQ(ok.events.size(), 1u);
  EXPECT_EQ(ok.events[0].aor, "1001");
  EXPECT_TRUE(ok.events[0].available);
}

TEST(Registrar, AcceptsAUserConfiguredWithHa1) {
  Registrar reg = makeRegistrar();
  Phone phone{.user = "1002", .password = "demo1002"};
  EXPECT_EQ(phone.registerWith(reg, {contact("sip:1002@127.0.0.1:5072")}, kT0).status, 200);
}

TEST(Registrar, WrongPasswordIsForbiddenAndLogged) {
  Registrar reg = makeRegistrar();
  Phone phone{.password = "guess"};
  RegisterResult r = phone.registerWith(reg, {contact("sip:1001@127.0.0.1:5070")}, kT0);
  EXPECT_EQ(r.outcome, RegisterOutcome::Forbidden);
  EXPECT_EQ(r.status, 403);
  EXPECT_NE(r.log.find("wrong password"), std::string::npos) << r.log;
  EXPECT_TRUE(reg.lookup("1001", kT0).empty());
}

TEST(Registrar, UnknownUserIsChallengedThenForbidden) {
  Registrar reg = makeRegistrar();
  Phone phone{.user = "9999", .password = "x"};
  RegisterResult r = phone.registerWith(reg, {contact("sip:9999@127.0.0.1:5070")}, kT0);
  EXPECT_EQ(r.status, 403);
  EXPECT_NE(r.log.find("unknown user"), std::string::npos) << r.log;
}

TEST(Registrar, UserMayNotRegisterSomeoneElsesAor) {
  Registrar reg = makeRegistrar();
  Phone phone;
  RegisterRequest first = phone.request({contact("sip:x@127.0.0.1")});
  first.aor = "1002";
  RegisterResult challenge = reg.handleRegister(first, kT0);
  RegisterRequest second = phone.request({contact("sip:x@127.0.0.1")});
  second.aor = "1002";
  phone.answer(second, challenge.www_authenticate);
  RegisterResult r = reg.handleRegister(second, kT0);
  EXPECT_EQ(r.status, 403);
  EXPECT_NE(r.log.find("another AOR"), std::string::npos) << r.log;
}

TEST(Registrar, StaleNonceWithRightPasswordGetsStaleChallenge) {
  Registrar reg = makeRegistrar();
  Phone phone;
  RegisterResult challenge = reg.handleRegister(phone.request({}), kT0);
  RegisterRequest late = phone.request({contact("sip:1001@127.0.0.1:5070")});
  phone.answer(late, challenge.www_authenticate);
  RegisterResult r = reg.handleRegister(late, kT0 + seconds(301));
  EXPECT_EQ(r.status, 401);
  EXPECT_NE(r.www_authenticate.find("stale=true"), std::string::npos);
  EXPECT_NE(param(r.www_authenticate, "nonce"), param(challenge.www_authenticate, "nonce"));
  // The fresh nonce works.
  RegisterRequest retry = phone.request({contact("sip:1001@127.0.0.1:5070")});
  phone.answer(retry, r.www_authenticate);
  EXPECT_EQ(reg.handleRegister(retry, kT0 + seconds(301)).status, 200);
}

TEST(Registrar, StaleNonceWithWrongPasswordIsForbidden) {
  Registrar reg = makeRegistrar();
  Phone phone{.password = "guess"};
  RegisterResult challenge = reg.handleRegister(phone.request({}), kT0);
  RegisterRequest late = phone.request({});
  phone.answer(late, challenge.www_authenticate);
  EXPECT_EQ(reg.handleRegister(late, kT0 + seconds(301)).status, 403);
}

TEST(Registrar, ForgedNonceIsChallengedAgainWithoutCountingAFailure) {
  Registrar reg = makeRegistrar();
  Phone phone;
  for (int i = 0; i < 10; ++i) {
    RegisterRequest r = phone.request({contact("sip:1001@127.0.0.1:5070")});
    phone.answer(r, "Digest realm=\"parley\", nonce=\"" + std::string(64, 'a') + "\"");
    EXPECT_EQ(reg.handleRegister(r, kT0).status, 401);
  }
  EXPECT_EQ(phone.registerWith(reg, {contact("sip:1001@127.0.0.1:5070")}, kT0).status, 200);
}

TEST(Registrar, ReplayedNonceCountIsChallenged) {
  Registrar reg = makeRegistrar();
  Phone phone;
  RegisterResult challenge = reg.handleRegister(phone.request({}), kT0);
  RegisterRequest r = phone.request({contact("sip:1001@127.0.0.1:5070")});
  phone.answer(r, challenge.www_authenticate);
  EXPECT_EQ(reg.handleRegister(r, kT0).status, 200);
  RegisterRequest replay = r;
  replay.cseq = 99;
  EXPECT_EQ(reg.handleRegister(replay, kT0 + seconds(1)).status, 401);
  // The same nonce with the next count is fine (RFC 2617 §3.2.2 preemptive reuse).
  RegisterRequest next = phone.request({contact("sip:1001@127.0.0.1:5070")});
  phone.answer(next, challenge.www_authenticate);
  EXPECT_EQ(reg.handleRegister(next, kT0 + seconds(2)).status, 200);
}

TEST(Registrar, DigestUriMustMatchRequestUri) {
  Registrar reg = makeRegistrar();
  Phone phone;
  RegisterResult challenge = reg.handleRegister(phone.request({}), kT0);
  RegisterRequest r = phone.request({});
  phone.answer(r, challenge.www_authenticate);
  r.request_uri = "sip:other.example";
  EXPECT_EQ(reg.handleRegister(r, kT0).status, 400);
}

TEST(Registrar, ExpiresHeaderContactParamAndLimits) {
  Registrar reg = makeRegistrar();
  Phone phone;
  RegisterResult r = phone.registerWith(
      reg, {contact("sip:a@h", 120), contact("sip:b@h"), contact("sip:c@h", 100000)}, kT0, 600);
  ASSERT_EQ(r.status, 200);
  ASSERT_EQ(r.bindings.size(), 3u);
  EXPECT_EQ(r.bindings[0].expires_at, kT0 + seconds(120));   // contact param wins
  EXPECT_EQ(r.bindings[1].expires_at, kT0 + seconds(600));   // Expires header
  EXPECT_EQ(r.bindings[2].expires_at, kT0 + seconds(7200));  // capped at max_expires

  RegisterResult brief = phone.registerWith(reg, {contact("sip:d@h", 30)}, kT0);
  EXPECT_EQ(brief.outcome, RegisterOutcome::IntervalTooBrief);
  EXPECT_EQ(brief.status, 423);
  EXPECT_EQ(brief.min_expires, seconds(60));
  EXPECT_EQ(reg.lookup("1001", kT0).size(), 3u);  // the refused request changed nothing
}

TEST(Registrar, BindingsExpireAndEmitUnavailable) {
  Registrar reg = makeRegistrar();
  Phone phone;
  ASSERT_EQ(phone.registerWith(reg, {contact("sip:a@h", 120), contact("sip:b@h", 300)}, kT0).status,
            200);
  EXPECT_EQ(reg.nextExpiry(), kT0 + seconds(120));
  EXPECT_TRUE(reg.expire(kT0 + seconds(119)).empty());
  EXPECT_TRUE(reg.expire(kT0 + seconds(120)).empty());  // one contact left: still available
  ASSERT_EQ(reg.lookup("1001", kT0 + seconds(120)).size(), 1u);
  EXPECT_EQ(reg.lookup("1001", kT0 + seconds(120))[0].contact, "sip:b@h");
  EXPECT_EQ(reg.nextExpiry(), kT0 + seconds(300));
  // lookup() hides a binding past its time even before expire() runs.
  EXPECT_TRUE(reg.lookup("1001", kT0 + seconds(300)).empty());
  const auto events = reg.expire(kT0 + seconds(300));
  ASSERT_EQ(events.size(), 1u);
  EXPECT_EQ(events[0].aor, "1001");
  EXPECT_FALSE(events[0].available);
  EXPECT_FALSE(reg.nextExpiry());
}

TEST(Registrar, SeveralContactsAndRefreshKeepAvailabilityUnchanged) {
  Registrar reg = makeRegistrar();
  Phone desk{.call_id = "desk"};
  Phone soft{.call_id = "soft"};
  RegisterResult a = desk.registerWith(reg, {contact("sip:1001@10.0.0.5:5060")}, kT0);
  ASSERT_EQ(a.events.size(), 1u);
  RegisterResult b = soft.registerWith(reg, {contact("sip:1001@10.0.0.6:5060")}, kT0 + seconds(5));
  EXPECT_TRUE(b.events.empty());
  EXPECT_EQ(b.bindings.size(), 2u);
  // Refresh of the first: still two bindings, new expiry.
  RegisterResult c = desk.registerWith(reg, {contact("sip:1001@10.0.0.5:5060")}, kT0 + seconds(10));
  EXPECT_TRUE(c.events.empty());
  ASSERT_EQ(c.bindings.size(), 2u);
  EXPECT_EQ(c.bindings[0].expires_at, kT0 + seconds(3610));
  // A query (no Contact) lists them without changing anything.
  RegisterResult q = desk.registerWith(reg, {}, kT0 + seconds(11));
  EXPECT_EQ(q.status, 200);
  EXPECT_EQ(q.bindings.size(), 2u);
}

TEST(Registrar, ExpiresZeroRemovesOneContact) {
  Registrar reg = makeRegistrar();
  Phone phone;
  ASSERT_EQ(phone.registerWith(reg, {contact("sip:a@h"), contact("sip:b@h")}, kT0).status, 200);
  RegisterResult r = phone.registerWith(reg, {contact("sip:a@h")}, kT0 + seconds(1), 0);
  EXPECT_EQ(r.status, 200);
  ASSERT_EQ(r.bindings.size(), 1u);
  EXPECT_EQ(r.bindings[0].contact, "sip:b@h");
  EXPECT_TRUE(r.events.empty());
  RegisterResult last = phone.registerWith(reg, {contact("sip:b@h", 0)}, kT0 + seconds(2));
  EXPECT_TRUE(last.bindings.empty());
  ASSERT_EQ(last.events.size(), 1u);
  EXPECT_FALSE(last.events[0].available);
  EXPECT_FALSE(reg.nextExpiry());
}

TEST(Registrar, WildcardRemovesAllAndNeedsExpiresZero) {
  Registrar reg = makeRegistrar();
  Phone phone;
  ASSERT_EQ(phone.registerWith(reg, {contact("sip:a@h"), contact("sip:b@h")}, kT0).status, 200);

  RegisterRequest bad = phone.request({}, 60);
  bad.wildcard = true;
  RegisterResult challenge = reg.handleRegister(bad, kT0);
  RegisterRequest bad2 = phone.request({}, 60);
  bad2.wildcard = true;
  phone.answer(bad2, challenge.www_authenticate);
  EXPECT_EQ(reg.handleRegister(bad2, kT0).status, 400);

  RegisterRequest all = phone.request({}, 0);
  all.wildcard = true;
  phone.answer(all, challenge.www_authenticate);
  RegisterResult r = reg.handleRegister(all, kT0 + seconds(1));
  EXPECT_EQ(r.status, 200);
  EXPECT_TRUE(r.bindings.empty());
  ASSERT_EQ(r.events.size(), 1u);
  EXPECT_FALSE(r.events[0].available);
  EXPECT_TRUE(reg.lookup("1001", kT0 + seconds(1)).empty());
}

TEST(Registrar, OutOfOrderCSeqForTheSameCallIdIsRefused) {
  Registrar reg = makeRegistrar();
  Phone phone;
  ASSERT_EQ(phone.registerWith(reg, {contact("sip:a@h")}, kT0).status, 200);
  RegisterResult challenge = reg.handleRegister(phone.request({}), kT0);
  RegisterRequest old = phone.request({contact("sip:a@h", 0)});
  old.cseq = 1;  // older than the binding's CSeq 2
  phone.answer(old, challenge.www_authenticate);
  RegisterResult r = reg.handleRegister(old, kT0);
  EXPECT_EQ(r.outcome, RegisterOutcome::OutOfOrder);
  EXPECT_EQ(r.status, 500);
  EXPECT_EQ(reg.lookup("1001", kT0).size(), 1u);
}

TEST(Registrar, TooManyContactsIsRefused) {
  Registrar reg = makeRegistrar();  // max 3 per AOR
  Phone phone;
  ASSERT_EQ(
      phone.registerWith(reg, {contact("sip:a@h"), contact("sip:b@h"), contact("sip:c@h")}, kT0)
          .status,
      200);
  RegisterResult r = phone.registerWith(reg, {contact("sip:d@h")}, kT0);
  EXPECT_EQ(r.outcome, RegisterOutcome::TooManyContacts);
  // Replacing one in the same request is fine.
  EXPECT_EQ(phone.registerWith(reg, {contact("sip:a@h", 0), contact("sip:d@h")}, kT0).status, 200);
}

TEST(Registrar, RepeatedFailuresFromOneSourceAreRateLimited) {
  Registrar reg = makeRegistrar();  // 3 failures in 60 s lock out for 300 s
  Phone attacker{.password = "guess", .source = "192.0.2.7"};
  EXPECT_EQ(attacker.registerWith(reg, {}, kT0).status, 403);
  EXPECT_EQ(attacker.registerWith(reg, {}, kT0 + seconds(1)).status, 403);
  RegisterResult third = attacker.registerWith(reg, {}, kT0 + seconds(2));
  EXPECT_EQ(third.outcome, RegisterOutcome::Forbidden);
  EXPECT_NE(third.log.find("locked out for 300 s"), std::string::npos) << third.log;

  // Locked out: even the right password from that source is refused, without a challenge.
  Phone same_source{.source = "192.0.2.7"};
  RegisterResult blocked = reg.handleRegister(same_source.request({}), kT0 + seconds(3));
  EXPECT_EQ(blocked.outcome, RegisterOutcome::RateLimited);
  EXPECT_EQ(blocked.status, 403);
  EXPECT_FALSE(blocked.log.empty());

  // Other sources are served.
  Phone other{.source = "192.0.2.8"};
  EXPECT_EQ(other.registerWith(reg, {contact("sip:1001@192.0.2.8")}, kT0 + seconds(3)).status, 200);

  // After the lockout the source may try again.
  EXPECT_EQ(
      same_source.registerWith(reg, {contact("sip:1001@192.0.2.7")}, kT0 + seconds(302)).status,
      200);
}

TEST(Registrar, GarbageAuthorizationNeverCrashes) {
  Registrar reg = makeRegistrar();
  Phone phone;
  std::mt19937 rng(1234);
  for (int i = 0; i < 2000; ++i) {
    RegisterRequest r = phone.request({contact("sip:a@h")});
    std::string junk = "Digest ";
    const int len = static_cast<int>(rng() % 200);
    for (int k = 0; k < len; ++k) junk.push_back(static_cast<char>(rng() % 256));
    if (i % 3 == 0)
      junk += " username=\"1001\", realm=\"parley\", nonce=\"x\", uri=\"y\", response=\"z\"";
    r.authorizations = {junk};
    const RegisterResult res = reg.handleRegister(r, kT0);
    EXPECT_TRUE(res.status == 401 || res.status == 400 || res.status == 403) << res.status;
  }
}

}  // namespace
}  // namespace parley::sip

namespace parley::sip {
namespace {

// An INVITE's Proxy-Authorization for `challenge`, computed as a phone would.
std::string inviteCredentials(const std::string& challenge, const std::string& uri,
                              const std::string& user, const std::string& password) {
  DigestCredentials c;
  c.username = user;
  c.realm = param(challenge, "realm");
  c.nonce = param(challenge, "nonce");
  c.uri = uri;
  c.qop = "auth";
  c.nc = "00000001";
  c.cnonce = "feed";
  c.response = computeDigestResponse(c, "INVITE", computeHa1(user, c.realm, password));
  return "Digest username=\"" + c.username + "\", realm=\"" + c.realm + "\", nonce=\"" +
         c.nonce + "\", uri=\"" + c.uri + "\", response=\"" + c.response +
         "\", algorithm=MD5, qop=auth, nc=" + c.nc + ", cnonce=\"" + c.cnonce + "\"";
}

TEST(Registrar, InviteIsChallengedThenAuthenticatedAsAUser) {
  Registrar reg = makeRegistrar();
  AuthRequest req{"INVITE", "10.0.0.9", "10.0.0.9:5060", "sip:100@parley", {}};
  const AuthDecision first = reg.authorize(req, kT0);
  ASSERT_EQ(first.outcome, AuthOutcome::Challenge);
  EXPECT_EQ(first.status, 407);
  req.authorizations = {inviteCredentials(first.challenge, req.request_uri, "1002", "demo1002")};
  const AuthDecision ok = reg.authorize(req, kT0);
  EXPECT_EQ(ok.outcome, AuthOutcome::Authenticated) << ok.log;
  EXPECT_EQ(ok.user, "1002");
}

TEST(Registrar, WrongInvitePasswordsCountTowardsTheLockout) {
  Registrar reg = makeRegistrar();  // max_failures = 3
  AuthRequest req{"INVITE", "10.0.0.9", "10.0.0.9:5060", "sip:100@parley", {}};
  for (int i = 0; i < 3; ++i) {
    const AuthDecision challenge = reg.authorize(req, kT0);
    ASSERT_EQ(challenge.outcome, AuthOutcome::Challenge);
    AuthRequest wrong = req;
    wrong.authorizations = {inviteCredentials(challenge.challenge, req.request_uri, "1001", "x")};
    const AuthDecision d = reg.authorize(wrong, kT0);
    EXPECT_EQ(d.outcome, AuthOutcome::Forbidden);
    EXPECT_EQ(d.status, 403);
  }
  EXPECT_EQ(reg.authorize(req, kT0).outcome, AuthOutcome::RateLimited);
  // The same source's REGISTERs are locked out too: one limiter.
  Phone phone;
  phone.source = "10.0.0.9";
  EXPECT_EQ(reg.handleRegister(phone.request({}), kT0).outcome, RegisterOutcome::RateLimited);
}

}  // namespace
}  // namespace parley::sip
