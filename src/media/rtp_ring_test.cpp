// RtpRing on real loopback sockets: what arrives, from where, into which buffer; sends from a
// received buffer on connected and unconnected sockets; running out of buffers; stopping a
// socket's receive so that its port is free again; the eventfd. Every wait is bounded.
#include "media/rtp_ring.h"

#include <arpa/inet.h>
#include <netinet/in.h>
#include <poll.h>
#include <sys/socket.h>
#include <unistd.h>

#include <gtest/gtest.h>

#include <chrono>
#include <cstdio>
#include <memory>
#include <cstring>
#include <functional>
#include <string>
#include <vector>

namespace parley::media {
namespace {

using Clock = std::chrono::steady_clock;

struct Socket {
  Socket() {
    fd = ::socket(AF_INET, SOCK_DGRAM | SOCK_NONBLOCK, 0);
    addr.sin_family = AF_INET;
    addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    EXPECT_EQ(::bind(fd, reinterpret_cast<sockaddr*>(&addr), sizeof addr), 0);
    socklen_t len = sizeof addr;
    ::getsockname(fd, reinterpret_cast<sockaddr*>(&addr), &len);
  }
  ~Socket() {
    if (fd >= 0) ::close(fd);
  }
  Socket(const Socket&) = delete;
  Socket& operator=(const Socket&) = delete;
  std::uint16_t port() const { return ntohs(addr.sin_port); }
  void sendTo(const Socket& to, const std::string& text) const {
    ASSERT_EQ(::sendto(fd, text.data(), text.size(), 0, reinterpret_cast<const sockaddr*>(&to.addr),
                       sizeof to.addr),
              static_cast<ssize_t>(text.size()));
  }
  // One datagram within a second, or "".
  std::string receive() const {
    pollfd p{fd, POLLIN, 0};
    if (::poll(&p, 1, 1000) != 1) return {};
    char buf[4096];
    const ssize_t n = ::recv(fd, buf, sizeof buf, 0);
    return n > 0 ? std::string(buf, static_cast<std::size_t>(n)) : std::string();
  }
  int fd = -1;
  sockaddr_in addr{};
};

// Records what the ring hands over; by default releases every buffer at once.
struct Recorder final : RtpRingHandler {
  struct Got {
    std::uint64_t tag;
    std::uint16_t buffer;
    std::string text;
    bool truncated;
    std::uint16_t from_port;
  };
  std::vector<Got> packets;
  std::vector<std::pair<std::uint64_t, int>> sent;
  std::vector<std::pair<std::uint64_t, int>> ended;
  RtpRing* ring = nullptr;
  bool keep = false;  // hold the buffers instead of releasing them
  std::function<void(RingPacket&)> on_packet;

