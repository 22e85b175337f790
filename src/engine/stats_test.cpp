// Unit tests of the statistics fold. Most feed hand-written action sequences with numbers worked
// out by hand in the comments; the last ones drive the real engine. Definitions: docs/METRICS.md.
#include "engine/stats.h"

#include <gtest/gtest.h>

#include <cmath>
#include <random>
#include <unordered_map>

#include "engine/engine.h"

namespace parley::engine {
namespace {

constexpr double kEps = 1e-9;

class StatsTest : public ::testing::Test {
 protected:
  Engine engine_;

  QueueId addQueue(Millis sl = Millis{20'000}, Millis short_abandon = Millis{5'000},
                   Millis wrap = Millis{0}) {
    QueueConfig c;
    c.name = "q" + std::to_string(engine_.queueCount());
    c.service_level_threshold = sl;
    c.short_abandon_threshold = short_abandon;
    c.wrap_up = wrap;
    c.offer_timeout = Millis{1'000'000};  // offers wait for the test's accept
    return engine_.addQueue(std::move(c));
  }
  AgentId addAgent(std::vector<QueueId> queues, Capacity cap = Capacity::exclusive()) {
    AgentConfig c;
    c.name = "a" + std::to_string(engine_.agentCount());
    c.capacity = cap;
    for (QueueId q : queues) c.queues.push_back({q});
    return engine_.addAgent(std::move(c));
  }

  static ContactTag tag(QueueId q, double enqueued_s, Channel ch = Channel::Voice,
                        CampaignId campaign = kNoCampaign) {
    return ContactTag{q, ch, campaign, atSeconds(enqueued_s)};
  }
  static Millis secs(double s) { return Millis{static_cast<std::int64_t>(s * 1000)}; }

