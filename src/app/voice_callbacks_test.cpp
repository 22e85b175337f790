// Callbacks through the voice controller: the IVR's callback key and node, the book's effects,
// agent-first dialling with the whisper, retries, durability hand-offs and refusals.
#include <gtest/gtest.h>

#include "app/voice_call.h"
#include "app/voice_controller.h"
#include "app/voice_test_support.h"

namespace parley::app {
namespace {

using engine::Millis;
using namespace parley::app::testing;  // NOLINT: test fixtures

constexpr const char* kConfig = R"(
sip:
  trusted_sources: [127.0.0.1]
queues:
  - name: sales
    offer_timeout: 20s
agents:
  - {extension: "1001", password: demo1001, queues: [sales]}
entry_points:
  - {called: "100", flow: main}
flows:
  main:
    start: welcome
    nodes:
      welcome:
        menu:
          prompt: {say: "Press 1 for sales."}
          options: {"1": sales}
      sales:
        queue: {name: sales, callback_key: "*", on_callback: book}
      book:
        callback: {next: thanks, on_failure: sorry}
      thanks:
        play: {prompts: [{say: "We will call you back on ${caller:digits}."}], next: bye}
      sorry:
        play: {prompts: [{say: "Sorry, we cannot call you back."}], next: bye}
      bye: hangup
)";

// The contact ids of the callbacks a controller put in the engine, in order.
std::vector<engine::ContactId> callbackContactsOf(const std::vector<engine::Event>& history) {
  std::vector<engine::ContactId> out;
  for (const engine::Event& e : history) {
    if (const auto* a = std::get_if<engine::ev::ContactArrived>(&e);
        a != nullptr && a->contact.channel == engine::Channel::Callback) {
      out.push_back(a->contact.id);
    }
  }
  return out;
}

class CallbackTest : public VoiceTestBase {
 protected:
  CallbackTest()
      : VoiceTestBase(kConfig, [](VoiceSetup& s) {
          CallbackPolicy p;
          p.enabled = true;
          p.max_attempts = 2;
          p.retry_after = Millis{60'000};
          s.callback_queues = {{"sales", p}};
          s.callback_dialing.trunk_uri = "sip:trunk.example.com:5080;transport=udp";
          s.callback_dialing.caller_id = "555000";
        }) {}

  std::vector<engine::ContactId> callbackContacts() const {
    return callbackContactsOf(routing_.history);
  }
  const FakeCalls::Dial* lastDialTo(const std::string& prefix) const {
    for (auto it = calls_.dials.rbegin(); it != calls_.dials.rend(); ++it) {
      if (it->request.target.rfind(prefix, 0) == 0) return &*it;
    }
    return nullptr;
  }
  // The agent answers the offer, hears the whisper; returns the agent's leg.
  sip::LegId agentTakes() {
    const FakeCalls::Dial* ring = lastDialTo("sip:1001@");
    EXPECT_NE(ring, nullptr);
    if (ring == nullptr) return 0;
    const sip::LegId leg = ring->leg;
    voice_->onAnswered(leg, kAnswer);
    pump();
    prompts();  // the whisper is rendered
    return leg;
  }
  // The whisper to the agent's phone ends; the customer is dialled.
  void whisperEnds() {
    for (const auto& [stream, token] : media_.playing) {
      if (token == kWhisperToken && media_.open.count(stream) != 0) {
        voice_->onPlaybackDone(stream, token);
        return;
      }
    }
    ADD_FAILURE() << "no whisper is playing";
  }
  std::string onlyStoredState() const {
    if (stored_.size() != 1) return "(" + std::to_string(stored_.size()) + " stored)";
    return stored_.begin()->second.state;
  }
};

// A second server on a fresh engine, for restarts.
struct FreshStart : CallbackTest {
  void TestBody() override {}
  using CallbackTest::callbackContacts;
  using CallbackTest::stored_;
  using CallbackTest::voice_;
};

TEST_F(CallbackTest, CallbackKeyKeepsThePlaceThenAgentHearsWhoThenCustomerIsBridged) {
  const sip::LegId first = callAndPress('1', 1);  // waits from t=100 s
  now_ += Millis{10'000};
  callAndPress('1', 2);  // a later caller
  now_ += Millis{5 * 60'000};
  voice_->onInfoDtmf(first, '*');
  pump();
  prompts();  // "We will call you back on ..."
  EXPECT_NE(std::find(prompts_.texts.begin(), prompts_.texts.end(),
                      "We will call you back on 0 7 0 1 2 3 4 5 6 7."),
            prompts_.texts.end());
  ASSERT_EQ(stored_.size(), 1u);
  const store::Callback& cb = stored_.begin()->second;
  EXPECT_EQ(cb.state, "waiting");
  EXPECT_EQ(cb.number, "0701234567");
  EXPECT_EQ(cb.source, "ivr");
  EXPECT_EQ(cb.place_since, 1'700'000'000'000 + 100'000);
  const auto contacts = callbackContacts();
  ASSERT_EQ(contacts.size(), 1u);
  EXPECT_EQ(routing_.engine.position(contacts[0]), 1u) << "ahead of the later caller";

  login("1001");  // 6 minutes after the first caller queued
  const FakeCalls::Dial* ring = lastDialTo("sip:1001@");
  ASSERT_NE(ring, nullptr);
  EXPECT_EQ(ring->request.from_display, "Callback sales: 0701234567");
  const sip::LegId agent_leg = agentTakes();
  EXPECT_EQ(prompts_.texts.back(), "Callback for 0 7 0 1 2 3 4 5 6 7, sales, waited 5 minutes.");
  EXPECT_TRUE(calls_.dials.back().request.target.rfind("sip:1001@", 0) == 0)
      << "the customer is not dialled before the agent heard who it is";
  whisperEnds();
  const FakeCalls::Dial* out = lastDialTo("sip:0701234567@");
  ASSERT_NE(out, nullptr);
  EXPECT_EQ(out->request.target, "sip:0701234567@trunk.example.com:5080;transport=udp");
  EXPECT_EQ(out->request.from_user, "555000");
  EXPECT_EQ(onlyStoredState(), "dialing") << "the attempt is written before the phone rings";
  EXPECT_EQ(stored_.begin()->second.attempts, 1);
  const sip::LegId customer = out->leg;
  voice_->onAnswered(customer, kAnswer);
  pump();
  EXPECT_EQ(onlyStoredState(), "done");
  EXPECT_EQ(stored_.begin()->second.outcome, "connected");
  ASSERT_FALSE(media_.bridges.empty());
  voice_->onLegEnded(customer, sip::LegEnded{sip::LegEnd::Bye, true, 0, ""});
  pump();
  EXPECT_TRUE(calls_.hungUp(agent_leg));
  const auto rec = std::find_if(records_.begin(), records_.end(), [](const store::Interaction& r) {
    return r.channel == "callback";
  });
  ASSERT_NE(rec, records_.end());
  EXPECT_EQ(rec->agent, "1001");
  EXPECT_EQ(rec->outcome, "answered");
  EXPECT_EQ(rec->caller, "0701234567");
  EXPECT_EQ(rec->attributes.at("callback_id"), cb.id);
  // The first caller's own call record says it left for a callback.
  voice_->onLegEnded(first, sip::LegEnded{sip::LegEnd::Bye, true, 0, ""});
  const auto left = std::find_if(records_.begin(), records_.end(),
                                 [](const store::Interaction& r) { return r.channel == "voice"; });
  ASSERT_NE(left, records_.end());
  EXPECT_EQ(left->outcome, "exited");
  EXPECT_EQ(left->attributes.at("callback_id"), cb.id);
}

TEST_F(CallbackTest, UnansweredCustomerIsRetriedAfterTheGapThenGivenUp) {
  CallbackRequest req;
  req.queue = "sales";
  req.number = "+441234567";
  req.source = "web";
  const CallbackReply reply = voice_->requestCallback(req);
  ASSERT_TRUE(reply.accepted());
  EXPECT_EQ(reply.status, BookStatus::Created);
  login("1001");
  for (int attempt = 1; attempt <= 2; ++attempt) {
    const sip::LegId agent_leg = agentTakes();
    whisperEnds();
    const FakeCalls::Dial* out = lastDialTo("sip:+441234567@");
    ASSERT_NE(out, nullptr);
    voice_->onLegEnded(out->leg, sip::LegEnded{sip::LegEnd::Failed, true, 480, "Unavailable"});
    pump();
    EXPECT_TRUE(calls_.hungUp(agent_leg)) << "the agent's call ends with the attempt";
    const store::Callback& cb = stored_.at(reply.id);
    ASSERT_EQ(cb.attempt_log.size(), static_cast<std::size_t>(attempt));
    EXPECT_EQ(cb.attempt_log.back().result, "no-answer");
    EXPECT_EQ(cb.attempt_log.back().sip_code, 480);
    EXPECT_EQ(cb.attempt_log.back().agent, "1001");
    if (attempt == 1) {
      EXPECT_EQ(cb.state, "scheduled");
      EXPECT_EQ(callbackContacts().size(), 1u);
      advance(Millis{59'000});
      EXPECT_EQ(callbackContacts().size(), 1u) << "not before the gap";
      advance(Millis{1'000});
      EXPECT_EQ(callbackContacts().size(), 2u) << "back in the queue after the gap";
    } else {
      EXPECT_EQ(cb.state, "done");
      EXPECT_EQ(cb.outcome, "failed");
    }
  }
  EXPECT_EQ(voice_->callbackBook().openCount(), 0u);
  EXPECT_EQ(routing_.engine.liveContactCount(), 0u);
  const auto failed = std::count_if(records_.begin(), records_.end(), [](const auto& r) {
    return r.outcome == "callback-no-answer";
  });
  EXPECT_EQ(failed, 2);
}

class CustomerFirstTest : public VoiceTestBase {
 protected:
  CustomerFirstTest()
      : VoiceTestBase(kConfig, [](VoiceSetup& s) {
          CallbackPolicy p;
          p.enabled = true;
          p.customer_first = true;
          p.customer_ring = Millis{30'000};
          s.callback_queues = {{"sales", p}};
          s.callback_dialing.trunk_uri = "sip:trunk.example.com";
        }) {}
};

TEST_F(CustomerFirstTest, CustomerIsCalledFirstThenTheReservedAgentRings) {
  CallbackRequest req;
  req.queue = "sales";
  req.number = "+441234567";
  const CallbackReply reply = voice_->requestCallback(req);
  ASSERT_TRUE(reply.accepted());
  login("1001");
  ASSERT_EQ(calls_.dials.size(), 1u) << "only the customer rings";
  const FakeCalls::Dial customer = calls_.dials[0];
  EXPECT_EQ(customer.request.target, "sip:+441234567@trunk.example.com");
  EXPECT_EQ(routing_.engine.agentState(agent("1001")), engine::AgentState::Reserved);
  EXPECT_EQ(stored_.at(reply.id).state, "dialing");
  // The offer lasts the sales offer timeout (20 s) plus the customer's ring time.
  advance(Millis{45'000});
  EXPECT_EQ(routing_.engine.agentState(agent("1001")), engine::AgentState::Reserved);
  voice_->onAnswered(customer.leg, kAnswer);
  pump();
  EXPECT_EQ(stored_.at(reply.id).outcome, "connected");
  prompts();  // the greeting
  ASSERT_FALSE(prompts_.texts.empty());
  EXPECT_EQ(prompts_.texts.back(),
            "Hello, this is the call back you asked for from sales. Please hold while we "
            "connect you.");
  const FakeCalls::Dial* ring = dialTo("1001");
  ASSERT_NE(ring, nullptr) << "the agent rings once the customer is there";
  voice_->onAnswered(ring->leg, kAnswer);
  pump();
  ASSERT_EQ(media_.bridges.size(), 1u);
  EXPECT_TRUE(prompts_.pending.empty()) << "no whisper in customer-first order";
  voice_->onLegEnded(ring->leg, sip::LegEnded{sip::LegEnd::Bye, true, 0, ""});
  pump();
  EXPECT_TRUE(calls_.hungUp(customer.leg));
  EXPECT_EQ(routing_.engine.liveContactCount(), 0u);
}

TEST_F(CustomerFirstTest, UnansweredCustomerFreesTheReservedAgent) {
  CallbackRequest req;
  req.queue = "sales";
  req.number = "+441234567";
  const CallbackReply reply = voice_->requestCallback(req);
  login("1001");
  voice_->onLegEnded(calls_.dials[0].leg, sip::LegEnded{sip::LegEnd::Failed, true, 486, "Busy"});
  pump();
  EXPECT_EQ(stored_.at(reply.id).attempt_log.back().result, "busy");
  EXPECT_EQ(stored_.at(reply.id).state, "scheduled");
  EXPECT_EQ(routing_.engine.agentState(agent("1001")), engine::AgentState::Available);
  EXPECT_EQ(routing_.engine.liveContactCount(), 0u);
  EXPECT_EQ(calls_.dials.size(), 1u) << "the agent's phone never rang";
}

constexpr const char* kScheduleConfig = R"(
sip:
  trusted_sources: [127.0.0.1]
queues:
  - name: sales
agents:
  - {extension: "1001", password: demo1001, queues: [sales]}
entry_points:
  - {called: "100", flow: main}
flows:
  main:
    start: welcome
    nodes:
      welcome:
        menu:
          prompt: {say: "Press 1 for sales."}
          options: {"1": sales}
      sales:
        queue: {name: sales, callback_key: "*", on_callback: pick}
      pick:
        schedule_callback: {slots: 2, next: thanks, on_failure: bye}
      thanks:
        play: {prompts: [{say: "We will call you ${callback_time}."}], next: bye}
      bye: hangup
)";

class ScheduleTest : public VoiceTestBase {
 protected:
  ScheduleTest()
      : VoiceTestBase(kScheduleConfig, [](VoiceSetup& s) {
          CallbackPolicy p;
          p.enabled = true;
          p.slot_length = Millis{30 * 60'000};
          p.slot_capacity = 1;
          p.min_lead = Millis{60 * 60'000};
          s.callback_queues = {{"sales", p}};
          s.callback_dialing.trunk_uri = "sip:trunk.example.com";
        }) {}
};

TEST_F(ScheduleTest, CallerPicksAReadOutTimeAndTheBookingIsStored) {
  const sip::LegId leg = callAndPress('1');
  voice_->onInfoDtmf(leg, '*');
  pump();
  // Wall time is 1'700'000'100'000 ms (the fixture's): 22:15 UTC; the first slot an hour on,
  // on the half hour, is 23:30 (the fixture's local time keeps one date: "today").
  ASSERT_FALSE(prompts_.texts.empty());
  EXPECT_EQ(prompts_.texts.back(), "For today at 11:30 PM, press 1. For today at 12 AM, press 2.");
  prompts();
  voice_->onInfoDtmf(leg, '1');
  pump();
  ASSERT_EQ(stored_.size(), 1u);
  const store::Callback& cb = stored_.begin()->second;
  EXPECT_EQ(cb.state, "scheduled");
  ASSERT_TRUE(cb.scheduled_for.has_value());
  EXPECT_EQ(*cb.scheduled_for % (30 * 60'000), 0);
  EXPECT_EQ(prompts_.texts.back(), "We will call you today at 11:30 PM.");
  EXPECT_TRUE(callbackContactsOf(routing_.history).empty())
      << "a booked callback waits for its time";
  // The slot is taken now: it is not offered again.
  const std::optional<CallbackAvailability> a = voice_->callbackAvailability("sales");
  ASSERT_TRUE(a);
  ASSERT_FALSE(a->slots.empty());
  EXPECT_NE(a->slots.front().start, *cb.scheduled_for);
  // At its time (the fixture's clock, not a sleep) it enters the queue, ordered by that time.
  const store::EpochMillis at = *cb.scheduled_for;
  const auto wall = [this] { return 1'700'000'000'000 + now_.time_since_epoch().count(); };
  advance(Millis{at - wall() - 1});
  EXPECT_TRUE(callbackContactsOf(routing_.history).empty()) << "not a moment early";
  advance(Millis{1});
  const auto contacts = callbackContactsOf(routing_.history);
  ASSERT_EQ(contacts.size(), 1u);
  const auto arrived =
      std::find_if(routing_.history.begin(), routing_.history.end(), [](const engine::Event& e) {
        const auto* arr = std::get_if<engine::ev::ContactArrived>(&e);
        return arr && arr->contact.channel == engine::Channel::Callback;
      });
  const auto& spec = std::get<engine::ev::ContactArrived>(*arrived).contact;
  EXPECT_EQ(spec.priority, CallbackPolicy{}.scheduled_priority);
  EXPECT_EQ(stored_.begin()->second.state, "waiting");
}

TEST_F(CallbackTest, SecondRequestForTheSameNumberUpdatesTheFirst) {
  CallbackRequest req;
  req.queue = "sales";
  req.number = "+441234567";
  req.source = "web";
  const CallbackReply first = voice_->requestCallback(req);
  req.context["page_url"] = "https://example.com/offer";
  const CallbackReply second = voice_->requestCallback(req);
  EXPECT_EQ(second.status, BookStatus::Updated);
  EXPECT_EQ(second.id, first.id);
  EXPECT_EQ(callbackContacts().size(), 1u);
  EXPECT_EQ(stored_.at(first.id).context.at("page_url"), "https://example.com/offer");
}

TEST_F(CallbackTest, StoreFailureRefusesTheRequestAndQueuesNothing) {
  store_fails_ = true;
  CallbackRequest req;
  req.queue = "sales";
  req.number = "+441234567";
  const CallbackReply reply = voice_->requestCallback(req);
  EXPECT_FALSE(reply.accepted());
  EXPECT_FALSE(reply.stored);
  EXPECT_TRUE(callbackContacts().empty());
  EXPECT_EQ(voice_->callbackBook().openCount(), 0u);
}

TEST_F(CallbackTest, CancelledCallbackLeavesTheQueueWithoutARecord) {
  CallbackRequest req;
  req.queue = "sales";
  req.number = "+441234567";
  const CallbackReply reply = voice_->requestCallback(req);
  pump();
  EXPECT_EQ(routing_.engine.liveContactCount(), 1u);
  EXPECT_TRUE(voice_->cancelCallback(reply.id));
  pump();
  EXPECT_EQ(routing_.engine.liveContactCount(), 0u);
  EXPECT_EQ(stored_.at(reply.id).outcome, "cancelled");
  EXPECT_TRUE(records_.empty());
  EXPECT_EQ(voice_->callCount(), 0u);
}

TEST_F(CallbackTest, ShutdownWhileDiallingLeavesTheCallbackDialingForTheNextStart) {
  CallbackRequest req;
  req.queue = "sales";
  req.number = "+441234567";
  const CallbackReply reply = voice_->requestCallback(req);
  login("1001");
  agentTakes();
  whisperEnds();
  voice_->shutdown();
  EXPECT_EQ(stored_.at(reply.id).state, "dialing");
  // The next start: the interrupted attempt is on record and the callback waits again.
  std::vector<store::Callback> open{stored_.at(reply.id)};
  FreshStart next;
  next.voice_->restoreCallbacks(open);
  EXPECT_EQ(next.stored_.at(reply.id).state, "waiting");
  EXPECT_EQ(next.stored_.at(reply.id).attempt_log.back().result, "interrupted");
  EXPECT_EQ(next.callbackContacts().size(), 1u);
}

TEST_F(CallbackTest, RefusedCallbackGoesToOnFailure) {
  store_fails_ = true;
  const sip::LegId leg = callAndPress('1');
  voice_->onInfoDtmf(leg, '*');
  pump();
  prompts();
  EXPECT_EQ(prompts_.texts.back(), "Sorry, we cannot call you back.");
}

}  // namespace
}  // namespace parley::app
