// Unit tests of the routing engine, one behaviour each. Longer routing cases live as data files in
// tests/scenarios; invariants under random load in tests/property_test.cpp.
#include "engine/engine.h"

#include <gtest/gtest.h>

#include <algorithm>

namespace parley::engine {
namespace {

// Drives an Engine like the live server does: ticks at every deadline up to the event's time,
// then the event; checks the invariants after each step.
class EngineTest : public ::testing::Test {
 protected:
  Engine engine_{EngineConfig{.max_consecutive_misses = 3, .seed = 7}};
  TimePoint now_{};

  std::vector<Action> at(double seconds, const Event& e) {
    std::vector<Action> out = advance(seconds);
    engine_.handle(e, now_, out);
    check();
    return out;
  }
  std::vector<Action> advance(double seconds) {
    std::vector<Action> out;
    TimePoint to = atSeconds(seconds);
    while (auto d = engine_.nextDeadline()) {
      if (*d > to) break;
      now_ = std::max(now_, *d);
      engine_.handle(ev::Tick{}, now_, out);
      check();
    }
    now_ = std::max(now_, to);
    return out;
  }
  void check() {
    std::string broken = engine_.checkInvariants(now_);
    ASSERT_TRUE(broken.empty()) << broken;
  }
  QueueId queue(QueueConfig c) { return engine_.addQueue(std::move(c)); }
  AgentId agent(std::vector<Membership> queues, std::vector<AgentSkill> skills = {},
                Capacity cap = Capacity::exclusive()) {
    return engine_.addAgent({"agent", std::move(skills), cap, std::move(queues)});
  }
  static ContactSpec contact(std::uint64_t id, QueueId q, Channel ch = Channel::Voice) {
    ContactSpec s;
    s.id = ContactId{id};
    s.queue = q;
    s.channel = ch;
    return s;
  }