  // Hand-written action helpers: each applies one action at time `t` (seconds).
  static void queued(Statistics& st, std::uint64_t id, const ContactTag& tg, double t) {
    st.apply(act::ContactQueued{ContactId{id}, tg, 1}, atSeconds(t));
  }
  static void answered(Statistics& st, std::uint64_t id, const ContactTag& tg, double t,
                       AgentId agent = AgentId{0}) {
    Millis waited = atSeconds(t) - tg.enqueued_at;
    st.apply(act::ContactAnswered{ContactId{id}, agent, tg, waited}, atSeconds(t));
  }
  static void abandoned(Statistics& st, std::uint64_t id, const ContactTag& tg, double t) {
    act::ContactEnded e;
    e.contact = ContactId{id};
    e.tag = tg;
    e.outcome = Outcome::Abandoned;
    e.waited = atSeconds(t) - tg.enqueued_at;
    st.apply(e, atSeconds(t));
  }
  static void exited(Statistics& st, std::uint64_t id, const ContactTag& tg, double t) {
    act::ContactEnded e;
    e.contact = ContactId{id};
    e.tag = tg;
    e.outcome = Outcome::Exited;
    e.reason = ExitReason::MaxWait;
    e.waited = atSeconds(t) - tg.enqueued_at;
    st.apply(e, atSeconds(t));
  }
  // Completion of an answered contact: ContactEnded (talk since `answered_at`), then its wrap.
  static void completed(Statistics& st, std::uint64_t id, const ContactTag& tg, double answered_at,
                        double t, double wrap_s = 0, AgentId agent = AgentId{0}) {
    act::ContactEnded e;
    e.contact = ContactId{id};
    e.tag = tg;
    e.outcome = Outcome::Completed;
    e.agent = agent;
    e.answered = true;
    e.waited = atSeconds(answered_at) - tg.enqueued_at;
    e.handled = atSeconds(t) - atSeconds(answered_at);
    st.apply(e, atSeconds(t));
    st.apply(act::WrapUpEnded{ContactId{id}, agent, tg.queue, secs(wrap_s)}, atSeconds(t + wrap_s));
  }
  static void state(Statistics& st, AgentId a, AgentState from, AgentState to, double t) {
    st.apply(act::AgentStateChanged{a, from, to, {}}, atSeconds(t));
  }
};

// Six contacts in one queue (SL 20 s, short abandon 5 s):
//   answered after 10 s, 20 s (on the threshold: within), 25 s;
//   abandoned after 3 s (short), 15 s, 30 s.
// answered 3, within 2, abandoned 3, short 1, abandoned within SL (not short) 1, offered 6.
//   service_level          = 2 / (3 + 3 - 1)      = 0.4
//   service_level_answered = 2 / 3
//   abandon_rate           = (3 - 1) / (6 - 1)    = 0.4
//   ASA                    = (10 + 20 + 25) / 3   = 18.333 s
TEST_F(StatsTest, ServiceLevelAbandonRateAndAsaByHand) {
  QueueId q = addQueue();
  Statistics st(engine_);
  for (std::uint64_t id = 1; id <= 6; ++id) queued(st, id, tag(q, 0), 0);
  answered(st, 1, tag(q, 0), 10);
  answered(st, 2, tag(q, 0), 20);
  answered(st, 3, tag(q, 0), 25);
  abandoned(st, 4, tag(q, 0), 3);
  abandoned(st, 5, tag(q, 0), 15);
  abandoned(st, 6, tag(q, 0), 30);

  StatsReport r = st.report(atSeconds(30));
  for (const StatsRow* row : {&r.total, &r.by_queue.at(index(q)), &r.by_channel[0]}) {
    const Counters& c = row->counters;
    EXPECT_EQ(c.offered, 6u);
    EXPECT_EQ(c.answered, 3u);
    EXPECT_EQ(c.answered_within_sl, 2u);
    EXPECT_EQ(c.abandoned, 3u);
    EXPECT_EQ(c.short_abandoned, 1u);
    EXPECT_EQ(c.abandoned_within_sl, 1u);
    EXPECT_EQ(c.answered_wait, secs(55));
    EXPECT_EQ(c.abandoned_wait, secs(48));
    Metrics m = row->metrics();
    EXPECT_NEAR(m.service_level, 0.4, kEps);
    EXPECT_NEAR(m.service_level_answered, 2.0 / 3.0, kEps);
    EXPECT_NEAR(m.abandon_rate, 0.4, kEps);
    EXPECT_NEAR(m.asa_seconds, 55.0 / 3.0, kEps);
    EXPECT_TRUE(std::isnan(m.aht_seconds)) << "nothing completed yet";
    EXPECT_TRUE(std::isnan(m.occupancy)) << "no agent time";
  }
  EXPECT_EQ(r.total.gauges.waiting, 0u);
}

// A short abandon is excluded from both service level and abandon rate: with only short
// abandons, service level is answered-within / answered and the abandon rate is 0.
TEST_F(StatsTest, ShortAbandonsAreExcludedFromServiceLevelAndAbandonRate) {
  QueueId q = addQueue(Millis{20'000}, Millis{5'000});
  Statistics st(engine_);
  for (std::uint64_t id = 1; id <= 4; ++id) queued(st, id, tag(q, 0), 0);
  answered(st, 1, tag(q, 0), 8);
  answered(st, 2, tag(q, 0), 40);
  abandoned(st, 3, tag(q, 0), 5);  // exactly on the threshold: short
  abandoned(st, 4, tag(q, 0), 1);
  Metrics m = st.report(atSeconds(40)).total.metrics();
  EXPECT_NEAR(m.service_level, 0.5, kEps);  // 1 / (2 + 2 - 2)
  EXPECT_NEAR(m.abandon_rate, 0.0, kEps);   // (2 - 2) / (4 - 2)
}

// A short-abandon threshold of 0 disables short abandons: every abandon counts.
TEST_F(StatsTest, ZeroShortAbandonThresholdDisablesShortAbandons) {
  QueueId q = addQueue(Millis{20'000}, Millis{0});
  Statistics st(engine_);
  queued(st, 1, tag(q, 0), 0);
  queued(st, 2, tag(q, 0), 0);
  abandoned(st, 1, tag(q, 0), 0);
  answered(st, 2, tag(q, 0), 10);
  StatsReport r = st.report(atSeconds(10));
  EXPECT_EQ(r.total.counters.short_abandoned, 0u);
  EXPECT_EQ(r.total.counters.abandoned_within_sl, 1u);
  EXPECT_NEAR(r.total.metrics().service_level, 0.5, kEps);
  EXPECT_NEAR(r.total.metrics().abandon_rate, 0.5, kEps);
}

// Each contact is judged against its own queue's thresholds, also in the total row: a 20 s
// wait is within queue B's 30 s but not queue A's 10 s; a 7 s abandon is short in A (10 s
// short threshold) but not in B (5 s).
TEST_F(StatsTest, ServiceLevelUsesEachQueuesThresholds) {
  QueueId a = addQueue(Millis{10'000}, Millis{10'000});
  QueueId b = addQueue(Millis{30'000}, Millis{5'000});
  Statistics st(engine_);
  queued(st, 1, tag(a, 0), 0);
  queued(st, 2, tag(b, 0), 0);
  queued(st, 3, tag(a, 0), 0);
  queued(st, 4, tag(b, 0), 0);
  answered(st, 1, tag(a, 0), 20);
  answered(st, 2, tag(b, 0), 20);
  abandoned(st, 3, tag(a, 0), 7);
  abandoned(st, 4, tag(b, 0), 7);
  StatsReport r = st.report(atSeconds(20));
  EXPECT_EQ(r.by_queue[index(a)].counters.answered_within_sl, 0u);
  EXPECT_EQ(r.by_queue[index(b)].counters.answered_within_sl, 1u);
  EXPECT_EQ(r.by_queue[index(a)].counters.short_abandoned, 1u);
  EXPECT_EQ(r.by_queue[index(b)].counters.short_abandoned, 0u);
  EXPECT_EQ(r.by_queue[index(b)].counters.abandoned_within_sl, 1u);
  EXPECT_NEAR(r.by_queue[index(a)].metrics().service_level, 0.0, kEps);  // 0 / (1 + 1 - 1)
  EXPECT_NEAR(r.by_queue[index(b)].metrics().service_level, 0.5, kEps);  // 1 / (1 + 1)
  EXPECT_NEAR(r.total.metrics().service_level, 1.0 / 3.0, kEps);         // 1 / (2 + 2 - 1)
  EXPECT_NEAR(r.total.metrics().service_level_answered, 0.5, kEps);
}

// AHT = (talk + wrap) / completed legs: 100 s talk + 20 s wrap, and 60 s talk + no wrap:
// (160 + 20) / 2 = 90 s.
TEST_F(StatsTest, AverageHandleTimeAddsTalkAndWrap) {
  QueueId q = addQueue();
  Statistics st(engine_);
  queued(st, 1, tag(q, 0), 0);
  queued(st, 2, tag(q, 0), 0);
  answered(st, 1, tag(q, 0), 5);
  answered(st, 2, tag(q, 0), 10);
  completed(st, 1, tag(q, 0), 5, 105, 20);
  completed(st, 2, tag(q, 0), 10, 70, 0);
  StatsReport r = st.report(atSeconds(200));
  const Counters& c = r.by_queue[index(q)].counters;
  EXPECT_EQ(c.completed, 2u);
  EXPECT_EQ(c.talk_time, secs(160));
  EXPECT_EQ(c.wrap_time, secs(20));
  EXPECT_NEAR(r.by_queue[index(q)].metrics().aht_seconds, 90.0, kEps);
  EXPECT_NEAR(r.by_channel[0].metrics().aht_seconds, 90.0, kEps) << "wrap reaches the channel";
  EXPECT_NEAR(r.by_campaign[0].metrics().aht_seconds, 90.0, kEps);
}

// The engine reports a zero wrap-up *before* ContactEnded (wrap_up 0) and a real one after it;
// both orders key the wrap to the contact's channel and campaign.
TEST_F(StatsTest, WrapTimeReachesChannelAndCampaignInEitherOrder) {
  QueueId q = addQueue();
  Statistics st(engine_);
  ContactTag chat = tag(q, 0, Channel::Chat, CampaignId{2});
  queued(st, 1, chat, 0);
  answered(st, 1, chat, 1);
  st.apply(act::WrapUpEnded{ContactId{1}, AgentId{0}, q, Millis{0}}, atSeconds(31));
  act::ContactEnded e;
  e.contact = ContactId{1};
  e.tag = chat;
  e.outcome = Outcome::Completed;
  e.answered = true;
  e.handled = secs(30);
  st.apply(e, atSeconds(31));
  ContactTag mail = tag(q, 0, Channel::Email, CampaignId{2});
  queued(st, 2, mail, 31);
  answered(st, 2, mail, 32);
  completed(st, 2, mail, 32, 42, 7);
  StatsReport r = st.report(atSeconds(100));
  EXPECT_EQ(r.by_channel[static_cast<std::size_t>(Channel::Chat)].counters.completed, 1u);
  EXPECT_EQ(r.by_channel[static_cast<std::size_t>(Channel::Email)].counters.wrap_time, secs(7));
  ASSERT_GE(r.by_campaign.size(), 3u);
  EXPECT_EQ(r.by_campaign[2].counters.completed, 2u);
  EXPECT_EQ(r.by_campaign[2].counters.talk_time, secs(40));
  EXPECT_EQ(r.by_campaign[2].counters.wrap_time, secs(7));
  EXPECT_EQ(r.by_campaign[0].counters.completed, 0u);
}

// Waiting and longest wait per queue, channel, campaign and total; an offered contact is
// still waiting; answered, ended and moved contacts are not.
TEST_F(StatsTest, WaitingAndLongestWaitGauges) {
  QueueId a = addQueue();
  QueueId b = addQueue();
  Statistics st(engine_);
  queued(st, 1, tag(a, 0, Channel::Voice, CampaignId{1}), 0);
  queued(st, 2, tag(a, 10, Channel::Chat), 10);
  queued(st, 3, tag(b, 20, Channel::Voice, CampaignId{1}), 20);
  queued(st, 4, tag(b, 25, Channel::Voice), 25);
  st.apply(act::OfferCreated{ContactId{1}, AgentId{0}, tag(a, 0), atSeconds(50)}, atSeconds(30));
  answered(st, 4, tag(b, 25), 30);

  StatsReport r = st.report(atSeconds(40));
  EXPECT_EQ(r.total.gauges.waiting, 3u);
  EXPECT_EQ(r.total.gauges.longest_wait, secs(40));
  EXPECT_EQ(r.by_queue[index(a)].gauges.waiting, 2u);
  EXPECT_EQ(r.by_queue[index(a)].gauges.longest_wait, secs(40));
  EXPECT_EQ(r.by_queue[index(b)].gauges.waiting, 1u);
  EXPECT_EQ(r.by_queue[index(b)].gauges.longest_wait, secs(20));
  EXPECT_EQ(r.by_channel[static_cast<std::size_t>(Channel::Voice)].gauges.waiting, 2u);
  EXPECT_EQ(r.by_channel[static_cast<std::size_t>(Channel::Chat)].gauges.longest_wait, secs(30));
  EXPECT_EQ(r.by_campaign.at(1).gauges.waiting, 2u);
  EXPECT_EQ(r.by_campaign.at(0).gauges.waiting, 1u);

  // Contact 1 moves to b keeping its enqueue time; contact 2 exits; contact 3 abandons.
  st.apply(act::ContactMoved{ContactId{1}, tag(a, 0, Channel::Voice, CampaignId{1}), b},
           atSeconds(45));
  queued(st, 1, tag(b, 0, Channel::Voice, CampaignId{1}), 45);
  exited(st, 2, tag(a, 10, Channel::Chat), 46);
  abandoned(st, 3, tag(b, 20, Channel::Voice, CampaignId{1}), 47);
  r = st.report(atSeconds(50));
  EXPECT_EQ(r.by_queue[index(a)].gauges.waiting, 0u);
  EXPECT_EQ(r.by_queue[index(a)].gauges.longest_wait, Millis{0});
  EXPECT_EQ(r.by_queue[index(b)].gauges.waiting, 1u);
  EXPECT_EQ(r.by_queue[index(b)].gauges.longest_wait, secs(50));
  EXPECT_EQ(r.by_queue[index(a)].counters.moved_out, 1u);
  EXPECT_EQ(r.by_queue[index(a)].counters.exited, 1u);
  EXPECT_EQ(r.by_queue[index(b)].counters.offered, 3u) << "arrivals 3 and 4, and 1 moved in";
  EXPECT_EQ(r.total.counters.offered, 5u) << "total is the sum of the queues";
}

// startInterval zeroes the counters but keeps the live gauges.
TEST_F(StatsTest, StartIntervalResetsCountersNotGauges) {
  QueueId q = addQueue();
  AgentId ag = addAgent({q});
  Statistics st(engine_);
  state(st, ag, AgentState::LoggedOut, AgentState::Available, 0);
  queued(st, 1, tag(q, 0), 0);
  queued(st, 2, tag(q, 5), 5);
  answered(st, 1, tag(q, 0), 10, ag);
  state(st, ag, AgentState::Available, AgentState::Busy, 10);

  st.startInterval(atSeconds(60));
  StatsReport r = st.report(atSeconds(70));
  EXPECT_EQ(r.from, atSeconds(60));
  EXPECT_EQ(r.to, atSeconds(70));
  EXPECT_EQ(r.total.counters.offered, 0u);
  EXPECT_EQ(r.total.counters.answered, 0u);
  EXPECT_EQ(r.total.gauges.waiting, 1u);
  EXPECT_EQ(r.total.gauges.longest_wait, secs(65));
  EXPECT_EQ(r.total.gauges.agents[static_cast<std::size_t>(AgentState::Busy)], 1u);
  // Agent time restarts at the interval start: busy 60..70 only.
  EXPECT_DOUBLE_EQ(r.total.counters.staffed_agent_ms, 10'000.0);
  EXPECT_DOUBLE_EQ(r.total.counters.busy_agent_ms, 10'000.0);
  // The contact answered before the interval completes in it: counted where it happens.
  completed(st, 1, tag(q, 0), 10, 75);
  EXPECT_EQ(st.report(atSeconds(80)).total.counters.completed, 1u);
}

// One agent through a shift (seconds):
//   0 Available, 10 Reserved, 12 Busy, 40 WrapUp, 50 Available, 60 NotReady, 80 Available.
// At 100: staffed = 0..60 + 80..100 = 80 s; busy = 10..50 = 40 s; occupancy 0.5.
TEST_F(StatsTest, OccupancyIntegratesAgentStates) {
  QueueId q1 = addQueue();
  QueueId q2 = addQueue();
  QueueId other = addQueue();
  Capacity voice_or_chats;  // voice, or 3 chats; no email
  voice_or_chats.total = 3;
  voice_or_chats[Channel::Voice] = {1, 3};
  voice_or_chats[Channel::Chat] = {3, 1};
  AgentId ag = addAgent({q1, q2}, voice_or_chats);
  Statistics st(engine_);
  state(st, ag, AgentState::LoggedOut, AgentState::Available, 0);
  state(st, ag, AgentState::Available, AgentState::Reserved, 10);
  state(st, ag, AgentState::Reserved, AgentState::Busy, 12);
  state(st, ag, AgentState::Busy, AgentState::WrapUp, 40);
  state(st, ag, AgentState::WrapUp, AgentState::Available, 50);
  state(st, ag, AgentState::Available, AgentState::NotReady, 60);
  state(st, ag, AgentState::NotReady, AgentState::Available, 80);

  StatsReport r = st.report(atSeconds(100));
  EXPECT_DOUBLE_EQ(r.total.counters.staffed_agent_ms, 80'000.0);
  EXPECT_DOUBLE_EQ(r.total.counters.busy_agent_ms, 40'000.0);
  EXPECT_NEAR(r.total.metrics().occupancy, 0.5, kEps);
  // Attributed to each queue the agent is a member of, and each channel it can take.
  EXPECT_NEAR(r.by_queue[index(q1)].metrics().occupancy, 0.5, kEps);
  EXPECT_NEAR(r.by_queue[index(q2)].metrics().occupancy, 0.5, kEps);
  EXPECT_TRUE(std::isnan(r.by_queue[index(other)].metrics().occupancy));
  EXPECT_NEAR(r.by_channel[static_cast<std::size_t>(Channel::Chat)].metrics().occupancy, 0.5, kEps);
  EXPECT_TRUE(
      std::isnan(r.by_channel[static_cast<std::size_t>(Channel::Email)].metrics().occupancy));
  EXPECT_TRUE(std::isnan(r.by_campaign[0].metrics().occupancy)) << "no agent time by campaign";
  // The partial period up to `now` is included without changing the fold.
  EXPECT_DOUBLE_EQ(st.report(atSeconds(90)).total.counters.staffed_agent_ms, 70'000.0);
}

// Agents by state: per queue through membership, per channel through capacity; agents never
// seen in an action are logged out.
TEST_F(StatsTest, AgentGaugesByState) {
  QueueId q1 = addQueue();
  QueueId q2 = addQueue();
  AgentId a = addAgent({q1});
  AgentId b = addAgent({q1, q2});
  addAgent({q2});
  Statistics st(engine_);
  state(st, a, AgentState::LoggedOut, AgentState::Available, 0);
  state(st, b, AgentState::LoggedOut, AgentState::NotReady, 0);
  StatsReport r = st.report(atSeconds(1));
  auto count = [](const StatsRow& row, AgentState s) {
    return row.gauges.agents[static_cast<std::size_t>(s)];
  };
  EXPECT_EQ(count(r.total, AgentState::Available), 1u);
  EXPECT_EQ(count(r.total, AgentState::NotReady), 1u);
  EXPECT_EQ(count(r.total, AgentState::LoggedOut), 1u);
  EXPECT_EQ(count(r.by_queue[index(q1)], AgentState::Available), 1u);
  EXPECT_EQ(count(r.by_queue[index(q1)], AgentState::NotReady), 1u);
  EXPECT_EQ(count(r.by_queue[index(q2)], AgentState::NotReady), 1u);
  EXPECT_EQ(count(r.by_queue[index(q2)], AgentState::LoggedOut), 1u);
  EXPECT_EQ(count(r.by_channel[static_cast<std::size_t>(Channel::Voice)], AgentState::LoggedOut),
            1u);
  EXPECT_EQ(count(r.by_channel[static_cast<std::size_t>(Channel::Chat)], AgentState::LoggedOut), 1u)
      << "Capacity::exclusive() allows every channel";
  EXPECT_EQ(count(r.by_campaign[0], AgentState::Available), 0u);
}

// Queues, agents and campaigns added after the Statistics was built are picked up.
TEST_F(StatsTest, ConfigurationAddedLaterIsSizedLazily) {
  Statistics st(engine_);
  QueueId q = addQueue(Millis{10'000});
  AgentId ag = addAgent({q});
  CampaignId camp = engine_.internCampaign("spring");
  queued(st, 1, tag(q, 0, Channel::Voice, camp), 0);
  answered(st, 1, tag(q, 0, Channel::Voice, camp), 15, ag);
  state(st, ag, AgentState::LoggedOut, AgentState::Busy, 15);
  StatsReport r = st.report(atSeconds(20));
  ASSERT_EQ(r.by_queue.size(), 1u);
  ASSERT_GT(r.by_campaign.size(), index(camp));
  EXPECT_EQ(r.by_queue[0].counters.answered_within_sl, 0u) << "the queue's 10 s threshold";
  EXPECT_EQ(r.by_campaign[index(camp)].counters.answered, 1u);
  EXPECT_EQ(r.by_queue[0].gauges.agents[static_cast<std::size_t>(AgentState::Busy)], 1u);
  // Ids beyond what the engine knows are counted, not dropped.
  queued(st, 2, tag(QueueId{7}, 20, Channel::Voice, CampaignId{9}), 20);
  r = st.report(atSeconds(20));
  EXPECT_EQ(r.by_queue.size(), 8u);
  EXPECT_EQ(r.by_queue[7].gauges.waiting, 1u);
  EXPECT_EQ(r.by_campaign.at(9).counters.offered, 1u);
}

TEST_F(StatsTest, MetricsAreNanWithoutDenominators) {
  Metrics m = StatsRow{}.metrics();
  EXPECT_TRUE(std::isnan(m.service_level));
  EXPECT_TRUE(std::isnan(m.service_level_answered));
  EXPECT_TRUE(std::isnan(m.asa_seconds));
  EXPECT_TRUE(std::isnan(m.aht_seconds));
  EXPECT_TRUE(std::isnan(m.abandon_rate));
  EXPECT_TRUE(std::isnan(m.occupancy));
  // Only short abandons, counted in an interval that saw no arrivals: denominators 0 and -1.
  StatsRow row;
  row.counters.abandoned = 1;
  row.counters.short_abandoned = 1;
  EXPECT_TRUE(std::isnan(row.metrics().service_level));
  EXPECT_TRUE(std::isnan(row.metrics().abandon_rate));
}

// A transfer to a queue ends the first agent's leg: it is a completed leg of the first queue,
// and the contact is offered (and waits) again in the second.
TEST_F(StatsTest, TransferCompletesTheFirstLeg) {
  QueueId a = addQueue();
  QueueId b = addQueue();
  Statistics st(engine_);
  queued(st, 1, tag(a, 0), 0);
  answered(st, 1, tag(a, 0), 5);
  st.apply(act::WrapUpEnded{ContactId{1}, AgentId{0}, a, Millis{0}}, atSeconds(65));
  st.apply(act::ContactMoved{ContactId{1}, tag(a, 0), b}, atSeconds(65));
  queued(st, 1, tag(b, 0), 65);
  StatsReport r = st.report(atSeconds(70));
  EXPECT_EQ(r.by_queue[index(a)].counters.completed, 1u);
  EXPECT_EQ(r.by_queue[index(a)].counters.talk_time, secs(60));
  EXPECT_EQ(r.by_queue[index(a)].counters.moved_out, 1u);
  EXPECT_EQ(r.by_queue[index(b)].counters.offered, 1u);
  EXPECT_EQ(r.by_queue[index(b)].gauges.waiting, 1u);
  EXPECT_EQ(r.by_queue[index(b)].gauges.longest_wait, secs(70)) << "keeps its enqueue time";
}

// Thousands of contacts with random ids come and go (the live-contact table grows and
// deletes by shifting); the gauges always match a reference count.
TEST_F(StatsTest, ManyContactsComeAndGo) {
  QueueId a = addQueue();
  QueueId b = addQueue();
  Statistics st(engine_);
  std::mt19937_64 rng(7);
  std::unordered_map<std::uint64_t, QueueId> waiting;
  std::uint64_t ended = 0;
  for (int round = 0; round < 20'000; ++round) {
    double t = round * 0.01;
    if (waiting.empty() || rng() % 100 < 55) {
      std::uint64_t id = rng();
      if (waiting.count(id)) continue;
      QueueId q = rng() % 2 ? a : b;
      queued(st, id, tag(q, t), t);
      waiting.emplace(id, q);
    } else {
      auto it = waiting.begin();
      std::advance(it,
                   static_cast<std::ptrdiff_t>(rng() % std::min<std::size_t>(waiting.size(), 8)));
      if (rng() % 2) {
        answered(st, it->first, tag(it->second, t), t);
        completed(st, it->first, tag(it->second, t), t, t);
      } else {
        abandoned(st, it->first, tag(it->second, t), t);
      }
      ++ended;
      waiting.erase(it);
    }
  }
  std::uint64_t in_a = 0;
  for (const auto& [id, q] : waiting) in_a += q == a;
  StatsReport r = st.report(atSeconds(200));
  EXPECT_EQ(r.total.gauges.waiting, waiting.size());
  EXPECT_EQ(r.by_queue[index(a)].gauges.waiting, in_a);
  EXPECT_EQ(r.total.counters.answered + r.total.counters.abandoned, ended);
  EXPECT_GT(waiting.size(), 1000u);
}

TEST_F(StatsTest, CopiesAreIndependent) {
  QueueId q = addQueue();
  Statistics st(engine_);
  queued(st, 1, tag(q, 0), 0);
  Statistics copy = st;
  queued(st, 2, tag(q, 0), 0);
  EXPECT_EQ(copy.report(atSeconds(1)).total.gauges.waiting, 1u);
  EXPECT_EQ(st.report(atSeconds(1)).total.gauges.waiting, 2u);
}

// --- Estimated wait time -------------------------------------------------------------------

class EwtTest : public StatsTest {
 protected:
  // One queue (wrap-up 10 s configured), `agents` members logged in and Available.
  void setUp(int agents) {
    q_ = addQueue(Millis{20'000}, Millis{5'000}, Millis{10'000});
    for (int i = 0; i < agents; ++i) agents_.push_back(addAgent({q_}));
    st_ = std::make_unique<Statistics>(engine_);
    for (AgentId a : agents_) state(*st_, a, AgentState::LoggedOut, AgentState::Available, 0);
  }
  double ewt(std::size_t pos, double t) const { return st_->ewtSeconds(q_, pos, atSeconds(t)); }

  QueueId q_{};
  std::vector<AgentId> agents_;
  std::unique_ptr<Statistics> st_;
};

TEST_F(EwtTest, ZeroWhileFreeAgentsCoverThePosition) {
  setUp(2);
  EXPECT_EQ(ewt(1, 0), 0.0);
  EXPECT_EQ(ewt(2, 0), 0.0);
  EXPECT_EQ(ewt(0, 0), 0.0) << "position 0 counts as 1";
  EXPECT_TRUE(std::isnan(ewt(3, 0))) << "a third contact must wait, and no AHT is known yet";
}

// AHT is an EWMA with weight 1/4 (Asterisk's holdtime filter), of talk plus wrap. Talks 100 s
// then 200 s: 100 + (200 - 100) / 4 = 125 s; before any wrap-up is reported, the queue's
// configured 10 s stands in for it. With 2 staffed agents both busy, a contact at position p
// waits p * AHT / 2.
TEST_F(EwtTest, CapacityModelUsesEwmaHandleTimeOverStaffedAgents) {
  setUp(2);
  Statistics& st = *st_;
  queued(st, 1, tag(q_, 0), 0);
  answered(st, 1, tag(q_, 0), 0, agents_[0]);
  state(st, agents_[0], AgentState::Available, AgentState::Busy, 0);
  act::ContactEnded e;
  e.contact = ContactId{1};
  e.tag = tag(q_, 0);
  e.outcome = Outcome::Completed;
  e.answered = true;
  e.handled = secs(100);
  st.apply(e, atSeconds(100));
  EXPECT_EQ(ewt(1, 100), 0.0) << "agent 1 is still Available";
  EXPECT_NEAR(ewt(2, 100), 1 * 110.0 / 2, kEps) << "one contact ahead of free capacity";

  state(st, agents_[1], AgentState::Available, AgentState::Busy, 100);
  EXPECT_NEAR(ewt(1, 100), 110.0 / 2, kEps);  // talk 100 + configured wrap 10, over 2

  st.apply(act::WrapUpEnded{ContactId{1}, agents_[0], q_, secs(4)}, atSeconds(104));
  EXPECT_NEAR(ewt(3, 104), 3 * 104.0 / 2, kEps) << "the reported wrap replaces the configured";

  queued(st, 2, tag(q_, 104), 104);
  answered(st, 2, tag(q_, 104), 104, agents_[0]);
  e.contact = ContactId{2};
  e.tag = tag(q_, 104);
  e.handled = secs(200);
  st.apply(e, atSeconds(304));
  st.apply(act::WrapUpEnded{ContactId{2}, agents_[0], q_, secs(4)}, atSeconds(308));
  EXPECT_NEAR(ewt(1, 308), (125.0 + 4.0) / 2, kEps);

  // An agent going not-ready shrinks the capacity: 1 staffed.
  state(st, agents_[1], AgentState::Busy, AgentState::NotReady, 310);
  EXPECT_NEAR(ewt(2, 310), 2 * 129.0, kEps);
}

// A queue with no history of its own borrows the AHT of all queues.
TEST_F(EwtTest, NewQueueBorrowsTheGlobalHandleTime) {
  setUp(1);
  QueueId fresh = addQueue();
  AgentId other = addAgent({fresh});
  Statistics& st = *st_;
  state(st, other, AgentState::LoggedOut, AgentState::Busy, 0);
  state(st, agents_[0], AgentState::Available, AgentState::Busy, 0);
  queued(st, 1, tag(q_, 0), 0);
  answered(st, 1, tag(q_, 0), 0, agents_[0]);
  completed(st, 1, tag(q_, 0), 0, 60, 0);
  EXPECT_NEAR(st.ewtSeconds(fresh, 2, atSeconds(60)), 2 * 60.0, kEps);
}

// Agents shared with a busier queue answer this one slower than AHT / N says: during a
// sustained backlog the observed time between answers takes over when it is longer, and
// the gap running now counts too. When the queue empties, the observation is dropped.
TEST_F(EwtTest, ObservedDepartureGapsCorrectTheModelDuringABacklog) {
  setUp(2);
  Statistics& st = *st_;
  for (AgentId a : agents_) state(st, a, AgentState::Available, AgentState::Busy, 0);
  // AHT 20 s from one earlier completion: model gap = 20 / 2 = 10 s per position.
  queued(st, 100, tag(q_, 0), 0);
  answered(st, 100, tag(q_, 0), 0, agents_[0]);
  completed(st, 100, tag(q_, 0), 0, 20, 0);
  EXPECT_NEAR(ewt(1, 20), 10.0, kEps);

  // A backlog of 10 contacts answered every 30 s (the agents mostly serve another queue).
  for (std::uint64_t id = 1; id <= 10; ++id) queued(st, id, tag(q_, 20), 20);
  answered(st, 1, tag(q_, 20), 30);
  answered(st, 2, tag(q_, 20), 60);  // gap sample 1: 30 s
  answered(st, 3, tag(q_, 20), 90);  // sample 2
  EXPECT_NEAR(ewt(1, 90), 10.0, kEps) << "two samples are not enough yet";
  answered(st, 4, tag(q_, 20), 120);  // sample 3
  EXPECT_NEAR(ewt(1, 120), 30.0, kEps);
  EXPECT_NEAR(ewt(4, 120), 120.0, kEps);
  // 50 s without an answer: the running gap pulls the estimate up continuously.
  EXPECT_NEAR(ewt(1, 170), 30.0 + (50.0 - 30.0) / 4, kEps);
  EXPECT_NEAR(ewt(1, 140), 30.0, kEps) << "a running gap shorter than the average is no news";

  // Faster answers than the model never pull the estimate below it.
  for (std::uint64_t id = 5; id <= 9; ++id) answered(st, id, tag(q_, 20), 120 + (id - 4));
  EXPECT_NEAR(ewt(1, 125), 10.0, kEps);

  // The queue drains: the backlog's gaps are forgotten.
  answered(st, 10, tag(q_, 20), 300);
  queued(st, 11, tag(q_, 300), 300);
  EXPECT_NEAR(ewt(1, 1000), 10.0, kEps);
}

// --- Against the real engine -----------------------------------------------------------------

// Drives the engine and feeds every action to the statistics, the way the server does.
class StatsWithEngineTest : public StatsTest {
 protected:
  void send(Statistics& st, double t, const Event& e) {
    TimePoint to = atSeconds(t);
    std::vector<Action> out;
    while (auto d = engine_.nextDeadline()) {
      if (*d > to) break;
      out.clear();
      engine_.handle(ev::Tick{}, *d, out);
      st.apply(out, *d);
    }
    out.clear();
    engine_.handle(e, to, out);
    st.apply(out, to);
  }
  static ContactSpec spec(std::uint64_t id, QueueId q, std::string campaign = {}) {
    ContactSpec s;
    s.id = ContactId{id};
    s.queue = q;
    s.attributes.campaign = std::move(campaign);
    return s;
  }
};

// Two agents, wrap-up 10 s, SL 20 s. Timeline (seconds):
//   0 both log in; 1 c1 arrives -> a1, 3 accepted (waited 2); 2 c2 -> a2, 40 accepted (38);
//   5 c3 arrives and waits; 6 c4 arrives, abandons at 8 (short); 50 c1 completes (talk 47)
//   -> a1 wraps 50..60, then takes c3 (offered 60, accepted 61, waited 56);
//   70 c2 completes (talk 30), a2 ends wrap early at 72 with WrapUpDone.
TEST_F(StatsWithEngineTest, EndToEndThroughTheEngine) {
  QueueId q = addQueue(Millis{20'000}, Millis{5'000}, Millis{10'000});
  AgentId a1 = addAgent({q});
  AgentId a2 = addAgent({q});
  Statistics st(engine_);
  send(st, 0, ev::AgentLogin{a1});
  send(st, 0, ev::AgentLogin{a2});
  send(st, 1, ev::ContactArrived{spec(1, q, "spring")});
  send(st, 2, ev::ContactArrived{spec(2, q)});
  AgentId first = engine_.contact(ContactId{1})->offered_to.at(0);
  send(st, 3, ev::OfferAccepted{ContactId{1}, first});
  send(st, 5, ev::ContactArrived{spec(3, q)});
  send(st, 6, ev::ContactArrived{spec(4, q)});
  send(st, 8, ev::ContactAbandoned{ContactId{4}});
  EXPECT_EQ(st.report(atSeconds(10)).by_queue[index(q)].gauges.waiting, 2u) << "c2 offered, c3";
  EXPECT_EQ(st.report(atSeconds(10)).by_queue[index(q)].gauges.longest_wait, secs(8));
  send(st, 40, ev::OfferAccepted{ContactId{2}, engine_.contact(ContactId{2})->offered_to.at(0)});
  EXPECT_TRUE(std::isnan(st.ewtSeconds(q, 1, atSeconds(40)))) << "both busy, no AHT yet";
  send(st, 50, ev::ContactCompleted{ContactId{1}});
  EXPECT_NEAR(st.ewtSeconds(q, 1, atSeconds(50)), 57.0 / 2, kEps) << "talk 47 + wrap 10, 2 agents";
  send(st, 61, ev::OfferAccepted{ContactId{3}, first});
  send(st, 70, ev::ContactCompleted{ContactId{2}});
  send(st, 72, ev::WrapUpDone{first == a1 ? a2 : a1});

  StatsReport r = st.report(atSeconds(80));
  const Counters& c = r.by_queue[index(q)].counters;
  EXPECT_EQ(c.offered, 4u);
  EXPECT_EQ(c.answered, 3u);
  EXPECT_EQ(c.answered_within_sl, 1u);
  EXPECT_EQ(c.abandoned, 1u);
  EXPECT_EQ(c.short_abandoned, 1u);
  EXPECT_EQ(c.completed, 2u);
  EXPECT_EQ(c.talk_time, secs(47 + 30));
  EXPECT_EQ(c.wrap_time, secs(10 + 2));
  EXPECT_EQ(c.answered_wait, secs(2 + 38 + 56));
  Metrics m = r.by_queue[index(q)].metrics();
  EXPECT_NEAR(m.service_level, 1.0 / 3.0, kEps);
  EXPECT_NEAR(m.aht_seconds, (77.0 + 12.0) / 2, kEps);
  EXPECT_NEAR(m.abandon_rate, 0.0, kEps);
  EXPECT_EQ(r.by_campaign.at(1).counters.completed, 1u);
  EXPECT_EQ(r.by_campaign.at(1).counters.wrap_time, secs(10));
  EXPECT_EQ(r.total.gauges.waiting, 0u);
  EXPECT_EQ(r.total.gauges.agents[static_cast<std::size_t>(AgentState::Busy)], 1u);
  EXPECT_EQ(r.total.gauges.agents[static_cast<std::size_t>(AgentState::Available)], 1u);
  // first: Reserved 1..3, Busy 3..50, WrapUp 50..60, Reserved 60..61, Busy 61..80 -> 79 s.
  // other: Reserved 2..40, Busy 40..70, WrapUp 70..72 -> busy 70 s. Both staffed 0..80.
  EXPECT_DOUBLE_EQ(r.total.counters.busy_agent_ms, 149'000.0);
  EXPECT_DOUBLE_EQ(r.total.counters.staffed_agent_ms, 160'000.0);
}

// Random load through the engine with a fixed seed: the waiting gauge always equals the
// engine's own count, and once everything has ended nothing is left waiting.
TEST_F(StatsWithEngineTest, GaugesTrackTheEngineUnderRandomLoad) {
  QueueId q1 = addQueue(Millis{20'000}, Millis{5'000}, Millis{3'000});
  QueueId q2 = addQueue(Millis{30'000}, Millis{5'000}, Millis{0});
  std::vector<AgentId> agents;
  for (int i = 0; i < 4; ++i) {
    agents.push_back(addAgent(i % 2 ? std::vector{q1, q2} : std::vector{q1}));
  }
  Statistics st(engine_);
  for (AgentId a : agents) send(st, 0, ev::AgentLogin{a});
  std::mt19937_64 rng(42);
  std::uniform_int_distribution<int> pick(0, 99);
  double t = 1;
  std::uint64_t next_id = 1;
  std::vector<std::uint64_t> live;
  for (int step = 0; step < 3000; ++step) {
    t += 0.5;
    int r = pick(rng);
    if (r < 30 || live.empty()) {
      std::uint64_t id = (next_id++) * 7919;  // sparse ids exercise the hash map
      send(st, t, ev::ContactArrived{spec(id, pick(rng) % 2 ? q1 : q2)});
      live.push_back(id);
      continue;
    }
    std::size_t k = static_cast<std::size_t>(pick(rng)) % live.size();
    ContactId c{live[k]};
    auto view = engine_.contact(c);
    if (!view) {
      live.erase(live.begin() + static_cast<std::ptrdiff_t>(k));
      continue;
    }
    if (r < 60 && view->state == ContactState::Offered) {
      send(st, t, ev::OfferAccepted{c, view->offered_to.at(0)});
    } else if (r < 75) {
      send(st, t, ev::ContactAbandoned{c});
    } else if (r < 95 && view->state == ContactState::Answered) {
      send(st, t, ev::ContactCompleted{c});
    } else if (r < 97 && view->state == ContactState::Answered) {
      send(st, t, ev::ContactTransferred{c, q2});
    }
    // The gauge counts waiting and offered (ringing) contacts in their primary queue.
    std::array<std::uint64_t, 2> expect{};
    for (std::uint64_t id : live) {
      auto v = engine_.contact(ContactId{id});
      if (v && v->state != ContactState::Answered) ++expect[index(v->queue)];
    }
    StatsReport rep = st.report(atSeconds(t));
    ASSERT_EQ(rep.by_queue[index(q1)].gauges.waiting, expect[index(q1)]) << "step " << step;
    ASSERT_EQ(rep.by_queue[index(q2)].gauges.waiting, expect[index(q2)]) << "step " << step;
  }
  for (std::uint64_t id : live) send(st, t, ev::ContactAbandoned{ContactId{id}});
  for (std::uint64_t id : live) send(st, t, ev::ContactCompleted{ContactId{id}});
  send(st, t + 100, ev::Tick{});
  StatsReport rep = st.report(atSeconds(t + 100));
  EXPECT_EQ(rep.total.gauges.waiting, 0u);
  EXPECT_EQ(engine_.liveContactCount(), 0u);
  const Counters& c = rep.total.counters;
  EXPECT_GT(c.answered, 50u);
  EXPECT_EQ(c.answered, c.completed) << "every answered leg completed";
  EXPECT_GE(c.offered, c.abandoned + c.exited);
  EXPECT_NEAR(rep.total.metrics().occupancy, 1.0, 0.5);
}

}  // namespace
}  // namespace parley::engine
