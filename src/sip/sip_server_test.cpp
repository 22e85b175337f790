// Integration tests: a real SipServer on loopback, driven by SIPp (Debian sip-tester) and by raw
// UDP/TCP sockets sending malformed SIP. Every wait is bounded; SIPp runs under coreutils
// `timeout` and is reaped by pid.
#include "sip/sip_server.h"

#include <sys/socket.h>
#include <unistd.h>

#include <gtest/gtest.h>

#include <condition_variable>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <random>

#include "sip/sip_test_support.h"

namespace parley::sip {
namespace {

using namespace std::chrono_literals;
using namespace parley::sip::testsupport;

SipServerConfig testConfig() {
  SipServerConfig c;
  c.udp_listen = {"127.0.0.1:0"};
  c.tcp_listen = {"127.0.0.1:0"};
  c.registrar.realm = "parley";
  c.registrar.users = {{.name = "1001", .password = "demo1001"},
                       {.name = "1002", .ha1 = "7da8cd80b14ae00b97c5e51d74e7123f"}};
  c.registrar.min_expires = 60s;
  c.registrar.default_expires = 3600s;
  c.registrar.rate_limit = {.max_failures = 3, .window = 60s, .lockout = 300s};
  return c;
}

// Collects availability events from the server thread.
class Events {
 public:
  void add(const AvailabilityEvent& e) {
    std::lock_guard lock(mutex_);
    events_.push_back(e);
    cv_.notify_all();
  }
  // Waits until `n` events arrived (bounded); returns them.
  std::vector<AvailabilityEvent> waitFor(std::size_t n) {
    std::unique_lock lock(mutex_);
    cv_.wait_for(lock, kWait, [&] { return events_.size() >= n; });
    return events_;
  }