  void onPacket(RingPacket& p) override {
    const auto* from = reinterpret_cast<const sockaddr_in*>(p.from);
    packets.push_back({p.tag, p.buffer, std::string(reinterpret_cast<char*>(p.data), p.size),
                       p.truncated, from ? ntohs(from->sin_port) : std::uint16_t{0}});
    if (on_packet) {
      on_packet(p);
    } else if (!keep) {
      ring->release(p.buffer);
    }
  }
  bool onSent(std::uint64_t tag, std::uint16_t, int result) override {
    sent.emplace_back(tag, result);
    return false;
  }
  void onReceiveEnded(std::uint64_t tag, int result) override { ended.emplace_back(tag, result); }
};

class RtpRingTest : public ::testing::Test {
 protected:
  void SetUp() override { make(64); }
  void make(unsigned buffers) {
    RtpRing::Created c = RtpRing::create(buffers);
    ASSERT_TRUE(c.ring) << c.error;
    ring = std::move(c.ring);
    handler.ring = ring.get();
  }
  // Polls until `done` or a second has passed.
  bool pollUntil(const std::function<bool()>& done) {
    const auto until = Clock::now() + std::chrono::seconds(1);
    while (Clock::now() < until) {
      ring->poll(handler);
      if (done()) return true;
      ::usleep(1000);
    }
    return false;
  }
  std::unique_ptr<RtpRing> ring;
  Recorder handler;
};

TEST(RtpRingCreate, RefusesABufferCountThatIsNotAPowerOfTwo) {
  EXPECT_FALSE(RtpRing::create(0).ring);
  EXPECT_FALSE(RtpRing::create(100).ring);
  EXPECT_FALSE(RtpRing::create(65536).ring);
  EXPECT_FALSE(RtpRing::create(100).error.empty());
}

TEST_F(RtpRingTest, DatagramsArriveWithTheirTagAndSource) {
  Socket a, b, peer;
  ASSERT_TRUE(ring->receive(a.fd, 7));
  ASSERT_TRUE(ring->receive(b.fd, 8));
  ring->flush();
  peer.sendTo(a, "to a");
  peer.sendTo(b, "to b");
  peer.sendTo(a, "to a again");
  ASSERT_TRUE(pollUntil([&] { return handler.packets.size() == 3; }));
  std::vector<std::string> for_a;
  for (const auto& p : handler.packets) {
    EXPECT_EQ(p.from_port, peer.port());
    EXPECT_FALSE(p.truncated);
    if (p.tag == 7) for_a.push_back(p.text);
    if (p.tag == 8) {
      EXPECT_EQ(p.text, "to b");
    }
  }
  EXPECT_EQ(for_a, (std::vector<std::string>{"to a", "to a again"}));
  EXPECT_TRUE(handler.ended.empty());
  EXPECT_EQ(ring->stats().buffers_out, 0u);
}

TEST_F(RtpRingTest, ALongDatagramIsCutShortAndSaysSo) {
  Socket a, peer;
  ASSERT_TRUE(ring->receive(a.fd, 1));
  ring->flush();
  peer.sendTo(a, std::string(3000, 'x'));
  ASSERT_TRUE(pollUntil([&] { return handler.packets.size() == 1; }));
  EXPECT_TRUE(handler.packets[0].truncated);
  EXPECT_LT(handler.packets[0].text.size(), RtpRing::kBufferSize);
}

TEST_F(RtpRingTest, AReceivedBufferIsSentOnConnectedAndUnconnectedSockets) {
  Socket relay_in, relay_out, caller, agent;
  ASSERT_EQ(::connect(relay_out.fd, reinterpret_cast<sockaddr*>(&agent.addr), sizeof agent.addr), 0);
  ASSERT_TRUE(ring->receive(relay_in.fd, 1));
  ring->flush();
  bool connected = true;
  handler.on_packet = [&](RingPacket& p) {
    p.data[0] = 'R';  // rewritten in place, as a relayed RTP header is
    const bool queued =
        connected ? ring->send(relay_out.fd, p.buffer, p.data, p.size, nullptr, 0, 11)
                  : ring->send(relay_in.fd, p.buffer, p.data, p.size,
                               reinterpret_cast<const sockaddr*>(&caller.addr), sizeof caller.addr, 12);
    ASSERT_TRUE(queued);
  };
  caller.sendTo(relay_in, "hello");
  ASSERT_TRUE(pollUntil([&] { return handler.sent.size() == 1; }));
  EXPECT_EQ(handler.sent[0], (std::pair<std::uint64_t, int>{11, 5}));
  EXPECT_EQ(agent.receive(), "Rello");
  connected = false;
  caller.sendTo(relay_in, "again");
  ASSERT_TRUE(pollUntil([&] { return handler.sent.size() == 2; }));
  EXPECT_EQ(handler.sent[1], (std::pair<std::uint64_t, int>{12, 5}));
  EXPECT_EQ(caller.receive(), "Rgain");
  EXPECT_EQ(ring->stats().buffers_out, 0u) << "each buffer back in the ring after its send";
}

TEST_F(RtpRingTest, SendRefusesDataOutsideTheBuffer) {
  Socket s;
  std::uint8_t elsewhere[16] = {};
  EXPECT_FALSE(ring->send(s.fd, 0, elsewhere, sizeof elsewhere, nullptr, 0, 1));
  EXPECT_FALSE(ring->send(s.fd, 64, elsewhere, sizeof elsewhere, nullptr, 0, 1));
  EXPECT_FALSE(ring->send(-1, 0, elsewhere, sizeof elsewhere, nullptr, 0, 1));
}

TEST_F(RtpRingTest, OutOfBuffersEndsTheReceiveAndItGoesOnOnceReArmed) {
  make(8);
  Socket a, peer;
  ASSERT_TRUE(ring->receive(a.fd, 3));
  ring->flush();
  handler.keep = true;
  for (int i = 0; i < 12; ++i) peer.sendTo(a, "p" + std::to_string(i));
  ASSERT_TRUE(pollUntil([&] { return !handler.ended.empty(); }));
  EXPECT_EQ(handler.packets.size(), 8u);
  EXPECT_EQ(handler.ended[0], (std::pair<std::uint64_t, int>{3, -ENOBUFS}));
  for (const auto& p : handler.packets) ring->release(p.buffer);
  handler.keep = false;
  ASSERT_TRUE(ring->receive(a.fd, 3));
  ASSERT_TRUE(pollUntil([&] { return handler.packets.size() == 12; }));
  EXPECT_EQ(handler.packets.back().text, "p11") << "the datagrams waited in the socket";
}

TEST_F(RtpRingTest, StoppingAReceiveFreesThePortForTheNextSocket) {
  sockaddr_in where{};
  {
    Socket a;
    where = a.addr;
    ASSERT_TRUE(ring->receive(a.fd, 5));
    ring->flush();
    EXPECT_EQ(ring->stats().files_registered, 1u) << "receives and sends skip the file lookup";
    ring->stopReceiving(a.fd);
    EXPECT_EQ(ring->stats().files_registered, 0u);
  }
  const int again = ::socket(AF_INET, SOCK_DGRAM, 0);
  EXPECT_EQ(::bind(again, reinterpret_cast<sockaddr*>(&where), sizeof where), 0) << std::strerror(errno);
  ::close(again);
  ring->poll(handler);
  EXPECT_TRUE(handler.ended.empty()) << "a cancelled receive is not reported as ended";
}

// The kernel runs a bounded number of deferred receive items per io_uring_enter and keeps the
// rest without signalling the eventfd again; hasWork() sees them (the engine relies on it).
TEST_F(RtpRingTest, WorkTheKernelKeptBackShowsInHasWork) {
  make(256);
  constexpr std::size_t kSockets = 100;
  std::vector<std::unique_ptr<Socket>> sockets;
  for (std::size_t i = 0; i < kSockets; ++i) {
    sockets.push_back(std::make_unique<Socket>());
    ASSERT_TRUE(ring->receive(sockets.back()->fd, i));
  }
  ring->flush();
  ring->poll(handler);
  EXPECT_FALSE(ring->hasWork());
  Socket peer;
  for (const auto& s : sockets) peer.sendTo(*s, "x");
  EXPECT_TRUE(ring->hasWork());
  ring->poll(handler);
  const std::size_t first = handler.packets.size();
  if (first < kSockets) {
    EXPECT_TRUE(ring->hasWork()) << first << " of " << kSockets << " after one poll";
  }
  ASSERT_TRUE(pollUntil([&] { return handler.packets.size() == kSockets; }));
  ring->poll(handler);
  EXPECT_FALSE(ring->hasWork());
  std::printf("one poll took %zu of %zu datagrams\n", first, kSockets);
}

TEST_F(RtpRingTest, TheEventFdWakesForADatagram) {
  Socket a, peer;
  ASSERT_TRUE(ring->receive(a.fd, 1));
  ring->flush();
  ring->poll(handler);
  ring->clearNotify();
  pollfd p{ring->notifyFd(), POLLIN, 0};
  EXPECT_EQ(::poll(&p, 1, 0), 0) << "nothing yet";
  peer.sendTo(a, "wake");
  EXPECT_EQ(::poll(&p, 1, 1000), 1);
  ring->clearNotify();
  ASSERT_TRUE(pollUntil([&] { return handler.packets.size() == 1; }));
}

}  // namespace
}  // namespace parley::media
