// VoiceController against in-memory SIP, media and prompt ports and the real routing engine:
// every race the header lists, driven event by event.
#include "app/voice_controller.h"

#include "app/voice_test_support.h"

#include <deque>
#include <random>

#include <gtest/gtest.h>

namespace parley::app {
namespace {

using engine::Millis;
using namespace parley::app::testing;  // NOLINT: test fixtures

constexpr const char* kConfig = R"(
sip:
  trusted_sources: [127.0.0.1]
queues:
  - name: sales
    strategy: longest-idle
    offer_timeout: 20s
  - name: support
    strategy: ring-all
    record: true
agents:
  - {extension: "1001", password: demo1001, queues: [sales]}
  - {extension: "1002", password: demo1002, queues: [sales]}
  - {extension: "1003", password: demo1003, queues: [support]}
  - {extension: "1004", password: demo1004, queues: [support]}
entry_points:
  - {called: "sip:100@127.0.0.1", flow: main, set: {campaign: spring}}
flows:
  main:
    start: welcome
    nodes:
      welcome:
        menu:
          prompt: {say: "Press 1 for sales, 2 for support."}
          options: {"1": sales, "2": support}
          timeout: 5s
          retries: 1
          on_failure: bye
      sales:
        queue: {name: sales}
      support:
        queue: {name: support}
      bye: hangup
)";

class VoiceTest : public VoiceTestBase {
 protected:
  VoiceTest() : VoiceTestBase(kConfig) {}
};

TEST_F(VoiceTest, UnknownNumberGets404) {
  sip::InboundCall in;
  in.leg = 7;
  in.request_user = "999";
  in.request_host = "127.0.0.1";
  in.sdp = kOffer;
  voice_->onInvite(in);
  EXPECT_EQ(calls_.rejects[7], 404);
  EXPECT_EQ(voice_->callCount(), 0u);
}

TEST_F(VoiceTest, OfferWithoutAudioGets488) {
  sip::InboundCall in;
  in.leg = 7;
  in.request_user = "100";
  in.request_host = "127.0.0.1";
  in.sdp = "v=0\r\n";
  voice_->onInvite(in);
  EXPECT_EQ(calls_.rejects[7], 488);
}

TEST_F(VoiceTest, LateOfferIsAnsweredWithOurOfferAndTheFlowWaitsForTheAck) {
  sip::InboundCall in;
  in.leg = 8;
  in.request_user = "100";
  in.request_host = "127.0.0.1";
  voice_->onInvite(in);  // no SDP
  ASSERT_EQ(calls_.answers.count(8), 1u);
  EXPECT_EQ(calls_.answers[8].rfind("offer-", 0), 0u) << "our offer goes in the 200";
  voice_->onSdpAnswer(8, kOffer);
  voice_->onEstablished(8);
  EXPECT_FALSE(prompts_.texts.empty()) << "the menu starts once the answer is in";
  EXPECT_FALSE(calls_.hungUp(8));

  // The same, but the ACK carries no usable answer: the call ends, nothing is played.
  prompts_.texts.clear();
  in.leg = 9;
  voice_->onInvite(in);
  voice_->onSdpAnswer(9, "v=0\r\n");
  voice_->onEstablished(9);
  EXPECT_TRUE(calls_.hungUp(9));
  EXPECT_TRUE(prompts_.texts.empty());
  ASSERT_EQ(records_.size(), 1u);
  EXPECT_EQ(records_[0].end_reason, "no-sdp-answer");
}

TEST_F(VoiceTest, ReInvitesAndInfoKeysOfEitherLegGoToTheirStreams) {
  login("1001");
  const sip::LegId caller = callAndPress('1');
  const FakeCalls::Dial* ring = dialTo("1001");
  ASSERT_NE(ring, nullptr);
  voice_->onAnswered(ring->leg, kOffer);
  pump();
  ASSERT_EQ(media_.bridges.size(), 1u);
  const auto [caller_stream, agent_stream] = media_.bridges[0];
  EXPECT_EQ(voice_->onReoffer(caller, kOffer), "reanswer-" + std::to_string(caller_stream));
  EXPECT_EQ(voice_->onReoffer(ring->leg, kOffer), "reanswer-" + std::to_string(agent_stream));
  EXPECT_EQ(voice_->onReoffer(caller, "v=0\r\n"), "") << "refused: 488";
  EXPECT_EQ(voice_->onReoffer(4242, kOffer), "") << "unknown leg";
  ASSERT_EQ(media_.reoffers.size(), 2u);
  EXPECT_EQ(media_.reoffers[0].first, caller_stream);
  EXPECT_EQ(media_.reoffers[1].first, agent_stream);

  // Keys by SIP INFO in the bridged call go on to the other phone as RFC 4733 events.
  voice_->onInfoDtmf(caller, '4');
  voice_->onInfoDtmf(ring->leg, '#');
  EXPECT_EQ(media_.digits_sent,
            (std::vector<std::pair<media::StreamId, char>>{{agent_stream, '4'}, {caller_stream, '#'}}));
}

TEST_F(VoiceTest, MenuKeyQueuesAndLongestIdleAgentIsConnected) {
  login("1002");
  now_ += Millis{1000};
  login("1001");
  const sip::LegId caller = callAndPress('1');
  EXPECT_EQ(calls_.answers.count(caller), 1u);
  ASSERT_FALSE(prompts_.texts.empty());
  EXPECT_EQ(prompts_.texts[0], "Press 1 for sales, 2 for support.");
  // 1002 logged in first, so it has been idle longest.
  const FakeCalls::Dial* dial = dialTo("1002");
  ASSERT_NE(dial, nullptr);
  EXPECT_EQ(dialTo("1001"), nullptr);
  EXPECT_EQ(dial->request.from_user, "0701234567");
  voice_->onAnswered(dial->leg, kAnswer);
  pump();
  ASSERT_EQ(media_.bridges.size(), 1u);
  // Both directions still relay once the flow has finished (its last music stop included).
  EXPECT_EQ(media_.bridged.count(media_.bridges[0].first), 1u);
  EXPECT_EQ(media_.bridged.count(media_.bridges[0].second), 1u);
  EXPECT_FALSE(media_.recordings[0].has_value());  // sales does not record
  // The agent hangs up: the caller's leg goes too and the record says who.
  voice_->onLegEnded(dial->leg, sip::LegEnded{sip::LegEnd::Bye, true, 0, ""});
  pump();
  EXPECT_TRUE(calls_.hungUp(caller));
  EXPECT_TRUE(std::holds_alternative<engine::ev::ContactCompleted>(routing_.history.back()));
  ASSERT_EQ(records_.size(), 1u);
  const store::Interaction& r = records_[0];
  EXPECT_EQ(r.outcome, "answered");
  EXPECT_EQ(r.agent, "1002");
  EXPECT_EQ(r.ended_by, "agent");
  EXPECT_EQ(r.queue, "sales");
  EXPECT_EQ(r.attributes.at("campaign"), "spring");
  ASSERT_EQ(r.digits.size(), 1u);
  EXPECT_EQ(r.digits[0].key, '1');
  EXPECT_EQ(r.digits[0].via, "info");
  ASSERT_EQ(r.offers.size(), 1u);
  EXPECT_EQ(r.offers[0].result, "answered");
  ASSERT_FALSE(r.ivr_path.empty());
  EXPECT_EQ(r.ivr_path[0].node, "welcome");
  EXPECT_EQ(r.ivr_path[0].result, "1");
  EXPECT_EQ(routing_.engine.liveContactCount(), 0u);
  EXPECT_TRUE(media_.open.empty());
  EXPECT_EQ(voice_->callCount(), 0u);
}

TEST_F(VoiceTest, CallerHangingUpWhileAgentRingsIsAbandonedAndTheRingingStops) {
  login("1001");
  const sip::LegId caller = callAndPress('1');
  const FakeCalls::Dial* dial = dialTo("1001");
  ASSERT_NE(dial, nullptr);
  now_ += Millis{8000};
  voice_->onLegEnded(caller, sip::LegEnded{sip::LegEnd::Bye, true, 0, ""});
  pump();
  EXPECT_TRUE(calls_.hungUp(dial->leg));
  ASSERT_EQ(records_.size(), 1u);
  EXPECT_EQ(records_[0].outcome, "abandoned");
  EXPECT_EQ(records_[0].ended_by, "caller");
  EXPECT_EQ(routing_.engine.liveContactCount(), 0u);
  // The agent's phone answers anyway, too late: that leg is hung up.
  const std::size_t before = calls_.hangups.size();
  voice_->onAnswered(dial->leg, kAnswer);
  EXPECT_EQ(calls_.hangups.size(), before + 1);
  EXPECT_EQ(routing_.engine.agentState(agent("1001")), engine::AgentState::Available);
}

TEST_F(VoiceTest, ShortAbandonWhenTheCallerLeavesQuickly) {
  const sip::LegId caller = callAndPress('1');  // nobody logged in: waits
  now_ += Millis{2000};
  voice_->onLegEnded(caller, sip::LegEnded{sip::LegEnd::Bye, true, 0, ""});
  pump();
  ASSERT_EQ(records_.size(), 1u);
  EXPECT_EQ(records_[0].outcome, "short-abandon");
}

TEST_F(VoiceTest, BusyAgentMovesTheCallToTheNextAgent) {
  login("1001");
  now_ += Millis{1000};
  login("1002");
  callAndPress('1');
  const FakeCalls::Dial* first = dialTo("1001");
  ASSERT_NE(first, nullptr);
  voice_->onLegEnded(first->leg, sip::LegEnded{sip::LegEnd::Failed, true, 486, "Busy Here"});
  pump();
  const FakeCalls::Dial* second = dialTo("1002");
  ASSERT_NE(second, nullptr);
  voice_->onAnswered(second->leg, kAnswer);
  pump();
  ASSERT_EQ(media_.bridges.size(), 1u);
  voice_->shutdown();
  ASSERT_EQ(records_.size(), 1u);
  ASSERT_EQ(records_[0].offers.size(), 2u);
  EXPECT_EQ(records_[0].offers[0].agent, "1001");
  EXPECT_EQ(records_[0].offers[0].result, "rejected");
  EXPECT_EQ(records_[0].offers[0].sip_code, 486);
  EXPECT_EQ(records_[0].offers[1].result, "answered");
  EXPECT_EQ(records_[0].agent, "1002");
}

TEST_F(VoiceTest, RingAllSecondAnswerGetsBye) {
  login("1003");
  login("1004");
  const sip::LegId caller = callAndPress('2');
  const FakeCalls::Dial* a = dialTo("1003");
  const FakeCalls::Dial* b = dialTo("1004");
  ASSERT_NE(a, nullptr);
  ASSERT_NE(b, nullptr);
  // Both answer before the engine hears of either.
  voice_->onAnswered(a->leg, kAnswer);
  voice_->onAnswered(b->leg, kAnswer);
  pump();
  ASSERT_EQ(media_.bridges.size(), 1u);
  EXPECT_TRUE(media_.recordings[0].has_value());  // support records
  EXPECT_TRUE(calls_.hungUp(b->leg));
  EXPECT_FALSE(calls_.hungUp(a->leg));
  EXPECT_FALSE(calls_.hungUp(caller));
  EXPECT_EQ(routing_.engine.agentState(agent("1003")), engine::AgentState::Busy);
  EXPECT_EQ(routing_.engine.agentState(agent("1004")), engine::AgentState::Available);
  voice_->onLegEnded(caller, sip::LegEnded{sip::LegEnd::Bye, true, 0, ""});
  pump();
  ASSERT_EQ(records_.size(), 1u);
  EXPECT_EQ(records_[0].ended_by, "caller");
  EXPECT_EQ(records_[0].outcome, "answered");
  EXPECT_FALSE(records_[0].recording.empty());
}

TEST_F(VoiceTest, AgentWithoutARegisteredPhoneIsSkipped) {
  login("1001");
  phones_["1001"].clear();  // registration gone, logout not yet seen
  now_ += Millis{1000};
  login("1002");
  callAndPress('1');
  EXPECT_EQ(dialTo("1001"), nullptr);
  EXPECT_NE(dialTo("1002"), nullptr);
}

TEST_F(VoiceTest, EveryPhoneOfTheAgentRingsAndTheFirstAnswerWins) {
  phones_["1001"].push_back("sip:1001@127.0.0.1:6001");
  login("1001");
  callAndPress('1');
  ASSERT_EQ(calls_.dials.size(), 2u);
  voice_->onAnswered(calls_.dials[1].leg, kAnswer);
  EXPECT_TRUE(calls_.hungUp(calls_.dials[0].leg));
  pump();
  EXPECT_EQ(media_.bridges.size(), 1u);
}

TEST_F(VoiceTest, NoKeyHangsUpAfterTheRetries) {
  sip::InboundCall in;
  in.leg = 3;
  in.request_user = "100";
  in.request_host = "127.0.0.1";
  in.sdp = kOffer;
  voice_->onInvite(in);
  voice_->onEstablished(3);
  for (int i = 0; i < 10 && voice_->callCount() > 0; ++i) {
    prompts();
    voice_->onPlaybackDone(1, media_.playing.count(1) ? media_.playing[1] : 0);
    advance(Millis{6000});
  }
  EXPECT_TRUE(calls_.hungUp(3));
  ASSERT_EQ(records_.size(), 1u);
  EXPECT_EQ(records_[0].outcome, "ivr-hangup");
  EXPECT_EQ(records_[0].ended_by, "system");
}

TEST_F(VoiceTest, QueuedCallerHearsMusicAndPositionUpdates) {
  callAndPress('1');
  EXPECT_EQ(media_.looping.count(1), 1u);
  ASSERT_FALSE(routing_.info_requests.empty());
  voice_->onQueueInfo({QueueInfo{engine::ContactId{1}, 1, Millis{60'000}}});
  EXPECT_EQ(voice_->callCount(), 1u);
}

TEST_F(VoiceTest, MediaTimeoutEndsTheCall) {
  const sip::LegId caller = callAndPress('1');
  voice_->onMediaTimeout(1);
  EXPECT_TRUE(calls_.hungUp(caller));
  ASSERT_EQ(records_.size(), 1u);
  EXPECT_EQ(records_[0].end_reason, "rtp-timeout");
}

// Random orderings of everything the network and the people can do, with fixed seeds: whatever
// happens, the engine's invariants hold, and at the end every call has left exactly one record,
// no media stream is left open and the engine holds no contact.
TEST_F(VoiceTest, RandomOrderingsLeaveNothingBehind) {
  for (std::uint32_t seed = 1; seed <= 20; ++seed) {
    std::mt19937 rng(seed);
    const auto pick = [&](std::size_t n) {
      return std::uniform_int_distribution<std::size_t>(0, n - 1)(rng);
    };
    const std::vector<std::string> agents = {"1001", "1002", "1003", "1004"};
    std::set<sip::LegId> callers;  // live caller legs
    std::set<sip::LegId> dialled;  // agent legs not ended yet
    std::size_t seen_dials = calls_.dials.size();
    std::size_t started = 0;
    const std::size_t records_before = records_.size();
    sip::LegId next_leg = 1 + seed * 100'000;
    for (int step = 0; step < 400; ++step) {
      for (; seen_dials < calls_.dials.size(); ++seen_dials) {
        dialled.insert(calls_.dials[seen_dials].leg);
      }
      for (sip::LegId leg : calls_.hangups) {
        // A leg the controller hung up ends (on_ended follows in the real stack).
        if (dialled.erase(leg) != 0 || callers.erase(leg) != 0) {
          voice_->onLegEnded(leg, sip::LegEnded{sip::LegEnd::LocalHangup, false, 0, ""});
        }
      }
      calls_.hangups.clear();
      // Weighted so calls get through the menu, wait, ring and talk before most of them end.
      constexpr int kAction[] = {0, 0, 1, 1, 1, 2, 3, 3, 4, 5, 6, 6, 7, 8};
      switch (kAction[pick(std::size(kAction))]) {
        case 0: {  // a new call
          sip::InboundCall in;
          in.leg = next_leg++;
          in.request_user = "100";
          in.request_host = "127.0.0.1";
          in.from_user = "07" + std::to_string(pick(5));
          in.sdp = kOffer;
          voice_->onInvite(in);
          if (calls_.answers.count(in.leg) != 0) {
            callers.insert(in.leg);
            ++started;
            if (pick(4) != 0) voice_->onEstablished(in.leg);
          }
          break;
        }
        case 1:  // a caller presses a key
          if (!callers.empty()) {
            const sip::LegId leg = *std::next(callers.begin(), pick(callers.size()));
            voice_->onInfoDtmf(leg, "1212129*"[pick(8)]);
          }
          break;
        case 2:  // a caller hangs up
          if (!callers.empty()) {
            const sip::LegId leg = *std::next(callers.begin(), pick(callers.size()));
            callers.erase(leg);
            voice_->onLegEnded(leg, sip::LegEnded{sip::LegEnd::Bye, true, 0, ""});
          }
          break;
        case 3:  // an agent's phone answers (perhaps late, perhaps twice)
          if (!dialled.empty() && pick(4) != 0) {
            voice_->onAnswered(*std::next(dialled.begin(), pick(dialled.size())), kAnswer);
          } else if (!calls_.dials.empty()) {
            voice_->onAnswered(calls_.dials[pick(calls_.dials.size())].leg, kAnswer);
          }
          break;
        case 4:  // an agent's phone refuses, fails or hangs up
          if (!dialled.empty()) {
            const sip::LegId leg = *std::next(dialled.begin(), pick(dialled.size()));
            dialled.erase(leg);
            voice_->onLegEnded(leg, pick(2) ? sip::LegEnded{sip::LegEnd::Failed, true, 486, ""}
                                            : sip::LegEnded{sip::LegEnd::Bye, true, 0, ""});
          }
          break;
        case 5: {  // an agent's phone registers or goes away
          const std::string& ext = agents[pick(agents.size())];
          if (pick(2)) {
            login(ext);
          } else {
            phones_[ext].clear();
            routing_.post(engine::ev::AgentLogout{agent(ext)});
          }
          break;
        }
        case 6:
          prompts();
          for (const auto& [stream, token] : media_.playing) voice_->onPlaybackDone(stream, token);
          break;
        case 7:
          advance(Millis{static_cast<std::int64_t>(pick(8000))});
          break;
        default:
          if (!media_.open.empty() && pick(3) == 0) {
            voice_->onMediaTimeout(*std::next(media_.open.begin(), pick(media_.open.size())));
          }
      }
      pump();
    }
    voice_->shutdown();
    pump();
    ASSERT_EQ(records_.size() - records_before, started) << "seed " << seed;
    EXPECT_TRUE(media_.open.empty()) << "seed " << seed;
    EXPECT_EQ(voice_->callCount(), 0u) << "seed " << seed;
    EXPECT_EQ(routing_.engine.liveContactCount(), 0u) << "seed " << seed;
    std::set<std::string> ids;
    for (std::size_t i = records_before; i < records_.size(); ++i) {
      EXPECT_TRUE(ids.insert(records_[i].id).second) << "duplicate record " << records_[i].id;
      EXPECT_FALSE(records_[i].outcome.empty()) << records_[i].id;
    }
  }
}

constexpr const char* kQueueConfig = R"(
queues:
  - {name: sales, announce_every: 10s, callback_key: "*"}
  - {name: brief, max_wait: 30s}
agents:
  - {extension: "1001", password: demo1001, queues: [sales]}
entry_points:
  - {called: "100", flow: wait}
  - {called: "200", flow: out}
  - {called: "300", flow: brief}
flows:
  brief:
    start: q
    nodes:
      q:
        queue: {name: brief, on_exit: full}
      full:
        play: {prompts: [{say: "Everyone is busy, please call later."}], next: bye}
      bye: hangup
  wait:
    start: q
    nodes:
      q:
        queue: {name: sales, on_callback: cb}
      cb:
        play: {prompts: [{say: "We will call you back."}], next: bye}
      bye: hangup
  out:
    start: t
    nodes:
      t:
        transfer: {uri: "sip:999@192.0.2.9", on_failure: sorry}
      sorry:
        play: {prompts: [{say: "Sorry, nobody is there."}], next: bye}
      bye: hangup
)";

class VoiceQueueTest : public VoiceTestBase {
 protected:
  VoiceQueueTest() : VoiceTestBase(kQueueConfig) {}
  bool heard(const std::string& needle) const {
    return std::any_of(prompts_.texts.begin(), prompts_.texts.end(),
                       [&](const std::string& t) { return t.find(needle) != std::string::npos; });
  }
};

TEST_F(VoiceQueueTest, AnnouncementSaysPositionAndExpectedWait) {
  callAndPress(0);
  EXPECT_EQ(media_.looping.count(1), 1u);  // music on hold
  // Queued: the controller asks the engine thread where the caller stands; the first
  // announcement comes with the answer.
  ASSERT_EQ(routing_.info_requests.size(), 1u);
  EXPECT_FALSE(heard("line"));
  voice_->onQueueInfo({QueueInfo{engine::ContactId{1}, 3, Millis{120'000}}});
  prompts();
  EXPECT_TRUE(heard("number 3")) << (prompts_.texts.empty() ? "" : prompts_.texts.back());
  EXPECT_TRUE(heard("2 minutes")) << prompts_.texts.back();
  ASSERT_EQ(media_.playing.count(1), 1u);  // the announcement replaced the music...
  voice_->onPlaybackDone(1, media_.playing[1]);
  EXPECT_EQ(media_.looping.count(1), 1u);  // ...which comes back after it
  // The next one 10 s later, with what the engine says then.
  voice_->onQueueInfo({QueueInfo{engine::ContactId{1}, 1, Millis{20'000}}});
  const std::size_t said = prompts_.texts.size();
  advance(Millis{9'000});
  EXPECT_EQ(prompts_.texts.size(), said);
  advance(Millis{1'000});
  prompts();
  ASSERT_GT(prompts_.texts.size(), said);
  EXPECT_NE(prompts_.texts.back().find("next in line"), std::string::npos) << prompts_.texts.back();
}

TEST_F(VoiceQueueTest, PositionsAreRefreshedWhileWaiting) {
  callAndPress(0);
  const std::size_t asked = routing_.info_requests.size();
  advance(Millis{5'000});
  ASSERT_GT(routing_.info_requests.size(), asked);
  EXPECT_EQ(routing_.info_requests.back(), std::vector<engine::ContactId>{engine::ContactId{1}});
}

TEST_F(VoiceQueueTest, CallbackKeyLeavesTheQueueForTheCallbackNode) {
  const sip::LegId caller = callAndPress(0);
  voice_->onDtmf(1, '*', media::DtmfSource::InBand);
  EXPECT_TRUE(std::any_of(routing_.history.begin(), routing_.history.end(), [](const auto& e) {
    return std::holds_alternative<engine::ev::ContactLeftQueue>(e);
  }));
  pump();
  prompts();
  EXPECT_TRUE(heard("We will call you back."));
  voice_->onPlaybackDone(1, media_.playing[1]);
  EXPECT_TRUE(calls_.hungUp(caller));
  ASSERT_EQ(records_.size(), 1u);
  EXPECT_EQ(records_[0].outcome, "exited");
  EXPECT_EQ(records_[0].digits.at(0).via, "inband");
  EXPECT_EQ(routing_.engine.liveContactCount(), 0u);
}

TEST_F(VoiceQueueTest, MaxWaitExitGoesToTheFlowsOnExitNode) {
  const sip::LegId caller = callAndPress(0, 1, "300");
  advance(Millis{29'000});
  EXPECT_FALSE(heard("Everyone is busy"));
  advance(Millis{1'000});
  prompts();
  EXPECT_TRUE(heard("Everyone is busy, please call later."));
  voice_->onPlaybackDone(1, media_.playing[1]);
  EXPECT_TRUE(calls_.hungUp(caller));
  ASSERT_EQ(records_.size(), 1u);
  EXPECT_EQ(records_[0].outcome, "exited");
  EXPECT_EQ(records_[0].end_reason, "max-wait");
  EXPECT_EQ(routing_.engine.liveContactCount(), 0u);
}

TEST_F(VoiceQueueTest, TransferBridgesTheCallerToTheTarget) {
  const sip::LegId caller = callAndPress(0, 1, "200");
  ASSERT_EQ(calls_.dials.size(), 1u);
  EXPECT_EQ(calls_.dials[0].request.target, "sip:999@192.0.2.9");
  voice_->onAnswered(calls_.dials[0].leg, kAnswer);
  ASSERT_EQ(media_.bridges.size(), 1u);
  voice_->onLegEnded(calls_.dials[0].leg, sip::LegEnded{sip::LegEnd::Bye, true, 0, ""});
  EXPECT_TRUE(calls_.hungUp(caller));
  ASSERT_EQ(records_.size(), 1u);
  EXPECT_EQ(records_[0].outcome, "transferred");
}

TEST_F(VoiceQueueTest, FailedTransferGoesToOnFailure) {
  const sip::LegId caller = callAndPress(0, 1, "200");
  ASSERT_EQ(calls_.dials.size(), 1u);
  voice_->onLegEnded(calls_.dials[0].leg, sip::LegEnded{sip::LegEnd::Failed, true, 404, "Not Found"});
  prompts();
  EXPECT_TRUE(heard("Sorry, nobody is there."));
  EXPECT_FALSE(calls_.hungUp(caller));
  EXPECT_TRUE(media_.bridges.empty());
}

}  // namespace
}  // namespace parley::app