 private:
  std::mutex mutex_;
  std::condition_variable cv_;
  std::vector<AvailabilityEvent> events_;
};

struct Started {
  std::unique_ptr<SipServer> server;
  std::shared_ptr<Events> events = std::make_shared<Events>();
};

Started startServer(SipServerConfig config = testConfig()) {
  Started s;
  SipServerHooks hooks;
  hooks.on_availability = [events = s.events](const AvailabilityEvent& e) { events->add(e); };
  SipServerStart r = SipServer::start(std::move(config), std::move(hooks));
  EXPECT_TRUE(r.server) << r.error;
  s.server = std::move(r.server);
  return s;
}

std::string options(const std::string& transport, std::uint16_t local_port,
                    const std::string& call_id) {
  return "OPTIONS sip:127.0.0.1 SIP/2.0\r\n"
         "Via: SIP/2.0/" +
         transport + " 127.0.0.1:" + std::to_string(local_port) + ";branch=z9hG4bK-" + call_id +
         "\r\n"
         "Max-Forwards: 70\r\n"
         "From: <sip:probe@127.0.0.1>;tag=probe\r\n"
         "To: <sip:127.0.0.1>\r\n"
         "Call-ID: " +
         call_id +
         "\r\n"
         "CSeq: 1 OPTIONS\r\n"
         "Content-Length: 0\r\n\r\n";
}

TEST(SipServer, BindsFreePortsAndReportsThem) {
  Started s = startServer();
  ASSERT_TRUE(s.server);
  EXPECT_NE(s.server->port("udp"), 0);
  EXPECT_NE(s.server->port("tcp"), 0);
  ASSERT_EQ(s.server->listening().size(), 2u);
  EXPECT_EQ(s.server->listening()[0].host, "127.0.0.1");
}

TEST(SipServer, StartFailsCleanlyOnBadConfig) {
  SipServerConfig bad_address = testConfig();
  bad_address.udp_listen = {"not-an-address"};
  SipServerStart r = SipServer::start(bad_address);
  EXPECT_FALSE(r.server);
  EXPECT_NE(r.error.find("not-an-address"), std::string::npos) << r.error;

  SipServerConfig bad_user = testConfig();
  bad_user.registrar.users.push_back({.name = "1003"});
  r = SipServer::start(bad_user);
  EXPECT_FALSE(r.server);
  EXPECT_NE(r.error.find("registrar.users[2]"), std::string::npos) << r.error;

  // A port already taken.
  Started first = startServer();
  ASSERT_TRUE(first.server);
  SipServerConfig taken = testConfig();
  taken.udp_listen = {"127.0.0.1:" + std::to_string(first.server->port("udp"))};
  r = SipServer::start(taken);
  EXPECT_FALSE(r.server);
  EXPECT_NE(r.error.find("udp listen"), std::string::npos) << r.error;
}

TEST(SipServer, OptionsGets200OverUdpAndTcp) {
  Started s = startServer();
  ASSERT_TRUE(s.server);
  RawSocket udp(SOCK_DGRAM, s.server->port("udp"));
  ASSERT_TRUE(udp.connected());
  udp.send(options("UDP", udp.localPort(), "opt-udp"));
  const std::string reply = udp.readUntil("Call-ID: opt-udp");
  EXPECT_NE(reply.find("SIP/2.0 200 OK"), std::string::npos) << reply;
  EXPECT_NE(reply.find("Allow: INVITE, ACK, BYE, CANCEL, OPTIONS, REGISTER, INFO"), std::string::npos)
      << reply;

  RawSocket tcp(SOCK_STREAM, s.server->port("tcp"));
  ASSERT_TRUE(tcp.connected());
  tcp.send(options("TCP", tcp.localPort(), "opt-tcp"));
  const std::string tcp_reply = tcp.readUntil("\r\n\r\n");
  EXPECT_NE(tcp_reply.find("SIP/2.0 200 OK"), std::string::npos) << tcp_reply;
}

TEST(SipServer, OtherMethodsGet501ForNow) {
  Started s = startServer();
  ASSERT_TRUE(s.server);
  RawSocket udp(SOCK_DGRAM, s.server->port("udp"));
  std::string invite = options("UDP", udp.localPort(), "inv-1");
  invite.replace(0, 7, "MESSAGE");
  invite.replace(invite.find("1 OPTIONS"), 9, "1 MESSAGE");
  udp.send(invite);
  const std::string reply = udp.readUntil("Call-ID: inv-1");
  EXPECT_NE(reply.find("SIP/2.0 501"), std::string::npos) << reply;
}

TEST(SipServer, SippRegistersWithDigestThenUnregisters) {
  if (!haveSipp()) GTEST_SKIP() << "sipp not installed (Debian package sip-tester)";
  Started s = startServer();
  ASSERT_TRUE(s.server);
  const std::uint16_t port = s.server->port("udp");

  SippResult reg = runSipp("register_digest.xml", port, "u1", "1001", "demo1001");
  ASSERT_EQ(reg.exit_code, 0) << reg.output;
  auto events = s.events->waitFor(1);
  ASSERT_EQ(events.size(), 1u);
  EXPECT_EQ(events[0].aor, "1001");
  EXPECT_TRUE(events[0].available);
  const auto bindings = s.server->lookup("1001", kWait);
  ASSERT_TRUE(bindings);
  ASSERT_EQ(bindings->size(), 1u);
  EXPECT_EQ((*bindings)[0].contact.rfind("sip:1001@127.0.0.1:", 0), 0u) << (*bindings)[0].contact;
  EXPECT_EQ((*bindings)[0].transport, "udp");

  SippResult unreg = runSipp("unregister_digest.xml", port, "u1", "1001", "demo1001");
  ASSERT_EQ(unreg.exit_code, 0) << unreg.output;
  events = s.events->waitFor(2);
  ASSERT_EQ(events.size(), 2u);
  EXPECT_FALSE(events[1].available);
  const auto after = s.server->lookup("1001", kWait);
  ASSERT_TRUE(after);
  EXPECT_TRUE(after->empty());
}

TEST(SipServer, SippRegistersOverTcpWithHa1User) {
  if (!haveSipp()) GTEST_SKIP() << "sipp not installed (Debian package sip-tester)";
  Started s = startServer();
  ASSERT_TRUE(s.server);
  SippResult reg = runSipp("register_digest.xml", s.server->port("tcp"), "t1", "1002", "demo1002");
  ASSERT_EQ(reg.exit_code, 0) << reg.output;
  const auto bindings = s.server->lookup("1002", kWait);
  ASSERT_TRUE(bindings);
  ASSERT_EQ(bindings->size(), 1u);
  EXPECT_EQ((*bindings)[0].transport, "tcp");
}

TEST(SipServer, BaresipRegistersAndUnregistersOnQuit) {
  if (!haveBaresip()) GTEST_SKIP() << "baresip not installed (Debian package baresip-core)";
  Started s = startServer();
  ASSERT_TRUE(s.server);
  TempDir dir;
  {
    std::ofstream config(dir.path() + "/config");
    config << "poll_method epoll\nsip_listen 127.0.0.1:0\n"
              "module_path /usr/lib/baresip/modules\nmodule account.so\n";
    std::ofstream accounts(dir.path() + "/accounts");
    accounts << "<sip:1001@127.0.0.1:" << s.server->port("udp")
             << ";transport=udp>;auth_pass=demo1001;regint=60\n";
  }
  // -t 1: baresip quits (and unregisters) one second after start.
  const std::string log = dir.path() + "/baresip.log";
  const int rc = spawnAndWait(
      {"timeout", "-k", "5", "20", PARLEY_BARESIP, "-f", dir.path(), "-t", "1"}, dir.path(), log);
  EXPECT_EQ(rc, 0) << readTail(log);
  const auto events = s.events->waitFor(2);
  ASSERT_EQ(events.size(), 2u) << readTail(log);
  EXPECT_EQ(events[0].aor, "1001");
  EXPECT_TRUE(events[0].available);
  EXPECT_FALSE(events[1].available);
  EXPECT_NE(readTail(log).find("200 OK (Parley)"), std::string::npos) << readTail(log);
}

TEST(SipServer, SippWithWrongPasswordGets403) {
  if (!haveSipp()) GTEST_SKIP() << "sipp not installed (Debian package sip-tester)";
  Started s = startServer();
  ASSERT_TRUE(s.server);
  SippResult r = runSipp("register_wrong_password.xml", s.server->port("udp"), "u1", "1001",
                         "not-the-password");
  EXPECT_EQ(r.exit_code, 0) << r.output;
  const auto bindings = s.server->lookup("1001", kWait);
  ASSERT_TRUE(bindings);
  EXPECT_TRUE(bindings->empty());
  // A correct password from another user agent still works (the source is not locked out
  // after a single failure).
  SippResult ok = runSipp("register_digest.xml", s.server->port("udp"), "u1", "1001", "demo1001");
  EXPECT_EQ(ok.exit_code, 0) << ok.output;
}

TEST(SipServer, RepeatedWrongPasswordsLockTheSourceOut) {
  if (!haveSipp()) GTEST_SKIP() << "sipp not installed (Debian package sip-tester)";
  SipServerConfig config = testConfig();
  config.registrar.rate_limit.max_failures = 2;
  Started s = startServer(config);
  ASSERT_TRUE(s.server);
  const std::uint16_t port = s.server->port("udp");
  for (int i = 0; i < 2; ++i) {
    SippResult r = runSipp("register_wrong_password.xml", port, "u1", "1001", "guess");
    ASSERT_EQ(r.exit_code, 0) << r.output;
  }
  // Locked out: refused at once, even before a challenge, whatever the password.
  SippResult r = runSipp("register_refused.xml", port, "u1", "1001", "demo1001");
  EXPECT_EQ(r.exit_code, 0) << r.output;
  const auto bindings = s.server->lookup("1001", kWait);
  ASSERT_TRUE(bindings);
  EXPECT_TRUE(bindings->empty());
}

TEST(SipServer, MalformedUdpIsAnsweredOrDroppedAndServingContinues) {
  Started s = startServer();
  ASSERT_TRUE(s.server);
  RawSocket udp(SOCK_DGRAM, s.server->port("udp"));
  ASSERT_TRUE(udp.connected());
  const std::string via =
      "Via: SIP/2.0/UDP 127.0.0.1:" + std::to_string(udp.localPort()) + ";branch=z9hG4bK-";

  std::vector<std::string> junk = {
      "\r\n\r\n",
      "hello",
      "INVITE sip:x SIP/2.0\r\n\r\n",
      "SIP/2.0 200 OK\r\n\r\n",
      "REGISTER sip:127.0.0.1 SIP/2.0\r\n" + via + "nocallid\r\nCSeq: 1 REGISTER\r\n\r\n",
      "REGISTER sip:127.0.0.1 SIP/2.0\r\nVia: garbage\r\nCall-ID: x\r\n\r\n",
      "REGISTER sip:127.0.0.1 SIP/2.0\r\n" + via +
          "cseq-mismatch\r\nFrom: <sip:a@b>;tag=1\r\nTo: <sip:a@b>\r\nCall-ID: m1\r\n"
          "CSeq: 1 INVITE\r\nContent-Length: 0\r\n\r\n",
      "REGISTER sip:127.0.0.1 SIP/2.0\r\n" + via +
          "bad-contact\r\nFrom: <sip:1001@b>;tag=1\r\nTo: <sip:1001@b>\r\nCall-ID: bad-contact\r\n"
          "CSeq: 1 REGISTER\r\nContact: <sip:broken\r\nContent-Length: 0\r\n\r\n",
      "REGISTER sip:127.0.0.1 SIP/2.0\r\n" + via +
          "no-user\r\nFrom: <sip:b>;tag=1\r\nTo: <sip:b>\r\nCall-ID: no-user\r\n"
          "CSeq: 1 REGISTER\r\nContent-Length: 0\r\n\r\n",
      "REGISTER sip:127.0.0.1 SIP/2.0\r\n" + via +
          "bad-auth\r\nFrom: <sip:1001@b>;tag=1\r\nTo: <sip:1001@b>\r\nCall-ID: bad-auth\r\n"
          "CSeq: 1 REGISTER\r\nAuthorization: Digest \"\"\"\",,,=\r\nExpires: zz\r\n"
          "Content-Length: 0\r\n\r\n",
      "OPTIONS sip:127.0.0.1 SIP/2.0\r\n" + via +
          "clen\r\nFrom: <sip:a@b>;tag=1\r\nTo: <sip:a@b>\r\nCall-ID: clen\r\n"
          "CSeq: 1 OPTIONS\r\nContent-Length: 99999\r\n\r\nshort",
      "OPTIONS sip:127.0.0.1 SIP/2.0\r\n" + via + "long\r\nX-Long: " + std::string(6000, 'a') +
          "\r\n\r\n",
  };
  std::mt19937 rng(42);  // fixed seed: the same noise every run
  for (int i = 0; i < 200; ++i) {
    std::string noise(static_cast<std::size_t>(rng() % 1400 + 1), '\0');
    for (char& c : noise) c = static_cast<char>(rng() % 256);
    if (i % 4 == 0) noise = "REGISTER sip:127.0.0.1 SIP/2.0\r\n" + noise;
    junk.push_back(std::move(noise));
  }
  // Sent in bursts the server's socket buffer can hold: a lost datagram would test the kernel.
  std::string replies;
  for (std::size_t i = 0; i < junk.size(); ++i) {
    udp.send(junk[i]);
    if (i % 20 == 19) {
      const std::string id = "burst-" + std::to_string(i);
      udp.send(options("UDP", udp.localPort(), id));
      replies += udp.readUntil("Call-ID: " + id);
    }
  }
  udp.send(options("UDP", udp.localPort(), "after-junk"));
  replies += udp.readUntil("Call-ID: after-junk");
  EXPECT_NE(replies.find("Call-ID: after-junk"), std::string::npos) << replies;
  // The malformed Contact, the user-less To and the CSeq mismatch are answered with 400.
  const auto answered400 = [&](const std::string& call_id) {
    const auto at = replies.find("Call-ID: " + call_id);
    if (at == std::string::npos) return false;
    const auto start = replies.rfind("SIP/2.0 ", at);
    return start != std::string::npos && replies.compare(start, 11, "SIP/2.0 400") == 0;
  };
  EXPECT_TRUE(answered400("bad-contact")) << replies;
  EXPECT_TRUE(answered400("no-user")) << replies;
  EXPECT_TRUE(answered400("m1")) << replies;

  // And the server still registers real users.
  if (haveSipp()) {
    SippResult reg =
        runSipp("register_digest.xml", s.server->port("udp"), "u1", "1001", "demo1001");
    EXPECT_EQ(reg.exit_code, 0) << reg.output;
  }
}

TEST(SipServer, MalformedTcpDoesNotStopTheServer) {
  Started s = startServer();
  ASSERT_TRUE(s.server);
  {
    RawSocket garbage(SOCK_STREAM, s.server->port("tcp"));
    ASSERT_TRUE(garbage.connected());
    garbage.send("GARBAGE / HTTP/1.1\r\nHost: x\r\n\r\n");
    std::string noise(100000, 'x');
    garbage.send(noise);
    garbage.send("REGISTER sip:x SIP/2.0\r\nContent-Length: -5\r\n\r\n");
  }
  RawSocket tcp(SOCK_STREAM, s.server->port("tcp"));
  ASSERT_TRUE(tcp.connected());
  tcp.send(options("TCP", tcp.localPort(), "tcp-after-junk"));
  const std::string reply = tcp.readUntil("\r\n\r\n");
  EXPECT_NE(reply.find("SIP/2.0 200 OK"), std::string::npos) << reply;
}

TEST(SipServer, LookupAndPostAfterStopFailCleanly) {
  Started s = startServer();
  ASSERT_TRUE(s.server);
  s.server->stop();
  EXPECT_FALSE(s.server->post([] {}));
  EXPECT_FALSE(s.server->lookup("1001", 100ms));
  s.server->stop();  // idempotent
}

}  // namespace
}  // namespace parley::sip
