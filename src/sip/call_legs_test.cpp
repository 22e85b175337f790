// Integration tests of the call legs (calls.h): a real SipServer on loopback with SIPp as the
// caller (UAC scenarios) or as an agent's phone (UAS scenarios), and raw sockets for malformed
// or out-of-dialog requests. SDP is a fixed string here; media is not involved. Every wait is
// bounded; SIPp runs under coreutils `timeout` and is reaped by pid.
#include <gtest/gtest.h>

#include <condition_variable>
#include <fstream>
#include <sstream>
#include <cstdio>
#include <functional>
#include <future>
#include <mutex>
#include <string>
#include <tuple>
#include <vector>

#include "sip/digest.h"
#include "sip/sip_server.h"
#include "sip/sip_test_support.h"

namespace parley::sip {
namespace {

using namespace std::chrono_literals;
using namespace parley::sip::testsupport;

const std::string kOurSdp =
    "v=0\r\no=parley 1 1 IN IP4 127.0.0.1\r\ns=parley\r\nc=IN IP4 127.0.0.1\r\nt=0 0\r\n"
    "m=audio 40000 RTP/AVP 0\r\na=rtpmap:0 PCMU/8000\r\n";

// What the hooks saw, in order, as short lines ("invite 1 100", "ended 1 bye 0").
class Journal {
 public:
  void add(std::string line) {
    std::lock_guard lock(mutex_);
    lines_.push_back(std::move(line));
    cv_.notify_all();
  }
  // Waits (bounded) until a line starting with `prefix` arrived; true if it did.
  bool waitFor(const std::string& prefix) {
    std::unique_lock lock(mutex_);
    return cv_.wait_for(lock, kWait, [&] { return findLocked(prefix) != nullptr; });
  }
  std::string find(const std::string& prefix) {
    std::lock_guard lock(mutex_);
    const std::string* line = findLocked(prefix);
    return line ? *line : std::string();
  }
  std::size_t count(const std::string& prefix) {
    std::lock_guard lock(mutex_);
    std::size_t n = 0;
    for (const auto& l : lines_) n += l.rfind(prefix, 0) == 0 ? 1 : 0;
    return n;
  }
  std::string all() {
    std::lock_guard lock(mutex_);
    std::string out;
    for (const auto& l : lines_) out += l + "\n";
    return out;
  }

 private:
  const std::string* findLocked(const std::string& prefix) const {
    for (const auto& l : lines_) {
      if (l.rfind(prefix, 0) == 0) return &l;
    }
    return nullptr;
  }
  std::mutex mutex_;
  std::condition_variable cv_;
  std::vector<std::string> lines_;
};

// What a test wants done with each new inbound leg: set by the test thread while the server
// runs, read on the loop thread, so it is kept under a mutex.
class InviteHandler {
 public:
  using Fn = std::function<void(SipServer&, const InboundCall&)>;
  InviteHandler& operator=(Fn fn) {
    std::lock_guard lock(mutex_);
    fn_ = std::move(fn);
    return *this;
  }
  Fn get() const {
    std::lock_guard lock(mutex_);
    return fn_;
  }

 private:
  mutable std::mutex mutex_;
  Fn fn_;
};

struct Fixture {
  std::unique_ptr<SipServer> server;
  std::shared_ptr<Journal> journal = std::make_shared<Journal>();
  // What on_invite does with the new leg (runs on the loop thread, server is set by then).
  InviteHandler on_invite;
  std::string last_answer_sdp;  // loop thread writes, read after the journal line
  InboundCall last_invite;

