// Benchmarks of the routing engine at contact-centre scale: 10,000 agents, 200 queues and up to
// 100,000 waiting contacts (the sizes named in the performance issue; goal: at least 1,000,000
// routing events per second on one core). Results, method and the exact command are in
// docs/BENCHMARKS.md, section "Engine".
//
// Units. A "routing event" is one call of Engine::handle(), whatever the event (ev::Tick
// included; ticks are also reported on their own). Benchmarks that count events report
// items_per_second = events per second. The decision-latency benchmarks time one event that makes
// one routing decision per iteration (manual timing around that handle() call only) and report
// its percentiles as counters.
//
// Method. Each benchmark drives a world that is built once, outside the timed loop, and kept in a
// steady state by the driver: every round completes a random answered contact and brings in new
// contacts so that the number of waiting contacts (saturated worlds) or of busy agents
// (underloaded worlds) stays constant. The driver accepts every offer at once, as a fast agent
// would. Virtual time advances by a fixed step per round; the driver sends ev::Tick whenever
// Engine::nextDeadline() is due, so the engine's timers stay bounded. Single-threaded, fixed
// seeds: two runs do the same work.
#include <benchmark/benchmark.h>

#include <algorithm>
#include <chrono>
#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <utility>
#include <variant>
#include <vector>

#include "engine/engine.h"

namespace {

namespace eng = parley::engine;
namespace ev = parley::engine::ev;
namespace act = parley::engine::act;
using eng::AgentId;
using eng::ContactId;
using eng::Millis;
using eng::QueueId;
using eng::SkillRequirement;
using eng::Strategy;

// The driver's own generator for the world and its choices (not the engine's), fixed seed.
class Rng {
 public:
  explicit Rng(std::uint64_t seed) : state_(seed) {}
  std::uint64_t next() {
    std::uint64_t z = (state_ += 0x9e3779b97f4a7c15ULL);
    z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ULL;
    z = (z ^ (z >> 27)) * 0x94d049bb133111ebULL;
    return z ^ (z >> 31);
  }
  // Uniform in [0, n), n > 0.
  std::uint32_t below(std::uint32_t n) {
    return static_cast<std::uint32_t>(((next() >> 32) * n) >> 32);
  }
  bool chance(double p) { return static_cast<double>(next() >> 11) * 0x1.0p-53 < p; }

 private:
  std::uint64_t state_;
};

// Which queues and agents a world has.
enum class Mix : std::uint8_t {
  // Every strategy but ring-all; a quarter of the queues require a product skill (level 1-3),
  // a tenth are chat queues whose agents take up to 3 chats; agents in 1-3 queues, the extra
  // ones at penalty 1 (overflow members).
  Mixed,
  // Every queue rings all its free members; voice only, no skills.
  RingAll,
  // Every queue is skills-best-match on a product skill (level 1-3) and, for half the contacts,
  // a language (level 1-2): about 33 contact classes per queue. Agents have 3-6 skills.
  SkillsHeavy,
};

// How the driver keeps the world steady.
enum class Refill : std::uint8_t {
  // One new contact for each contact taken out of waiting (by an agent that freed up), into the
  // same queue: the number waiting per queue is constant. For saturated worlds.
  Waiting,
  // One new contact for each completed one, into the completed contact's queue: the number of
  // busy agents is constant. For underloaded worlds.
  Completed,
};

struct WorldSpec {
  std::string key;  // worlds are cached by this key across the runs of one benchmark
  Mix mix = Mix::Mixed;
  Refill refill = Refill::Waiting;
  std::uint32_t agents = 10'000;
  std::uint32_t queues = 200;
  std::size_t waiting = 100'000;  // saturated: contacts kept waiting
  double busy_fraction = 1.0;     // underloaded: share of agents kept busy
  Millis wrap_up{0};
  std::optional<Millis> max_wait;
  Millis step{10};  // virtual time per round
  int warmup_rounds = 20'000;
};

constexpr std::uint32_t kProducts = 20;
constexpr std::uint32_t kLanguages = 5;

class Driver {
 public:
  explicit Driver(const WorldSpec& spec) : spec_(spec), engine_(eng::EngineConfig{3, 7}), rng_(42) {
    buildQueues();
    buildAgents();
    for (std::uint32_t a = 0; a < spec_.agents; ++a) send(ev::AgentLogin{AgentId{a}, true});
    acceptPending();
    fill();
    for (int i = 0; i < spec_.warmup_rounds; ++i) round();
    refill_.clear();
  }

