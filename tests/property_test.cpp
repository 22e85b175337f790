// Randomised property tests of the routing engine with fixed seeds: long event sequences over a
// randomly configured centre (every strategy, capacities, wrap-up, limits, escalation), with
// duplicate, late and bogus events mixed in. After every step the engine's own invariants must
// hold (no agent over capacity, no reservation without a live offer, no contact offered to two
// agents outside ring-all, no free eligible agent left beside a waiting contact); over the run
// every contact ends exactly once.
#include <gtest/gtest.h>

#include <map>
#include <random>
#include <set>

#include "engine/engine.h"

namespace parley::engine {
namespace {

struct Harness {
  Engine engine;
  std::mt19937_64 rng;
  TimePoint now{};
  std::uint64_t next_contact = 1;
  std::set<std::uint64_t> arrived;
  std::map<std::uint64_t, int> ended;  // contact -> times ended
  std::map<std::uint64_t, std::set<std::uint32_t>> offers;  // live offers seen in actions
  std::set<std::uint64_t> answered;
  std::vector<QueueId> queues;
  std::vector<AgentId> agents;
  std::vector<SkillId> skills;
  std::uint64_t steps = 0;
  std::uint64_t offers_made = 0;
  std::uint64_t answers = 0;

  explicit Harness(std::uint64_t seed)
      : engine(EngineConfig{.max_consecutive_misses = 3, .seed = seed}), rng(seed) {}

  int pick(int n) { return static_cast<int>(rng() % static_cast<std::uint64_t>(n)); }
  bool chance(int percent) { return pick(100) < percent; }