  template <typename T>
  static std::vector<T> only(const std::vector<Action>& actions) {
    std::vector<T> r;
    for (const Action& a : actions) {
      if (auto* p = std::get_if<T>(&a)) r.push_back(*p);
    }
    return r;
  }
  static std::vector<AgentId> offeredAgents(const std::vector<Action>& actions) {
    std::vector<AgentId> r;
    for (const auto& o : only<act::OfferCreated>(actions)) r.push_back(o.agent);
    return r;
  }
};

TEST_F(EngineTest, LongestIdleOffersTheAgentIdleLongest) {
  QueueId q = queue({.name = "sales"});
  AgentId a1 = agent({{q}});
  AgentId a2 = agent({{q}});
  at(10, ev::AgentLogin{a2});
  at(20, ev::AgentLogin{a1});
  auto out = at(30, ev::ContactArrived{contact(1, q)});
  EXPECT_EQ(offeredAgents(out), std::vector<AgentId>{a2});
  EXPECT_EQ(engine_.agentState(a2), AgentState::Reserved);
}

TEST_F(EngineTest, AcceptConnectsAndCompletionEndsOnceWithTalkTime) {
  QueueId q = queue({.name = "sales"});
  AgentId a = agent({{q}});
  at(0, ev::AgentLogin{a});
  at(1, ev::ContactArrived{contact(1, q)});
  auto answered = only<act::ContactAnswered>(at(4, ev::OfferAccepted{ContactId{1}, a}));
  ASSERT_EQ(answered.size(), 1u);
  EXPECT_EQ(answered[0].waited, Millis{3000});
  EXPECT_TRUE(at(5, ev::OfferAccepted{ContactId{1}, a}).empty()) << "a repeated accept is a no-op";
  auto ended = only<act::ContactEnded>(at(64, ev::ContactCompleted{ContactId{1}}));
  ASSERT_EQ(ended.size(), 1u);
  EXPECT_EQ(ended[0].outcome, Outcome::Completed);
  EXPECT_EQ(ended[0].handled, Millis{60'000});
  EXPECT_TRUE(only<act::ContactEnded>(at(65, ev::ContactCompleted{ContactId{1}})).empty());
  EXPECT_EQ(engine_.agentState(a), AgentState::Available);
}

TEST_F(EngineTest, RingAllFirstAcceptWinsAndLateAcceptIsHungUp) {
  QueueId q = queue({.name = "support", .strategy = Strategy::RingAll});
  AgentId a1 = agent({{q}});
  AgentId a2 = agent({{q}});
  AgentId a3 = agent({{q, 1}});  // higher penalty tier: not rung while the first tier is free
  for (AgentId a : {a1, a2, a3}) at(0, ev::AgentLogin{a});
  auto out = at(1, ev::ContactArrived{contact(1, q)});
  EXPECT_EQ(offeredAgents(out), (std::vector<AgentId>{a1, a2}));
  out = at(2, ev::OfferAccepted{ContactId{1}, a2});
  auto withdrawn = only<act::OfferWithdrawn>(out);
  ASSERT_EQ(withdrawn.size(), 1u);
  EXPECT_EQ(withdrawn[0].agent, a1);
  EXPECT_EQ(withdrawn[0].reason, WithdrawReason::TakenByOther);
  out = at(2, ev::OfferAccepted{ContactId{1}, a1});
  withdrawn = only<act::OfferWithdrawn>(out);
  ASSERT_EQ(withdrawn.size(), 1u);
  EXPECT_EQ(withdrawn[0].reason, WithdrawReason::NotOffered);
  EXPECT_EQ(engine_.contact(ContactId{1})->agent, a2);
}

TEST_F(EngineTest, RoundRobinRemembersTheLastAgent) {
  QueueId q = queue({.name = "q", .strategy = Strategy::RoundRobin});
  std::vector<AgentId> agents = {agent({{q}}), agent({{q}}), agent({{q}})};
  for (AgentId a : agents) at(0, ev::AgentLogin{a});
  std::vector<AgentId> got;
  for (std::uint64_t c = 1; c <= 4; ++c) {
    auto out = at(static_cast<double>(c), ev::ContactArrived{contact(c, q)});
    got.push_back(offeredAgents(out).at(0));
    at(static_cast<double>(c), ev::OfferAccepted{ContactId{c}, got.back()});
    at(static_cast<double>(c), ev::ContactCompleted{ContactId{c}});
  }
  EXPECT_EQ(got, (std::vector<AgentId>{agents[0], agents[1], agents[2], agents[0]}));
}

TEST_F(EngineTest, TopDownAlwaysPrefersTheFirstMember) {
  QueueId q = queue({.name = "q", .strategy = Strategy::TopDown});
  AgentId first = agent({{q}});
  AgentId second = agent({{q}});
  at(0, ev::AgentLogin{second});
  at(5, ev::AgentLogin{first});
  EXPECT_EQ(offeredAgents(at(6, ev::ContactArrived{contact(1, q)})), std::vector<AgentId>{first});
}

TEST_F(EngineTest, SkillsBestMatchPrefersHigherProficiency) {
  QueueId q = queue({.name = "q", .strategy = Strategy::SkillsBestMatch});
  SkillId es = engine_.internSkill("spanish");
  AgentId weak = agent({{q}}, {{es, 2}});
  AgentId strong = agent({{q}}, {{es, 5}});
  at(0, ev::AgentLogin{weak});
  at(9, ev::AgentLogin{strong});
  ContactSpec c = contact(1, q);
  c.skills = {{es, 1}};
  EXPECT_EQ(offeredAgents(at(10, ev::ContactArrived{c})), std::vector<AgentId>{strong});
}

TEST_F(EngineTest, RequiredSkillLevelIsRespected) {
  QueueId q = queue({.name = "q"});
  SkillId es = engine_.internSkill("spanish");
  AgentId weak = agent({{q}}, {{es, 2}});
  at(0, ev::AgentLogin{weak});
  ContactSpec c = contact(1, q);
  c.skills = {{es, 3}};
  EXPECT_TRUE(offeredAgents(at(1, ev::ContactArrived{c})).empty());
  EXPECT_EQ(engine_.waitingCount(q), 1u);
}

TEST_F(EngineTest, AgentInTwoQueuesTakesHighestPriorityThenLongestWait) {
  QueueId sales = queue({.name = "sales"});
  QueueId support = queue({.name = "support"});
  AgentId a = agent({{sales}, {support}});
  at(0, ev::ContactArrived{contact(1, sales)});    // oldest
  at(1, ev::ContactArrived{contact(2, support)});
  ContactSpec vip = contact(3, support);
  vip.priority = 5;
  at(2, ev::ContactArrived{vip});
  auto out = at(3, ev::AgentLogin{a});
  ASSERT_EQ(only<act::OfferCreated>(out).size(), 1u);
  EXPECT_EQ(only<act::OfferCreated>(out)[0].contact, ContactId{3});
  at(3, ev::OfferAccepted{ContactId{3}, a});
  out = at(4, ev::ContactCompleted{ContactId{3}});
  EXPECT_EQ(only<act::OfferCreated>(out).at(0).contact, ContactId{1});
}

TEST_F(EngineTest, ChatCapacityAllowsThreeConcurrentChatsButNoVoice) {
  QueueId q = queue({.name = "q"});
  AgentId a = agent({{q}}, {}, Capacity::voiceOrChats(3));
  at(0, ev::AgentLogin{a});
  for (std::uint64_t c = 1; c <= 4; ++c) {
    at(1, ev::ContactArrived{contact(c, q, Channel::Chat)});
    at(1, ev::OfferAccepted{ContactId{c}, a});
  }
  EXPECT_EQ(engine_.agent(a).active.size(), 3u);
  EXPECT_EQ(engine_.waitingCount(q), 1u);
  at(2, ev::ContactArrived{contact(10, q, Channel::Voice)});
  EXPECT_EQ(engine_.contact(ContactId{10})->state, ContactState::Waiting);
}

TEST_F(EngineTest, OneVoicePlusTwoChatsWhenConfigured) {
  QueueId q = queue({.name = "q"});
  Capacity cap;
  cap.total = 4;
  cap[Channel::Voice] = {1, 2};
  cap[Channel::Chat] = {2, 1};
  AgentId a = agent({{q}}, {}, cap);
  at(0, ev::AgentLogin{a});
  std::uint64_t id = 1;
  for (Channel ch : {Channel::Voice, Channel::Chat, Channel::Chat, Channel::Chat, Channel::Voice}) {
    at(1, ev::ContactArrived{contact(id, q, ch)});
    at(1, ev::OfferAccepted{ContactId{id}, a});
    ++id;
  }
  EXPECT_EQ(engine_.agent(a).active.size(), 3u);
  EXPECT_EQ(engine_.agent(a).used_capacity, 4);
  EXPECT_EQ(engine_.waitingCount(q), 2u);
}

TEST_F(EngineTest, WrapUpBlocksEveryQueueUntilItEnds) {
  QueueId sales = queue({.name = "sales", .wrap_up = Millis{30'000}});
  QueueId support = queue({.name = "support"});
  AgentId a = agent({{sales}, {support}});
  at(0, ev::AgentLogin{a});
  at(0, ev::ContactArrived{contact(1, sales)});
  at(0, ev::OfferAccepted{ContactId{1}, a});
  at(10, ev::ContactCompleted{ContactId{1}});
  EXPECT_EQ(engine_.agentState(a), AgentState::WrapUp);
  EXPECT_TRUE(offeredAgents(at(20, ev::ContactArrived{contact(2, support)})).empty());
  auto out = advance(40);
  auto wraps = only<act::WrapUpEnded>(out);
  ASSERT_EQ(wraps.size(), 1u);
  EXPECT_EQ(wraps[0].duration, Millis{30'000});
  EXPECT_EQ(offeredAgents(out), std::vector<AgentId>{a});
}

TEST_F(EngineTest, WrapUpDoneEndsWrapUpEarly) {
  QueueId q = queue({.name = "q", .wrap_up = Millis{30'000}});
  AgentId a = agent({{q}});
  at(0, ev::AgentLogin{a});
  at(0, ev::ContactArrived{contact(1, q)});
  at(0, ev::OfferAccepted{ContactId{1}, a});
  at(10, ev::ContactCompleted{ContactId{1}});
  auto out = at(15, ev::WrapUpDone{a});
  EXPECT_EQ(only<act::WrapUpEnded>(out).at(0).duration, Millis{5'000});
  EXPECT_EQ(engine_.agentState(a), AgentState::Available);
}

TEST_F(EngineTest, OfferTimeoutMovesToNextAgentAndSkipsTheMisser) {
  QueueId q = queue({.name = "q", .offer_timeout = Millis{15'000}});
  AgentId a1 = agent({{q}});
  AgentId a2 = agent({{q}});
  at(0, ev::AgentLogin{a1});
  at(1, ev::AgentLogin{a2});
  EXPECT_EQ(offeredAgents(at(2, ev::ContactArrived{contact(1, q)})), std::vector<AgentId>{a1});
  auto out = advance(17);
  ASSERT_EQ(only<act::OfferWithdrawn>(out).size(), 1u);
  EXPECT_EQ(only<act::OfferWithdrawn>(out)[0].reason, WithdrawReason::Timeout);
  EXPECT_EQ(offeredAgents(out), std::vector<AgentId>{a2});
  EXPECT_EQ(engine_.agent(a1).consecutive_misses, 1);
}

TEST_F(EngineTest, RejectGoesToTheNextAgent) {
  QueueId q = queue({.name = "q"});
  AgentId a1 = agent({{q}});
  AgentId a2 = agent({{q}});
  at(0, ev::AgentLogin{a1});
  at(1, ev::AgentLogin{a2});
  at(2, ev::ContactArrived{contact(1, q)});
  auto out = at(3, ev::OfferRejected{ContactId{1}, a1});
  EXPECT_EQ(offeredAgents(out), std::vector<AgentId>{a2});
  EXPECT_TRUE(at(3, ev::OfferRejected{ContactId{1}, a1}).empty()) << "a repeated reject is a no-op";
}

TEST_F(EngineTest, ThreeConsecutiveMissesMakeTheAgentNotReady) {
  QueueId q = queue({.name = "q", .retry_other_agent_for = Millis{0}});
  AgentId a = agent({{q}});
  at(0, ev::AgentLogin{a});
  at(0, ev::ContactArrived{contact(1, q)});
  for (int i = 0; i < 3; ++i) at(1, ev::OfferRejected{ContactId{1}, a});
  EXPECT_EQ(engine_.agentState(a), AgentState::NotReady);
  EXPECT_EQ(engine_.agent(a).reason, "missed");
  EXPECT_EQ(engine_.contact(ContactId{1})->state, ContactState::Waiting);
  EXPECT_EQ(offeredAgents(at(2, ev::AgentReady{a})), std::vector<AgentId>{a});
}

TEST_F(EngineTest, NotReadyWhileOfferedReturnsTheContact) {
  QueueId q = queue({.name = "q"});
  AgentId a = agent({{q}});
  at(0, ev::AgentLogin{a});
  at(1, ev::ContactArrived{contact(1, q)});
  auto out = at(2, ev::AgentNotReady{a, "lunch"});
  EXPECT_EQ(only<act::OfferWithdrawn>(out).at(0).reason, WithdrawReason::AgentLoggedOut);
  EXPECT_EQ(engine_.contact(ContactId{1})->state, ContactState::Waiting);
  EXPECT_EQ(engine_.agent(a).reason, "lunch");
}

TEST_F(EngineTest, AbandonWhileOfferedWithdrawsTheOffer) {
  QueueId q = queue({.name = "q"});
  AgentId a = agent({{q}});
  at(0, ev::AgentLogin{a});
  at(1, ev::ContactArrived{contact(1, q)});
  auto out = at(5, ev::ContactAbandoned{ContactId{1}});
  EXPECT_EQ(only<act::OfferWithdrawn>(out).at(0).reason, WithdrawReason::CustomerGone);
  EXPECT_EQ(only<act::ContactEnded>(out).at(0).outcome, Outcome::Abandoned);
  EXPECT_EQ(only<act::ContactEnded>(out).at(0).waited, Millis{4000});
  EXPECT_EQ(engine_.agentState(a), AgentState::Available);
  EXPECT_TRUE(at(6, ev::ContactAbandoned{ContactId{1}}).empty());
}

TEST_F(EngineTest, MaxWaitExitsToAnotherQueueKeepingTheEnqueueTime) {
  QueueId overflow = queue({.name = "overflow"});
  QueueId q = queue({.name = "q",
                     .max_wait = Millis{60'000},
                     .on_max_wait = {ExitAction::Kind::Queue, overflow}});
  at(0, ev::ContactArrived{contact(1, q)});
  at(30, ev::ContactArrived{contact(2, overflow)});
  auto out = advance(61);
  ASSERT_EQ(only<act::ContactMoved>(out).size(), 1u);
  EXPECT_EQ(engine_.contact(ContactId{1})->queue, overflow);
  EXPECT_EQ(engine_.position(ContactId{1}), 1u) << "kept its place ahead of a later contact";
}

TEST_F(EngineTest, MaxWaitFiresForEachContactAtItsOwnDeadline) {
  QueueId q = queue({.name = "q", .max_wait = Millis{60'000}});
  AgentId a = agent({{q}});
  at(0, ev::ContactArrived{contact(1, q)});
  at(10, ev::ContactArrived{contact(2, q)});
  at(20, ev::ContactArrived{contact(3, q)});
  at(30, ev::AgentLogin{a});  // takes contact 1, whose deadline then no longer counts
  at(31, ev::OfferAccepted{ContactId{1}, a});
  EXPECT_TRUE(only<act::ContactEnded>(advance(69.9)).empty());
  auto ended = only<act::ContactEnded>(advance(70));
  ASSERT_EQ(ended.size(), 1u);
  EXPECT_EQ(ended[0].contact, ContactId{2});
  EXPECT_EQ(ended[0].reason, ExitReason::MaxWait);
  EXPECT_TRUE(only<act::ContactEnded>(advance(79.9)).empty());
  ended = only<act::ContactEnded>(advance(80));
  ASSERT_EQ(ended.size(), 1u);
  EXPECT_EQ(ended[0].contact, ContactId{3});
  EXPECT_EQ(engine_.contact(ContactId{1})->state, ContactState::Answered);
}

TEST_F(EngineTest, MaxWaitDoesNotApplyToCallbacks) {
  QueueId q = queue({.name = "q", .max_wait = Millis{60'000}});
  ContactSpec cb = contact(1, q);
  cb.channel = Channel::Callback;
  at(0, ev::ContactArrived{cb});
  at(0, ev::ContactArrived{contact(2, q)});
  auto ended = only<act::ContactEnded>(advance(600));
  ASSERT_EQ(ended.size(), 1u) << "only the caller on hold hits max wait";
  EXPECT_EQ(ended[0].contact, ContactId{2});
  EXPECT_EQ(engine_.contact(ContactId{1})->state, ContactState::Waiting);
}

TEST_F(EngineTest, ExtraOfferTimeLengthensThatContactsOffers) {
  QueueId q = queue({.name = "q", .offer_timeout = Millis{20'000}});
  AgentId a = agent({{q}});
  at(0, ev::AgentLogin{a});
  ContactSpec cb = contact(1, q);
  cb.channel = Channel::Callback;
  cb.extra_offer_time = Millis{30'000};
  auto offers = only<act::OfferCreated>(at(1, ev::ContactArrived{cb}));
  ASSERT_EQ(offers.size(), 1u);
  EXPECT_EQ(offers[0].expires_at, atSeconds(51));
  EXPECT_TRUE(only<act::OfferWithdrawn>(advance(50.9)).empty());
  EXPECT_EQ(only<act::OfferWithdrawn>(advance(51)).size(), 1u);
}

TEST_F(EngineTest, MaxLengthEndsTheContactWithTheExitAction) {
  QueueId q = queue({.name = "q",
                     .max_length = 1,
                     .on_max_length = {ExitAction::Kind::CallbackOffer, {}}});
  at(0, ev::ContactArrived{contact(1, q)});
  auto ended = only<act::ContactEnded>(at(1, ev::ContactArrived{contact(2, q)}));
  ASSERT_EQ(ended.size(), 1u);
  EXPECT_EQ(ended[0].outcome, Outcome::Exited);
  EXPECT_EQ(ended[0].reason, ExitReason::MaxLength);
  EXPECT_EQ(ended[0].exit.kind, ExitAction::Kind::CallbackOffer);
}

TEST_F(EngineTest, EscalationRelaxesTheRequiredLevel) {
  QueueId q = queue({.name = "q", .escalation = {{Millis{30'000}, 2, std::nullopt}}});
  SkillId es = engine_.internSkill("spanish");
  AgentId a = agent({{q}}, {{es, 2}});
  at(0, ev::AgentLogin{a});
  ContactSpec c = contact(1, q);
  c.skills = {{es, 4}};
  EXPECT_TRUE(offeredAgents(at(1, ev::ContactArrived{c})).empty());
  EXPECT_TRUE(offeredAgents(advance(30)).empty());
  EXPECT_EQ(offeredAgents(advance(31.5)), std::vector<AgentId>{a});
}

TEST_F(EngineTest, EscalationAddsAnOverflowQueue) {
  QueueId backup = queue({.name = "backup"});
  QueueId q = queue({.name = "q", .escalation = {{Millis{20'000}, std::nullopt, backup}}});
  AgentId helper = agent({{backup}});
  at(0, ev::AgentLogin{helper});
  EXPECT_TRUE(offeredAgents(at(1, ev::ContactArrived{contact(1, q)})).empty());
  EXPECT_EQ(offeredAgents(advance(21)), std::vector<AgentId>{helper});
}

TEST_F(EngineTest, AbandonResumeGivesTheOldPlaceBackWithinTheWindow) {
  QueueId q = queue({.name = "q", .abandon_resume_window = Millis{120'000}});
  ContactSpec first = contact(1, q);
  first.caller = "5551234";
  at(0, ev::ContactArrived{first});
  at(10, ev::ContactArrived{contact(2, q)});
  at(20, ev::ContactAbandoned{ContactId{1}});
  ContactSpec again = contact(3, q);
  again.caller = "5551234";
  at(60, ev::ContactArrived{again});
  EXPECT_EQ(engine_.position(ContactId{3}), 1u);
  EXPECT_EQ(engine_.contact(ContactId{3})->enqueued_at, atSeconds(0));
}

TEST_F(EngineTest, AbandonResumeExpiresAfterTheWindow) {
  QueueId q = queue({.name = "q", .abandon_resume_window = Millis{120'000}});
  ContactSpec first = contact(1, q);
  first.caller = "5551234";
  at(0, ev::ContactArrived{first});
  at(10, ev::ContactArrived{contact(2, q)});
  at(20, ev::ContactAbandoned{ContactId{1}});
  ContactSpec again = contact(3, q);
  again.caller = "5551234";
  at(141, ev::ContactArrived{again});
  EXPECT_EQ(engine_.position(ContactId{3}), 2u);
}

TEST_F(EngineTest, CallbackKeepsTheOriginalEnqueueTime) {
  QueueId q = queue({.name = "q"});
  at(100, ev::ContactArrived{contact(1, q)});
  ContactSpec cb = contact(2, q, Channel::Callback);
  cb.enqueued_at = atSeconds(40);
  at(200, ev::ContactArrived{cb});
  EXPECT_EQ(engine_.position(ContactId{2}), 1u);
  EXPECT_EQ(engine_.position(ContactId{1}), 2u);
}

TEST_F(EngineTest, TransferToQueueWaitsAgainAndTransferOutEnds) {
  QueueId sales = queue({.name = "sales"});
  QueueId support = queue({.name = "support"});
  AgentId s = agent({{sales}});
  AgentId t = agent({{support}});
  at(0, ev::AgentLogin{s});
  at(0, ev::ContactArrived{contact(1, sales)});
  at(1, ev::OfferAccepted{ContactId{1}, s});
  auto out = at(30, ev::ContactTransferred{ContactId{1}, support});
  EXPECT_EQ(only<act::ContactMoved>(out).size(), 1u);
  EXPECT_TRUE(only<act::ContactEnded>(out).empty());
  out = at(31, ev::AgentLogin{t});
  EXPECT_EQ(offeredAgents(out), std::vector<AgentId>{t});
  at(32, ev::OfferAccepted{ContactId{1}, t});
  auto ended = only<act::ContactEnded>(at(40, ev::ContactTransferred{ContactId{1}, std::nullopt}));
  ASSERT_EQ(ended.size(), 1u);
  EXPECT_EQ(ended[0].outcome, Outcome::Transferred);
}

TEST_F(EngineTest, UnknownIdsAreIgnored) {
  QueueId q = queue({.name = "q"});
  EXPECT_TRUE(at(0, ev::AgentLogin{AgentId{99}}).empty());
  EXPECT_TRUE(at(0, ev::ContactCompleted{ContactId{42}}).empty());
  EXPECT_TRUE(at(0, ev::ContactArrived{contact(1, QueueId{77})}).empty());
  auto out = at(0, ev::OfferAccepted{ContactId{5}, AgentId{99}});
  EXPECT_TRUE(out.empty());
  AgentId a = agent({{q}});
  out = at(0, ev::OfferAccepted{ContactId{5}, a});
  EXPECT_EQ(only<act::OfferWithdrawn>(out).at(0).reason, WithdrawReason::NotOffered);
}

TEST_F(EngineTest, LogoutDuringCallFinishesTheCallFirst) {
  QueueId q = queue({.name = "q"});
  AgentId a = agent({{q}});
  at(0, ev::AgentLogin{a});
  at(0, ev::ContactArrived{contact(1, q)});
  at(1, ev::OfferAccepted{ContactId{1}, a});
  at(2, ev::AgentLogout{a});
  EXPECT_EQ(engine_.agentState(a), AgentState::Busy);
  at(3, ev::ContactCompleted{ContactId{1}});
  EXPECT_EQ(engine_.agentState(a), AgentState::LoggedOut);
}

TEST_F(EngineTest, ConfigErrorsThrowInvalidArgument) {
  EXPECT_THROW(agent({{QueueId{3}}}), std::invalid_argument);
  QueueId q = queue({.name = "q"});
  EXPECT_THROW(agent({{q}, {q}}), std::invalid_argument);
  // Zero-length timers would re-fire within one tick forever.
  EXPECT_THROW(queue({.name = "z", .max_wait = Millis{0}}), std::invalid_argument);
  EXPECT_THROW(queue({.name = "z", .offer_timeout = Millis{0}}), std::invalid_argument);
  EXPECT_THROW(queue({.name = "z", .max_length = 0}), std::invalid_argument);
}

TEST_F(EngineTest, QueuesThatExitToEachOtherEndThroughTheHopLimit) {
  QueueId a = queue({.name = "a", .max_length = 1, .on_max_length = {ExitAction::Kind::Queue, QueueId{1}}});
  QueueId b = queue({.name = "b", .max_length = 1, .on_max_length = {ExitAction::Kind::Queue, a}});
  at(0, ev::ContactArrived{contact(1, a)});
  at(0, ev::ContactArrived{contact(2, b)});
  auto out = at(1, ev::ContactArrived{contact(3, a)});
  auto ended = only<act::ContactEnded>(out);
  ASSERT_EQ(ended.size(), 1u);
  EXPECT_EQ(ended[0].reason, ExitReason::MaxLength);
  EXPECT_EQ(ended[0].exit.kind, ExitAction::Kind::HangUp);
}

}  // namespace
}  // namespace parley::engine