  // One steady-state round: fire due timers, complete one random answered contact, accept the
  // offers that follow, and bring in the contacts that keep the world steady.
  void round() {
    now_ += spec_.step;
    tickIfDue();
    completeOne();
    acceptPending();
    if (spec_.refill == Refill::Completed) {
      arrive(completed_queue_);
      acceptPending();
      refill_.clear();
    } else {
      // Arrivals can be offered at once (a free agent), which takes nothing out of waiting.
      while (!refill_.empty()) {
        QueueId q = refill_.back();
        refill_.pop_back();
        arrive(q);
        acceptPending();
      }
    }
  }

  // Which event of a round to time (the decision-latency benchmarks).
  enum class Timed : std::uint8_t { None, Completion, Arrival };
  void setTimed(Timed t) {
    timed_ = t;
    samples_.clear();
    last_timed_ns_ = 0;
  }
  std::int64_t lastTimedNs() const { return last_timed_ns_; }
  std::vector<std::uint32_t>& samples() { return samples_; }

  std::uint64_t events() const { return events_; }
  std::uint64_t ticks() const { return ticks_; }
  std::uint64_t actions() const { return actions_; }
  std::size_t waiting() const { return engine_.liveContactCount() - answered_.size(); }
  std::size_t busy() const { return answered_.size(); }
  std::string checkInvariants() const { return engine_.checkInvariants(now_); }

 private:
  struct QueueProfile {
    QueueId id{};
    eng::Channel channel = eng::Channel::Voice;
    bool product_skill = false;
    eng::SkillId product{};
  };

  void buildQueues() {
    for (std::uint32_t p = 0; p < kProducts; ++p) {
      products_.push_back(engine_.internSkill("product-" + std::to_string(p)));
    }
    for (std::uint32_t l = 0; l < kLanguages; ++l) {
      languages_.push_back(engine_.internSkill("language-" + std::to_string(l)));
    }
    static constexpr Strategy kPlain[] = {Strategy::LongestIdle,    Strategy::RoundRobin,
                                          Strategy::FewestContacts, Strategy::LeastTalkTime,
                                          Strategy::TopDown,        Strategy::Random};
    for (std::uint32_t q = 0; q < spec_.queues; ++q) {
      eng::QueueConfig cfg;
      cfg.name = "queue-" + std::to_string(q);
      cfg.wrap_up = spec_.wrap_up;
      cfg.max_wait = spec_.max_wait;
      QueueProfile prof;
      switch (spec_.mix) {
        case Mix::Mixed:
          prof.product_skill = q % 4 == 0;
          prof.channel = q % 10 == 5 ? eng::Channel::Chat : eng::Channel::Voice;
          if (prof.product_skill) {
            cfg.strategy = q % 8 == 0 ? Strategy::SkillsBestMatch : Strategy::LongestIdle;
          } else {
            cfg.strategy = kPlain[q % std::size(kPlain)];
          }
          break;
        case Mix::RingAll:
          cfg.strategy = Strategy::RingAll;
          break;
        case Mix::SkillsHeavy:
          prof.product_skill = true;
          cfg.strategy = Strategy::SkillsBestMatch;
          break;
      }
      prof.product = products_[q % kProducts];
      prof.id = engine_.addQueue(std::move(cfg));
      profiles_.push_back(prof);
    }
  }

  void buildAgents() {
    for (std::uint32_t i = 0; i < spec_.agents; ++i) {
      eng::AgentConfig cfg;
      cfg.name = "agent-" + std::to_string(i);
      std::uint32_t primary = i % spec_.queues;
      cfg.queues.push_back({QueueId{primary}, 0});
      std::uint32_t extra = rng_.below(3);  // 1-3 queues in all
      for (std::uint32_t k = 0; k < extra; ++k) {
        QueueId q{rng_.below(spec_.queues)};
        bool dup = std::any_of(cfg.queues.begin(), cfg.queues.end(),
                               [&](const eng::Membership& m) { return m.queue == q; });
        if (!dup) cfg.queues.push_back({q, 1});
      }
      auto give = [&](eng::SkillId s, int level) {
        for (const eng::AgentSkill& k : cfg.skills) {
          if (k.skill == s) return;
        }
        cfg.skills.push_back({s, level});
      };
      for (const eng::Membership& m : cfg.queues) {
        const QueueProfile& prof = profiles_[eng::index(m.queue)];
        if (prof.product_skill) give(prof.product, 1 + static_cast<int>(rng_.below(5)));
      }
      if (spec_.mix == Mix::SkillsHeavy) {
        std::uint32_t langs = 1 + rng_.below(2);
        for (std::uint32_t k = 0; k < langs; ++k) {
          give(languages_[rng_.below(kLanguages)], 1 + static_cast<int>(rng_.below(5)));
        }
        give(products_[rng_.below(kProducts)], 1 + static_cast<int>(rng_.below(5)));
      } else if (rng_.chance(0.5)) {
        give(products_[rng_.below(kProducts)], 1 + static_cast<int>(rng_.below(5)));
      }
      if (profiles_[primary].channel == eng::Channel::Chat) {
        cfg.capacity = eng::Capacity::voiceOrChats(3);
      }
      engine_.addAgent(std::move(cfg));
    }
  }

