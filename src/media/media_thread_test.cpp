// MediaThread: the engine on its own loop, reached by post() and call().
#include "media/media_thread.h"

#include <atomic>
#include <vector>

#include <gtest/gtest.h>

namespace parley::media {
namespace {

using namespace std::chrono_literals;

MediaEngineConfig loopbackConfig() {
  MediaEngineConfig c;
  c.rtp_port_min = 41000;
  c.rtp_port_max = 41999;
  return c;
}

TEST(MediaThread, BadConfigFailsToStartWithTheReason) {
  MediaEngineConfig c = loopbackConfig();
  c.rtp_address = "not-an-ip";
  MediaThread::Started t = MediaThread::start(c, {});
  EXPECT_EQ(t.thread, nullptr);
  EXPECT_NE(t.error.find("rtp_address"), std::string::npos) << t.error;
}

TEST(MediaThread, TasksRunInOrderAndCallWaitsForTheEngine) {
  MediaThread::Started t = MediaThread::start(loopbackConfig(), {});
  ASSERT_NE(t.thread, nullptr) << t.error;
  auto order = std::make_shared<std::vector<int>>();  // touched on the media thread only
  for (int i = 0; i < 100; ++i) {
    ASSERT_TRUE(t.thread->post([order, i](MediaEngine&) { order->push_back(i); }));
  }
  auto offer = std::make_shared<MediaEngine::Negotiated>();
  ASSERT_TRUE(t.thread->call([offer](MediaEngine& e) { *offer = e.createOffer(); }, 5s));
  EXPECT_NE(offer->stream, 0u);
  EXPECT_NE(offer->sdp.find("m=audio"), std::string::npos);
  std::vector<int> seen;
  ASSERT_TRUE(t.thread->call([&](MediaEngine&) { seen = *order; }, 5s));
  ASSERT_EQ(seen.size(), 100u);
  for (int i = 0; i < 100; ++i) EXPECT_EQ(seen[static_cast<std::size_t>(i)], i);
}

TEST(MediaThread, StopRunsWhatWasPostedThenRefusesMore) {
  MediaThread::Started t = MediaThread::start(loopbackConfig(), {});
  ASSERT_NE(t.thread, nullptr) << t.error;
  auto ran = std::make_shared<std::atomic<int>>(0);
  for (int i = 0; i < 50; ++i) t.thread->post([ran](MediaEngine&) { ++*ran; });
  t.thread->stop();
  EXPECT_EQ(ran->load(), 50);
  EXPECT_FALSE(t.thread->post([](MediaEngine&) {}));
  EXPECT_FALSE(t.thread->call([](MediaEngine&) {}, 100ms));
  t.thread->stop();  // idempotent
}

}  // namespace
}  // namespace parley::media