  // Runs `fn` on the loop thread and waits for it (bounded).
  template <typename Fn>
  auto onLoop(Fn fn) -> decltype(fn(std::declval<SipServer&>())) {
    using R = decltype(fn(*server));
    auto promise = std::make_shared<std::promise<R>>();
    auto future = promise->get_future();
    EXPECT_TRUE(server->post([this, promise, fn] { promise->set_value(fn(*server)); }));
    EXPECT_EQ(future.wait_for(kWait), std::future_status::ready);
    return future.get();
  }
};

std::unique_ptr<Fixture> startServer(bool trust_loopback) {
  auto f = std::make_unique<Fixture>();
  SipServerConfig c;
  c.udp_listen = {"127.0.0.1:0"};
  c.tcp_listen = {"127.0.0.1:0"};
  c.registrar.users = {{.name = "1001", .password = "demo1001"}};
  c.registrar.rate_limit = {.max_failures = 3, .window = 60s, .lockout = 300s};
  SipServerHooks hooks;
  if (trust_loopback) {
    hooks.is_trusted_source = [](std::string_view ip) { return ip == "127.0.0.1"; };
  }
  Fixture* fp = f.get();
  auto journal = f->journal;
  hooks.calls.on_invite = [fp, journal](const InboundCall& call) {
    fp->last_invite = call;
    journal->add("invite " + std::to_string(call.leg) + " " + call.request_user + " " +
                 call.authenticated_user);
    if (const InviteHandler::Fn fn = fp->on_invite.get()) fn(*fp->server, call);
  };
  hooks.calls.on_progress = [journal](LegId leg, int code) {
    journal->add("progress " + std::to_string(leg) + " " + std::to_string(code));
  };
  hooks.calls.on_answered = [fp, journal](LegId leg, const std::string& sdp) {
    fp->last_answer_sdp = sdp;
    journal->add("answered " + std::to_string(leg));
  };
  hooks.calls.on_established = [journal](LegId leg) {
    journal->add("established " + std::to_string(leg));
  };
  hooks.calls.on_ended = [journal](LegId leg, const LegEnded& e) {
    journal->add("ended " + std::to_string(leg) + " " + std::string(toString(e.how)) + " " +
                 std::to_string(e.code) + (e.by_peer ? " peer" : " local"));
  };
  hooks.calls.on_info_dtmf = [journal](LegId leg, char key) {
    journal->add("dtmf " + std::to_string(leg) + " " + std::string(1, key));
  };
  SipServerStart r = SipServer::start(std::move(c), std::move(hooks));
  EXPECT_TRUE(r.server) << r.error;
  f->server = std::move(r.server);
  // A round trip through the loop orders the write of `server` above before every hook that
  // reads it (the hooks only run on requests sent after this returns).
  if (f->server) f->onLoop([](SipServer&) { return 0; });
  return f;
}

SippResult runUac(const std::string& scenario, std::uint16_t port, const std::string& service,
                  std::vector<std::string> extra = {}) {
  extra.insert(extra.begin(), {"127.0.0.1:" + std::to_string(port), "-s", service});
  SippProcess sipp(sippCommand(scenario, "u1", std::move(extra)));
  return sipp.finish();
}

TEST(CallLegs, TrustedInviteIsAnsweredEstablishedAndEndsByBye) {
  if (!haveSipp()) GTEST_SKIP() << "sipp not installed (Debian package sip-tester)";
  auto f = startServer(true);
  ASSERT_TRUE(f->server);
  f->on_invite = [](SipServer& s, const InboundCall& call) {
    EXPECT_TRUE(s.calls().answer(call.leg, kOurSdp));
  };
  const SippResult r = runUac("invite_answer_bye.xml", f->server->port("udp"), "100");
  EXPECT_EQ(r.exit_code, 0) << r.output;
  ASSERT_TRUE(f->journal->waitFor("ended 1")) << f->journal->all();
  EXPECT_EQ(f->journal->find("invite 1"), "invite 1 100 ");
  EXPECT_EQ(f->last_invite.from_user, "0701234567");
  EXPECT_EQ(f->last_invite.from_display, "Caller");
  EXPECT_EQ(f->last_invite.transport, "udp");
  EXPECT_NE(f->last_invite.sdp.find("m=audio"), std::string::npos);
  EXPECT_EQ(f->journal->count("established 1"), 1u) << f->journal->all();
  EXPECT_EQ(f->journal->find("dtmf 1"), "dtmf 1 5") << f->journal->all();
  EXPECT_EQ(f->journal->count("dtmf 1"), 1u) << "a repeated INFO is reported once";
  EXPECT_EQ(f->journal->find("ended 1"), "ended 1 bye 0 peer");
  EXPECT_EQ(f->onLoop([](SipServer& s) { return s.calls().legCount(); }), 0u);
}

TEST(CallLegs, CallerCancelBeforeAnyResponseGets487) {
  if (!haveSipp()) GTEST_SKIP() << "sipp not installed (Debian package sip-tester)";
  auto f = startServer(true);
  ASSERT_TRUE(f->server);
  const SippResult r = runUac("invite_cancel.xml", f->server->port("udp"), "100");
  EXPECT_EQ(r.exit_code, 0) << r.output;
  ASSERT_TRUE(f->journal->waitFor("ended 1")) << f->journal->all();
  EXPECT_EQ(f->journal->find("ended 1"), "ended 1 cancelled 487 peer");
  // The app answers too late: refused, and nothing else happens.
  EXPECT_FALSE(f->onLoop([](SipServer& s) { return s.calls().answer(1, kOurSdp); }));
  f->onLoop([](SipServer& s) {
    s.calls().hangup(1);
    s.calls().hangup(999);
    s.calls().reject(999, 486, "Busy");
    s.calls().progress(999, "");
    return 0;
  });
  EXPECT_EQ(f->journal->count("ended"), 1u) << f->journal->all();
}

TEST(CallLegs, CallerCancelWhileRingingGets487) {
  if (!haveSipp()) GTEST_SKIP() << "sipp not installed (Debian package sip-tester)";
  auto f = startServer(true);
  ASSERT_TRUE(f->server);
  f->on_invite = [](SipServer& s, const InboundCall& call) { s.calls().progress(call.leg, ""); };
  const SippResult r = runUac("invite_cancel_ringing.xml", f->server->port("udp"), "100");
  EXPECT_EQ(r.exit_code, 0) << r.output;
  ASSERT_TRUE(f->journal->waitFor("ended 1")) << f->journal->all();
  EXPECT_EQ(f->journal->find("ended 1"), "ended 1 cancelled 487 peer");
  EXPECT_FALSE(f->onLoop([](SipServer& s) { return s.calls().answer(1, kOurSdp); }));
}

TEST(CallLegs, UntrustedSourceMustAuthenticateAsARegistrarUser) {
  if (!haveSipp()) GTEST_SKIP() << "sipp not installed (Debian package sip-tester)";
  auto f = startServer(false);
  ASSERT_TRUE(f->server);
  f->on_invite = [](SipServer& s, const InboundCall& call) {
    EXPECT_TRUE(s.calls().answer(call.leg, kOurSdp));
  };
  const std::uint16_t port = f->server->port("udp");
  const SippResult ok =
      runUac("invite_auth.xml", port, "100", {"-au", "1001", "-ap", "demo1001"});
  EXPECT_EQ(ok.exit_code, 0) << ok.output;
  ASSERT_TRUE(f->journal->waitFor("ended 1")) << f->journal->all();
  EXPECT_EQ(f->journal->find("invite 1"), "invite 1  1001");

  const SippResult bad =
      runUac("invite_auth_refused.xml", port, "100", {"-au", "1001", "-ap", "wrong"});
  EXPECT_EQ(bad.exit_code, 0) << bad.output;
  EXPECT_EQ(f->journal->count("invite"), 1u) << f->journal->all();
}

TEST(CallLegs, DialedPhoneAnswersAndOurHangupSendsBye) {
  if (!haveSipp()) GTEST_SKIP() << "sipp not installed (Debian package sip-tester)";
  auto f = startServer(true);
  ASSERT_TRUE(f->server);
  const std::uint16_t phone_port = freePort(SOCK_DGRAM);
  SippProcess phone(sippCommand("uas_answer.xml", "u1", {"-p", std::to_string(phone_port)}));
  ASSERT_TRUE(phone.started());
  const LegId leg = f->onLoop([&](SipServer& s) {
    DialRequest d;
    d.target = "sip:agent@127.0.0.1:" + std::to_string(phone_port);
    d.from_user = "0701234567";
    d.from_display = "Sales: 0701234567";
    d.sdp_offer = kOurSdp;
    d.timeout = 10s;
    return s.calls().dial(d);
  });
  ASSERT_TRUE(f->journal->waitFor("answered " + std::to_string(leg))) << f->journal->all();
  EXPECT_EQ(f->journal->find("progress"), "progress " + std::to_string(leg) + " 180");
  EXPECT_NE(f->last_answer_sdp.find("s=SIPp-UAS"), std::string::npos) << f->last_answer_sdp;
  f->onLoop([leg](SipServer& s) {
    s.calls().hangup(leg);
    return 0;
  });
  const SippResult r = phone.finish();
  EXPECT_EQ(r.exit_code, 0) << r.output;
  ASSERT_TRUE(f->journal->waitFor("ended")) << f->journal->all();
  EXPECT_EQ(f->journal->find("ended"), "ended " + std::to_string(leg) + " local-hangup 0 local");
  EXPECT_EQ(f->journal->count("ended"), 1u);
}

// An outbound trunk that challenges: the dial answers the 401 with the configured digest
// credentials (SIPp verifies them) and the call is answered; wrong ones end the leg Failed 403.
void dialTrunk(const std::string& password, const std::string& expect) {
  auto f = startServer(true);
  ASSERT_TRUE(f->server);
  const std::uint16_t trunk_port = freePort(SOCK_DGRAM);
  SippProcess trunk(sippCommand("uas_trunk_auth.xml", "u1", {"-p", std::to_string(trunk_port)}));
  ASSERT_TRUE(trunk.started());
  const LegId leg = f->onLoop([&](SipServer& s) {
    DialRequest d;
    d.target = "sip:0701234567@127.0.0.1:" + std::to_string(trunk_port);
    d.from_user = "100";
    d.sdp_offer = kOurSdp;
    d.timeout = 10s;
    d.auth_user = "trunkuser";
    d.auth_password = password;
    return s.calls().dial(d);
  });
  ASSERT_TRUE(f->journal->waitFor(expect + " " + std::to_string(leg))) << f->journal->all();
  if (expect == "answered") {
    f->onLoop([leg](SipServer& s) {
      s.calls().hangup(leg);
      return 0;
    });
  } else {
    EXPECT_EQ(f->journal->find("ended"), "ended " + std::to_string(leg) + " failed 403 peer");
  }
  const SippResult r = trunk.finish();
  EXPECT_EQ(r.exit_code, 0) << r.output;
  ASSERT_TRUE(f->journal->waitFor("ended")) << f->journal->all();
  EXPECT_EQ(f->journal->count("ended"), 1u);
}

TEST(CallLegs, DialToATrunkAnswersItsDigestChallenge) {
  if (!haveSipp()) GTEST_SKIP() << "sipp not installed (Debian package sip-tester)";
  dialTrunk("trunksecret", "answered");
}

TEST(CallLegs, DialToATrunkWithAWrongPasswordFails) {
  if (!haveSipp()) GTEST_SKIP() << "sipp not installed (Debian package sip-tester)";
  dialTrunk("not-the-secret", "ended");
}

// A trunk that challenges with 407 (as a proxy would): the second INVITE must carry a
// Proxy-Authorization whose response is the digest of trunksecret for this Request-URI, which
// SIPp compares with the value computed here (a scenario copy with it filled in).
TEST(CallLegs, DialToATrunkAnswersAProxyChallenge) {
  if (!haveSipp()) GTEST_SKIP() << "sipp not installed (Debian package sip-tester)";
  auto f = startServer(true);
  ASSERT_TRUE(f->server);
  const std::uint16_t trunk_port = freePort(SOCK_DGRAM);
  const std::string target = "sip:0701234567@127.0.0.1:" + std::to_string(trunk_port);
  DigestCredentials expected;
  expected.username = "trunkuser";
  expected.realm = "trunk.example";
  expected.nonce = "parley407nonce";
  expected.uri = target;
  const std::string response = computeDigestResponse(
      expected, "INVITE", computeHa1("trunkuser", "trunk.example", "trunksecret"));
  std::ifstream in(std::string(PARLEY_SIP_TESTDATA) + "/uas_trunk_proxy_auth.xml");
  std::stringstream text;
  text << in.rdbuf();
  std::string scenario = text.str();
  const std::size_t at = scenario.find("response=\\\"EXPECTED_RESPONSE");
  ASSERT_NE(at, std::string::npos);
  scenario.replace(scenario.find("EXPECTED_RESPONSE", at), 17, response);
  const std::string path = ::testing::TempDir() + "parley_uas_trunk_proxy_auth_" +
                           std::to_string(trunk_port) + ".xml";
  std::ofstream(path) << scenario;
  std::vector<std::string> command =
      sippCommand("uas_trunk_proxy_auth.xml", "u1", {"-p", std::to_string(trunk_port)});
  for (std::string& arg : command) {
    if (arg.ends_with("/uas_trunk_proxy_auth.xml")) arg = path;
  }
  SippProcess trunk(command);
  ASSERT_TRUE(trunk.started());
  const LegId leg = f->onLoop([&](SipServer& s) {
    DialRequest d;
    d.target = target;
    d.from_user = "100";
    d.sdp_offer = kOurSdp;
    d.timeout = 10s;
    d.auth_user = "trunkuser";
    d.auth_password = "trunksecret";
    return s.calls().dial(d);
  });
  const bool answered = f->journal->waitFor("answered " + std::to_string(leg));
  f->onLoop([leg](SipServer& s) {
    s.calls().hangup(leg);
    return 0;
  });
  const SippResult r = trunk.finish();
  std::remove(path.c_str());
  EXPECT_TRUE(answered) << f->journal->all() << r.output;
  EXPECT_EQ(r.exit_code, 0) << r.output;
  ASSERT_TRUE(f->journal->waitFor("ended")) << f->journal->all();
  EXPECT_EQ(f->journal->count("ended"), 1u);
}

TEST(CallLegs, DialedPhoneBusyEndsFailed486) {
  if (!haveSipp()) GTEST_SKIP() << "sipp not installed (Debian package sip-tester)";
  auto f = startServer(true);
  ASSERT_TRUE(f->server);
  const std::uint16_t phone_port = freePort(SOCK_DGRAM);
  SippProcess phone(sippCommand("uas_busy.xml", "u1", {"-p", std::to_string(phone_port)}));
  const LegId leg = f->onLoop([&](SipServer& s) {
    DialRequest d;
    d.target = "sip:agent@127.0.0.1:" + std::to_string(phone_port);
    d.from_user = "100";
    d.sdp_offer = kOurSdp;
    return s.calls().dial(d);
  });
  ASSERT_TRUE(f->journal->waitFor("ended")) << f->journal->all();
  EXPECT_EQ(f->journal->find("ended"), "ended " + std::to_string(leg) + " failed 486 peer");
  const SippResult r = phone.finish();
  EXPECT_EQ(r.exit_code, 0) << r.output;
}

TEST(CallLegs, DialTimeoutCancelsAndEndsFailed408) {
  if (!haveSipp()) GTEST_SKIP() << "sipp not installed (Debian package sip-tester)";
  auto f = startServer(true);
  ASSERT_TRUE(f->server);
  const std::uint16_t phone_port = freePort(SOCK_DGRAM);
  SippProcess phone(sippCommand("uas_no_answer.xml", "u1", {"-p", std::to_string(phone_port)}));
  const LegId leg = f->onLoop([&](SipServer& s) {
    DialRequest d;
    d.target = "sip:agent@127.0.0.1:" + std::to_string(phone_port);
    d.sdp_offer = kOurSdp;
    d.timeout = 1500ms;
    return s.calls().dial(d);
  });
  ASSERT_TRUE(f->journal->waitFor("ended")) << f->journal->all();
  EXPECT_EQ(f->journal->find("ended"), "ended " + std::to_string(leg) + " failed 408 local");
  const SippResult r = phone.finish();
  EXPECT_EQ(r.exit_code, 0) << r.output;
  EXPECT_EQ(f->journal->count("ended"), 1u) << f->journal->all();
}

TEST(CallLegs, PhoneAnsweringAfterOurCancelGetsAckAndByeAndNoSecondEnd) {
  if (!haveSipp()) GTEST_SKIP() << "sipp not installed (Debian package sip-tester)";
  auto f = startServer(true);
  ASSERT_TRUE(f->server);
  const std::uint16_t phone_port = freePort(SOCK_DGRAM);
  SippProcess phone(
      sippCommand("uas_answer_after_cancel.xml", "u1", {"-p", std::to_string(phone_port)}));
  const LegId leg = f->onLoop([&](SipServer& s) {
    DialRequest d;
    d.target = "sip:agent@127.0.0.1:" + std::to_string(phone_port);
    d.sdp_offer = kOurSdp;
    return s.calls().dial(d);
  });
  ASSERT_TRUE(f->journal->waitFor("progress")) << f->journal->all();
  f->onLoop([leg](SipServer& s) {
    s.calls().hangup(leg);
    s.calls().hangup(leg);  // twice: still one end
    return 0;
  });
  const SippResult r = phone.finish();  // saw our CANCEL, then ACK and BYE for its 200
  EXPECT_EQ(r.exit_code, 0) << r.output;
  ASSERT_TRUE(f->journal->waitFor("ended")) << f->journal->all();
  EXPECT_EQ(f->journal->find("ended"), "ended " + std::to_string(leg) + " local-hangup 0 local");
  EXPECT_EQ(f->journal->count("ended"), 1u) << f->journal->all();
  EXPECT_EQ(f->journal->count("answered"), 0u) << f->journal->all();
}

TEST(CallLegs, UnreachableTargetsEndFailedNeverInsideDial) {
  auto f = startServer(true);
  ASSERT_TRUE(f->server);
  const auto [first, second, ended_inside] = f->onLoop([&](SipServer& s) {
    DialRequest bad;
    bad.target = "not a uri <>";
    const LegId a = s.calls().dial(bad);
    DialRequest nothing_there;
    nothing_there.target = "sip:agent@127.0.0.1:9;transport=tcp";  // discard port: refused
    const LegId b = s.calls().dial(nothing_there);
    return std::tuple{a, b, f->journal->count("ended")};
  });
  EXPECT_EQ(ended_inside, 0u);
  ASSERT_TRUE(f->journal->waitFor("ended " + std::to_string(first))) << f->journal->all();
  EXPECT_EQ(f->journal->find("ended " + std::to_string(first)),
            "ended " + std::to_string(first) + " failed 416 local");
  ASSERT_TRUE(f->journal->waitFor("ended " + std::to_string(second))) << f->journal->all();
  EXPECT_EQ(f->journal->find("ended " + std::to_string(second)).rfind(
                "ended " + std::to_string(second) + " failed", 0),
            0u)
      << f->journal->all();
}

TEST(CallLegs, StoppingWithLiveLegsIsClean) {
  auto f = startServer(true);
  ASSERT_TRUE(f->server);
  RawSocket udp(SOCK_DGRAM, f->server->port("udp"));
  ASSERT_TRUE(udp.connected());
  udp.send("INVITE sip:100@127.0.0.1 SIP/2.0\r\nVia: SIP/2.0/UDP 127.0.0.1:" +
           std::to_string(udp.localPort()) +
           ";branch=z9hG4bK-live\r\nMax-Forwards: 70\r\nFrom: <sip:a@127.0.0.1>;tag=f\r\n"
           "To: <sip:100@127.0.0.1>\r\nCall-ID: live\r\nCSeq: 1 INVITE\r\n"
           "Content-Length: 0\r\n\r\n");
  EXPECT_NE(udp.readUntil("SIP/2.0 100 Trying").find("100 Trying"), std::string::npos);
  ASSERT_TRUE(f->journal->waitFor("invite 1"));
  // One leg waiting for the app, one outbound INVITE to nobody, then stop.
  f->onLoop([](SipServer& s) {
    DialRequest d;
    d.target = "sip:agent@127.0.0.1:9";
    d.sdp_offer = kOurSdp;
    return s.calls().dial(d);
  });
  f->server->stop();
  EXPECT_FALSE(f->server->post([] {}));
}

TEST(CallLegs, MalformedAndOutOfDialogRequestsAreRefusedAndServingContinues) {
  auto f = startServer(true);
  ASSERT_TRUE(f->server);
  RawSocket udp(SOCK_DGRAM, f->server->port("udp"));
  ASSERT_TRUE(udp.connected());
  const std::string via =
      "Via: SIP/2.0/UDP 127.0.0.1:" + std::to_string(udp.localPort()) + ";branch=z9hG4bK-";
  const auto request = [&](const std::string& line, const std::string& id,
                           const std::string& method, const std::string& to_tag) {
    return line + "\r\n" + via + id + "\r\nMax-Forwards: 70\r\nFrom: <sip:a@127.0.0.1>;tag=f\r\n" +
           "To: <sip:100@127.0.0.1>" + to_tag + "\r\nCall-ID: " + id + "\r\nCSeq: 1 " + method +
           "\r\nContent-Length: 0\r\n\r\n";
  };
  const auto statusOf = [&](const std::string& msg, const std::string& id) {
    udp.send(msg);
    const std::string reply = udp.readUntil("Call-ID: " + id, 3s);
    const auto at = reply.rfind("SIP/2.0 ", reply.find("Call-ID: " + id));
    return at == std::string::npos ? std::string("none") : reply.substr(at + 8, 3);
  };
  EXPECT_EQ(statusOf(request("INVITE tel:+4670123 SIP/2.0", "tel-uri", "INVITE", ""), "tel-uri"),
            "400");
  EXPECT_EQ(statusOf(request("BYE sip:100@127.0.0.1 SIP/2.0", "bye-x", "BYE", ";tag=x"), "bye-x"),
            "481");
  EXPECT_EQ(
      statusOf(request("INFO sip:100@127.0.0.1 SIP/2.0", "info-x", "INFO", ";tag=x"), "info-x"),
      "481");
  EXPECT_EQ(statusOf(request("UPDATE sip:100@127.0.0.1 SIP/2.0", "upd-x", "UPDATE", ";tag=x"),
                     "upd-x"),
            "481");
  EXPECT_EQ(
      statusOf(request("INVITE sip:100@127.0.0.1 SIP/2.0", "reinv-x", "INVITE", ";tag=x"),
               "reinv-x"),
      "481");
  EXPECT_EQ(statusOf(request("CANCEL sip:100@127.0.0.1 SIP/2.0", "can-x", "CANCEL", ""), "can-x"),
            "481");
  EXPECT_EQ(statusOf(request("MESSAGE sip:100@127.0.0.1 SIP/2.0", "msg-x", "MESSAGE", ""),
                     "msg-x"),
            "501");
  // Missing From / To: 400 (or dropped), never a call.
  udp.send("INVITE sip:100@127.0.0.1 SIP/2.0\r\n" + via +
           "nofrom\r\nCall-ID: nofrom\r\nCSeq: 1 INVITE\r\nContent-Length: 0\r\n\r\n");
  udp.send("INVITE sip:100@127.0.0.1 SIP/2.0\r\n\r\n");
  udp.send(std::string("INVITE \x01\x02\xff garbage\r\n\r\n"));
  EXPECT_EQ(statusOf(request("OPTIONS sip:127.0.0.1 SIP/2.0", "opt-after", "OPTIONS", ""),
                     "opt-after"),
            "200");
  EXPECT_EQ(f->journal->count("invite"), 0u) << f->journal->all();
}

}  // namespace
}  // namespace parley::sip