  // Brings the world to its steady population: saturated worlds until `waiting` contacts wait,
  // underloaded ones until `busy_fraction` of the agents are busy. Queues take turns.
  void fill() {
    std::uint32_t q = 0;
    if (spec_.refill == Refill::Waiting) {
      while (waiting() < spec_.waiting) {
        arrive(QueueId{q++ % spec_.queues});
        acceptPending();
      }
    } else {
      auto target = static_cast<std::size_t>(spec_.busy_fraction * spec_.agents);
      for (std::size_t guard = 0; busy() < target && guard < 4 * target; ++guard) {
        arrive(QueueId{q++ % spec_.queues});
        acceptPending();
      }
    }
    refill_.clear();
  }

  void arrive(QueueId q) {
    const QueueProfile& prof = profiles_[eng::index(q)];
    auto& spec = std::get<ev::ContactArrived>(arrival_).contact;
    spec.id = ContactId{++next_contact_};
    spec.queue = q;
    spec.channel = prof.channel;
    spec.priority = rng_.chance(0.1) ? 1 : 0;
    spec.skills.clear();
    if (prof.product_skill) {
      static constexpr int kLevels[] = {1, 1, 1, 2, 2, 3};
      spec.skills.push_back({prof.product, kLevels[rng_.below(6)]});
      if (spec_.mix == Mix::SkillsHeavy && rng_.chance(0.5)) {
        spec.skills.push_back(
            {languages_[rng_.below(kLanguages)], 1 + static_cast<int>(rng_.below(2))});
      }
    }
    arriving_ = spec.id;
    send(arrival_, timed_ == Timed::Arrival);
    arriving_ = ContactId{0};
  }

  void completeOne() {
    if (answered_.empty()) return;
    std::size_t i = rng_.below(static_cast<std::uint32_t>(answered_.size()));
    ContactId c = answered_[i];
    answered_[i] = answered_.back();
    answered_.pop_back();
    send(ev::ContactCompleted{c}, timed_ == Timed::Completion);
  }

  void acceptPending() {
    for (std::size_t i = 0; i < to_accept_.size(); ++i) {
      auto [c, a] = to_accept_[i];
      send(ev::OfferAccepted{c, a});
    }
    to_accept_.clear();
  }

  void tickIfDue() {
    std::optional<eng::TimePoint> due = engine_.nextDeadline();
    if (due && *due <= now_) {
      send(ev::Tick{});
      ++ticks_;
    }
  }

  void send(const eng::Event& e, bool timed = false) {
    out_.clear();
    if (timed) {
      auto t0 = std::chrono::steady_clock::now();
      engine_.handle(e, now_, out_);
      auto t1 = std::chrono::steady_clock::now();
      last_timed_ns_ = std::chrono::duration_cast<std::chrono::nanoseconds>(t1 - t0).count();
      samples_.push_back(static_cast<std::uint32_t>(last_timed_ns_));
    } else {
      engine_.handle(e, now_, out_);
    }
    ++events_;
    actions_ += out_.size();
    scan();
  }

  // Reads the engine's answer: offers to accept (the first agent of a ring-all), answered
  // contacts, and which queues need a new contact.
  void scan() {
    for (const eng::Action& a : out_) {
      if (const auto* o = std::get_if<act::OfferCreated>(&a)) {
        if (o->contact != arriving_) refill_.push_back(o->tag.queue);
        bool pending = false;
        for (std::size_t i = to_accept_.size(); i-- > 0 && !pending;) {
          pending = to_accept_[i].first == o->contact;
        }
        if (!pending) to_accept_.emplace_back(o->contact, o->agent);
      } else if (const auto* ans = std::get_if<act::ContactAnswered>(&a)) {
        answered_.push_back(ans->contact);
      } else if (const auto* end = std::get_if<act::ContactEnded>(&a)) {
        completed_queue_ = end->tag.queue;
      }
    }
  }