  void configure() {
    for (int s = 0; s < 3; ++s) skills.push_back(engine.internSkill("skill" + std::to_string(s)));
    const int queue_count = 5;
    for (int q = 0; q < queue_count; ++q) {
      QueueConfig c;
      c.name = "q" + std::to_string(q);
      c.strategy = static_cast<Strategy>(pick(8));
      c.wrap_up = Millis{chance(50) ? pick(20) * 1000 : 0};
      c.offer_timeout = Millis{(5 + pick(20)) * 1000};
      c.retry_other_agent_for = Millis{pick(3) * 1000};
      if (chance(40)) c.max_wait = Millis{(30 + pick(300)) * 1000};
      if (chance(30)) c.max_length = static_cast<std::size_t>(3 + pick(10));
      if (chance(50)) c.on_max_wait = {ExitAction::Kind::Queue, QueueId{static_cast<std::uint32_t>(pick(queue_count))}};
      if (chance(30)) c.on_max_length = {ExitAction::Kind::Queue, QueueId{static_cast<std::uint32_t>(pick(queue_count))}};
      if (chance(50)) c.escalation.push_back({Millis{(10 + pick(60)) * 1000}, 1, std::nullopt});
      if (chance(50)) {
        c.escalation.push_back({Millis{(20 + pick(60)) * 1000}, std::nullopt,
                                QueueId{static_cast<std::uint32_t>(pick(queue_count))}});
      }
      c.abandon_resume_window = Millis{chance(50) ? 60'000 : 0};
      queues.push_back(engine.addQueue(std::move(c)));
    }
    for (int a = 0; a < 25; ++a) {
      AgentConfig c;
      c.name = "a" + std::to_string(a);
      std::set<int> member_of;
      int n = 1 + pick(3);
      for (int i = 0; i < n; ++i) member_of.insert(pick(static_cast<int>(queues.size())));
      for (int q : member_of) c.queues.push_back({queues[static_cast<std::size_t>(q)], pick(3)});
      for (SkillId s : skills) {
        if (chance(60)) c.skills.push_back({s, 1 + pick(5)});
      }
      switch (pick(3)) {
        case 0: c.capacity = Capacity::exclusive(); break;
        case 1: c.capacity = Capacity::voiceOrChats(1 + pick(3)); break;
        default:
          c.capacity.total = 4;
          c.capacity[Channel::Voice] = {1, 2};
          c.capacity[Channel::Callback] = {1, 2};
          c.capacity[Channel::Chat] = {2, 1};
          c.capacity[Channel::Email] = {4, 1};
      }
      agents.push_back(engine.addAgent(std::move(c)));
    }
  }

  void observe(const std::vector<Action>& actions) {
    for (const Action& a : actions) {
      if (auto* o = std::get_if<act::OfferCreated>(&a)) {
        ASSERT_TRUE(arrived.count(index(o->contact))) << "offer for a contact that never arrived";
        ASSERT_EQ(ended.count(index(o->contact)), 0u) << "offer for an ended contact";
        offers[index(o->contact)].insert(index(o->agent));
        ++offers_made;
      } else if (auto* w = std::get_if<act::OfferWithdrawn>(&a)) {
        auto it = offers.find(index(w->contact));
        if (it != offers.end()) {
          it->second.erase(index(w->agent));
          if (it->second.empty()) offers.erase(it);
        }
      } else if (auto* an = std::get_if<act::ContactAnswered>(&a)) {
        ASSERT_EQ(answered.count(index(an->contact)), 0u) << "answered twice";
        offers.erase(index(an->contact));
        answered.insert(index(an->contact));
        ++answers;
      } else if (auto* e = std::get_if<act::ContactEnded>(&a)) {
        ASSERT_TRUE(arrived.count(index(e->contact)));
        ++ended[index(e->contact)];
        ASSERT_EQ(ended[index(e->contact)], 1) << "contact " << index(e->contact) << " ended twice";
        offers.erase(index(e->contact));
        answered.erase(index(e->contact));
      } else if (auto* m = std::get_if<act::ContactMoved>(&a)) {
        answered.erase(index(m->contact));  // a transfer to a queue makes it wait again
      }
    }
  }

  void send(const Event& e) {
    std::vector<Action> out;
    while (auto d = engine.nextDeadline()) {
      if (*d > now) break;
      engine.handle(ev::Tick{}, *d, out);
    }
    engine.handle(e, now, out);
    observe(out);
    ++steps;
    std::string broken = engine.checkInvariants(now);
    ASSERT_TRUE(broken.empty()) << "step " << steps << " (event kind " << e.index() << "): " << broken;
  }

  std::uint64_t anyContact() {
    if (arrived.empty() || chance(3)) return 1'000'000 + static_cast<std::uint64_t>(pick(10));
    // Mostly recent contacts, sometimes an old (maybe ended) one.
    std::uint64_t hi = next_contact - 1;
    std::uint64_t span = std::min<std::uint64_t>(hi, 60);
    return hi - rng() % span;
  }
  AgentId anyAgent() {
    if (chance(2)) return AgentId{9999};
    return agents[static_cast<std::size_t>(pick(static_cast<int>(agents.size())))];
  }

  void randomStep() {
    now += Millis{static_cast<std::int64_t>(rng() % 4000)};
    int r = pick(100);
    if (r < 22) {
      ContactSpec c;
      c.id = ContactId{next_contact++};
      arrived.insert(index(c.id));
      c.channel = kAllChannels[static_cast<std::size_t>(pick(static_cast<int>(kChannelCount)))];
      c.queue = queues[static_cast<std::size_t>(pick(static_cast<int>(queues.size())))];
      c.priority = chance(10) ? 1 + pick(3) : 0;
      if (chance(40)) c.skills.push_back({skills[static_cast<std::size_t>(pick(3))], 1 + pick(5)});
      if (chance(30)) c.caller = "caller" + std::to_string(pick(20));
      if (chance(5)) c.enqueued_at = now - Millis{pick(100'000)};
      if (chance(20)) c.attributes.campaign = "camp" + std::to_string(pick(3));
      send(ev::ContactArrived{c});
    } else if (r < 52) {
      // Accept a live offer (mostly), or a random pair.
      if (!offers.empty() && !chance(10)) {
        auto it = offers.begin();
        std::advance(it, pick(static_cast<int>(offers.size())));
        if (!it->second.empty()) {
          auto ag = it->second.begin();
          std::advance(ag, pick(static_cast<int>(it->second.size())));
          send(ev::OfferAccepted{ContactId{it->first}, AgentId{*ag}});
          return;
        }
      }
      send(ev::OfferAccepted{ContactId{anyContact()}, anyAgent()});
    } else if (r < 55) {
      if (!offers.empty()) {
        auto it = offers.begin();
        std::advance(it, pick(static_cast<int>(offers.size())));
        if (!it->second.empty()) {
          send(ev::OfferRejected{ContactId{it->first}, AgentId{*it->second.begin()}});
          return;
        }
      }
      send(ev::OfferRejected{ContactId{anyContact()}, anyAgent()});
    } else if (r < 75) {
      if (!answered.empty()) {
        auto it = answered.begin();
        std::advance(it, pick(static_cast<int>(answered.size())));
        if (chance(5)) {
          std::optional<QueueId> to;
          if (chance(50)) to = queues[static_cast<std::size_t>(pick(static_cast<int>(queues.size())))];
          send(ev::ContactTransferred{ContactId{*it}, to});
        } else {
          send(ev::ContactCompleted{ContactId{*it}});
        }
        return;
      }
      send(ev::ContactCompleted{ContactId{anyContact()}});
    } else if (r < 81) {
      send(ev::ContactAbandoned{ContactId{anyContact()}});
    } else if (r < 83) {
      send(ev::ContactLeftQueue{ContactId{anyContact()}});
    } else if (r < 87) {
      send(ev::AgentLogin{anyAgent(), chance(80)});
    } else if (r < 93) {
      send(ev::AgentReady{anyAgent()});
    } else if (r < 95) {
      send(ev::AgentNotReady{anyAgent(), chance(50) ? "break" : "lunch"});
    } else if (r < 97) {
      send(ev::AgentLogout{anyAgent()});
    } else if (r < 99) {
      send(ev::WrapUpDone{anyAgent()});
    } else {
      send(ev::Tick{});
    }
  }

  // Ends everything still live: answered contacts complete, the rest abandon; time runs out.
  void drain() {
    for (std::uint64_t id : arrived) {
      if (ended.count(id)) continue;
      now += Millis{1};
      if (answered.count(id)) {
        send(ev::ContactCompleted{ContactId{id}});
      } else {
        send(ev::ContactAbandoned{ContactId{id}});
      }
      if (answered.count(id) && !ended.count(id)) send(ev::ContactCompleted{ContactId{id}});
    }
    now += Millis{24LL * 3600 * 1000};
    send(ev::Tick{});
  }
};

class RoutingProperties : public ::testing::TestWithParam<std::uint64_t> {};

TEST_P(RoutingProperties, EveryContactEndsOnceAndNoStateSticks) {
  Harness h(GetParam());
  h.configure();
  for (int i = 0; i < 20000 && !::testing::Test::HasFatalFailure(); ++i) h.randomStep();
  ASSERT_FALSE(::testing::Test::HasFatalFailure());
  h.drain();
  ASSERT_FALSE(::testing::Test::HasFatalFailure());

  // Every contact that arrived ended exactly once; nothing is left in the engine.
  for (std::uint64_t id : h.arrived) EXPECT_EQ(h.ended[id], 1) << "contact " << id;
  EXPECT_EQ(h.engine.liveContactCount(), 0u);
  EXPECT_FALSE(h.engine.nextDeadline().has_value()) << "a timer outlived its contact";
  // No stuck reservation or capacity: every agent is idle in a resting state.
  for (AgentId a : h.agents) {
    AgentView v = h.engine.agent(a);
    EXPECT_FALSE(v.offer.has_value());
    EXPECT_EQ(v.used_capacity, 0);
    EXPECT_TRUE(v.state == AgentState::Available || v.state == AgentState::NotReady ||
                v.state == AgentState::LoggedOut)
        << toString(v.state);
  }
  // The run exercised routing for real, not a degenerate configuration.
  EXPECT_GT(h.offers_made, 3000u);
  EXPECT_GT(h.answers, 1000u);
}

INSTANTIATE_TEST_SUITE_P(FixedSeeds, RoutingProperties,
                         ::testing::Values(1u, 2u, 3u, 4u, 5u, 6u, 7u, 8u, 9u, 10u, 11u, 12u));

}  // namespace
}  // namespace parley::engine