  WorldSpec spec_;
  eng::Engine engine_;
  Rng rng_;
  eng::TimePoint now_{};
  std::vector<QueueProfile> profiles_;
  std::vector<eng::SkillId> products_;
  std::vector<eng::SkillId> languages_;
  std::vector<eng::Action> out_;              // reused for every handle() call
  eng::Event arrival_{ev::ContactArrived{}};  // reused so the driver allocates nothing per arrival
  std::uint64_t next_contact_ = 0;
  ContactId arriving_{0};
  std::vector<ContactId> answered_;  // answered and not completed, in no particular order
  std::vector<std::pair<ContactId, AgentId>> to_accept_;
  std::vector<QueueId> refill_;
  QueueId completed_queue_{};
  std::uint64_t events_ = 0;
  std::uint64_t ticks_ = 0;
  std::uint64_t actions_ = 0;
  Timed timed_ = Timed::None;
  std::int64_t last_timed_ns_ = 0;
  std::vector<std::uint32_t> samples_;
};

// Google Benchmark calls a benchmark function several times while it settles the iteration
// count; the world is built on the first call and kept (one world at a time, to bound memory).
// A freshly built world is checked against the engine's invariants, so that no figure comes
// from a broken state; the result is returned with the world (empty when all hold).
struct World {
  Driver& driver;
  const std::string& broken;
};
World world(const WorldSpec& spec) {
  static std::unique_ptr<Driver> driver;
  static std::string key;
  static std::string broken;
  if (!driver || key != spec.key) {
    driver.reset();
    driver = std::make_unique<Driver>(spec);
    key = spec.key;
    broken = driver->checkInvariants();
  }
  return {*driver, broken};
}

WorldSpec saturatedMixed() {
  WorldSpec s;
  s.key = "saturated-mixed";
  return s;
}
WorldSpec saturatedMixedWrapUp() {
  WorldSpec s;
  s.key = "saturated-mixed-wrapup-maxwait";
  s.wrap_up = Millis{5'000};
  s.max_wait = Millis{30 * 60 * 1000};
  s.warmup_rounds = 200'000;  // long enough for the max-wait timer heap to reach steady size
  return s;
}
WorldSpec saturatedSkillsHeavy() {
  WorldSpec s;
  s.key = "saturated-skills-heavy";
  s.mix = Mix::SkillsHeavy;
  return s;
}
WorldSpec underloadedMixed() {
  WorldSpec s;
  s.key = "underloaded-mixed";
  s.refill = Refill::Completed;
  s.waiting = 0;
  s.busy_fraction = 0.5;  // members per queue ~100, so ~50 free per queue
  return s;
}
WorldSpec underloadedRingAll() {
  WorldSpec s = underloadedMixed();
  s.key = "underloaded-ring-all";
  s.mix = Mix::RingAll;
  return s;
}

void reportWorld(benchmark::State& state, const Driver& d, std::uint64_t events0,
                 std::uint64_t ticks0, std::uint64_t actions0) {
  auto events = static_cast<double>(d.events() - events0);
  state.SetItemsProcessed(static_cast<std::int64_t>(d.events() - events0));
  state.counters["events/round"] = events / static_cast<double>(state.iterations());
  state.counters["ticks"] = static_cast<double>(d.ticks() - ticks0);
  state.counters["actions/event"] =
      events > 0 ? static_cast<double>(d.actions() - actions0) / events : 0.0;
  state.counters["waiting"] = static_cast<double>(d.waiting());
  state.counters["busy"] = static_cast<double>(d.busy());
}

// Throughput: rounds of (tick if due) + complete + accept + arrival(s), counted in events.
void runChurn(benchmark::State& state, const WorldSpec& spec) {
  auto [d, broken] = world(spec);
  if (!broken.empty()) {
    state.SkipWithError(("engine invariants broken after setup: " + broken).c_str());
    return;
  }
  d.setTimed(Driver::Timed::None);
  std::uint64_t e0 = d.events(), t0 = d.ticks(), a0 = d.actions();
  for (auto _ : state) d.round();
  reportWorld(state, d, e0, t0, a0);
}

// Latency: one iteration = one round, but only the chosen decision event is timed.
void runLatency(benchmark::State& state, const WorldSpec& spec, Driver::Timed timed) {
  auto [d, broken] = world(spec);
  if (!broken.empty()) {
    state.SkipWithError(("engine invariants broken after setup: " + broken).c_str());
    return;
  }
  d.setTimed(timed);
  d.samples().reserve(4'000'000);
  for (auto _ : state) {
    d.round();
    state.SetIterationTime(static_cast<double>(d.lastTimedNs()) * 1e-9);
  }
  std::vector<std::uint32_t>& s = d.samples();
  if (!s.empty()) {
    std::sort(s.begin(), s.end());
    auto at = [&](double q) {
      return static_cast<double>(s[std::min(s.size() - 1, static_cast<std::size_t>(q * s.size()))]);
    };
    state.counters["p50_ns"] = at(0.50);
    state.counters["p90_ns"] = at(0.90);
    state.counters["p99_ns"] = at(0.99);
    state.counters["p99.9_ns"] = at(0.999);
    state.counters["max_ns"] = static_cast<double>(s.back());
  }
  state.counters["waiting"] = static_cast<double>(d.waiting());
  d.setTimed(Driver::Timed::None);
}

// 10,000 agents, 200 queues, 100,000 waiting, wrap-up 0: each completion frees an agent who
// takes the best waiting contact across its queues; a new contact replaces it.
void BM_SaturatedChurn(benchmark::State& state) {
  runChurn(state, saturatedMixed());
}
// Time of the event that frees an agent (ContactCompleted, wrap-up 0) and so makes the
// agent-side decision among 100,000 waiting contacts: completion bookkeeping included.
void BM_DecisionLatency_AgentFrees(benchmark::State& state) {
  runLatency(state, saturatedMixed(), Driver::Timed::Completion);
}
// The same world with a 5 s wrap-up (agents freed by ev::Tick) and a 30 min max wait on every
// contact (a timer per contact): the engine's timer heap is in play.
void BM_SaturatedChurnWrapUpMaxWait(benchmark::State& state) {
  runChurn(state, saturatedMixedWrapUp());
}
void BM_SaturatedChurnSkillsHeavy(benchmark::State& state) {
  runChurn(state, saturatedSkillsHeavy());
}
void BM_DecisionLatency_AgentFreesSkillsHeavy(benchmark::State& state) {
  runLatency(state, saturatedSkillsHeavy(), Driver::Timed::Completion);
}
// Half the agents busy, nothing waiting: each arrival picks among ~50 free members.
void BM_UnderloadedArrival(benchmark::State& state) {
  runChurn(state, underloadedMixed());
}
// Time of ContactArrived with free agents: queueing, the strategy's choice, the offer.
void BM_DecisionLatency_Arrival(benchmark::State& state) {
  runLatency(state, underloadedMixed(), Driver::Timed::Arrival);
}
void BM_UnderloadedRingAll(benchmark::State& state) {
  runChurn(state, underloadedRingAll());
}

// Cost of the two clock reads around each timed decision, to read the latencies against.
void BM_ClockReadPair(benchmark::State& state) {
  for (auto _ : state) {
    auto t0 = std::chrono::steady_clock::now();
    auto t1 = std::chrono::steady_clock::now();
    benchmark::DoNotOptimize(t1 - t0);
  }
}

BENCHMARK(BM_SaturatedChurn)->Unit(benchmark::kNanosecond);
BENCHMARK(BM_DecisionLatency_AgentFrees)->UseManualTime()->Unit(benchmark::kNanosecond);
BENCHMARK(BM_SaturatedChurnWrapUpMaxWait)->Unit(benchmark::kNanosecond);
BENCHMARK(BM_SaturatedChurnSkillsHeavy)->Unit(benchmark::kNanosecond);
BENCHMARK(BM_DecisionLatency_AgentFreesSkillsHeavy)->UseManualTime()->Unit(benchmark::kNanosecond);
BENCHMARK(BM_UnderloadedArrival)->Unit(benchmark::kNanosecond);
BENCHMARK(BM_DecisionLatency_Arrival)->UseManualTime()->Unit(benchmark::kNanosecond);
BENCHMARK(BM_UnderloadedRingAll)->Unit(benchmark::kNanosecond);
BENCHMARK(BM_ClockReadPair)->Unit(benchmark::kNanosecond);

}  // namespace

BENCHMARK_MAIN();
