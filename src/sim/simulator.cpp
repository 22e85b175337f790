#include "sim/simulator.h"

#include <algorithm>
#include <cmath>
#include <limits>
#include <optional>
#include <type_traits>
#include <utility>
#include <variant>

#include "engine/engine.h"
#include "sim/random.h"

namespace parley::sim {

using engine::Action;
using engine::AgentId;
using engine::ContactId;
using engine::Millis;
using engine::TimePoint;
namespace ev = engine::ev;
namespace act = engine::act;

double RowResult::probabilityOfWait() const {
  if (arrivals == 0) return std::numeric_limits<double>::quiet_NaN();
  return static_cast<double>(delayed) / static_cast<double>(arrivals);
}

void addCounters(engine::Counters& into, const engine::Counters& from) {
  into.offered += from.offered;
  into.answered += from.answered;
  into.answered_within_sl += from.answered_within_sl;
  into.abandoned += from.abandoned;
  into.short_abandoned += from.short_abandoned;
  into.abandoned_within_sl += from.abandoned_within_sl;
  into.exited += from.exited;
  into.moved_out += from.moved_out;
  into.completed += from.completed;
  into.answered_wait += from.answered_wait;
  into.abandoned_wait += from.abandoned_wait;
  into.talk_time += from.talk_time;
  into.wrap_time += from.wrap_time;
  into.staffed_agent_ms += from.staffed_agent_ms;
  into.busy_agent_ms += from.busy_agent_ms;
}

namespace {

constexpr std::int64_t kNever = std::numeric_limits<std::int64_t>::max();
// A drain that has not emptied the centre this long after close is stuck (say, contacts with
// infinite patience and no agent left); the run stops and reports them as unfinished.
constexpr std::int64_t kMaxDrainMs = 24LL * 3'600'000;

// Something the simulator will do at a virtual time. Ordered by time, then by creation order so
// that simultaneous events run in the order they were scheduled (deterministic).
struct Pending {
  enum class Kind : std::uint8_t {
    ShiftStart,  // agent logs in ready
    ShiftEnd,    // agent goes not-ready, then logs out once idle
    Logout,      // a leaving agent is idle: log it out
    NotReady,    // a leaving agent came back to Available: ask again
    Arrival,     // a contact of stream `x` arrives
    Abandon,     // contact's patience ran out
    Accept,      // agent `x` accepts offer number `y` (contact `contact`)
    Complete,    // contact's handle time is over
  };
  std::int64_t at = 0;
  std::uint64_t seq = 0;
  std::uint64_t contact = 0;
  std::uint32_t x = 0;
  std::uint32_t y = 0;
  Kind kind{};
};

struct Later {
  bool operator()(const Pending& a, const Pending& b) const {
    return a.at != b.at ? a.at > b.at : a.seq > b.seq;
  }
};

enum class ContactPhase : std::uint8_t { Waiting, Answered, Ended };

// What the simulator keeps per contact (indexed by contact id - 1).
struct ContactRec {
  std::uint16_t stream = 0;
  ContactPhase phase = ContactPhase::Waiting;
};

struct AgentSim {
  std::int64_t shift_start = 0;
  std::int64_t shift_end = 0;
  std::uint64_t offer_contact = 0;  // contact of the live offer, 0 if none
  std::uint32_t offer_seq = 0;      // bumped per offer, so stale accepts can be told apart
  bool leaving = false;             // shift is over: no new work, log out when idle
  int not_ready_retries = 0;        // guards against an engine that ignores not-ready
};

struct StreamSim {
  const ArrivalStream* spec = nullptr;
  engine::Event arrival;  // pre-built ContactArrived; only the id changes per contact
  engine::CampaignId campaign = engine::kNoCampaign;
  Rng arrivals_rng;
  Rng handle_rng;
  Rng patience_rng;
  double t_ms = 0;          // time of the last arrival (exact, before rounding)
  std::size_t segment = 0;  // current step of the rate profile
};

// Simulator counters kept beside the engine's statistics.
struct ArrivalCounts {
  std::vector<std::uint64_t> arrivals;
  std::vector<std::uint64_t> delayed;
  void reset(std::size_t n) {
    arrivals.assign(n, 0);
    delayed.assign(n, 0);
  }
};

class Run {
 public:
  Run(const Scenario& scenario, const SimOptions& options)
      : scenario_(scenario),
        options_(options),
        engine_(engine::EngineConfig{scenario.max_consecutive_misses, scenario.seed}) {}

  SimResult run();

 private:
  void configure();
  void schedule(std::int64_t at, Pending::Kind kind, std::uint32_t x = 0, std::uint32_t y = 0,
                std::uint64_t contact = 0) {
    heap_.push_back(Pending{at, next_seq_++, contact, x, y, kind});
    std::push_heap(heap_.begin(), heap_.end(), Later{});
  }
  std::optional<std::int64_t> nextArrival(StreamSim& stream);
  void dispatch(const Pending& p);
  void arrive(std::uint32_t stream_index);
  void send(const engine::Event& event);
  void onAction(const Action& action);
  void closeInterval(std::int64_t at, bool after_close);
  RowResult row(const engine::StatsRow& stats_row, std::uint64_t arrivals,
                std::uint64_t delayed) const;
  ContactRec* contact(std::uint64_t id) {
    return id >= 1 && id <= contacts_.size() ? &contacts_[id - 1] : nullptr;
  }

  const Scenario& scenario_;
  SimOptions options_;
  engine::Engine engine_;
  std::optional<engine::Statistics> stats_;  // built once the engine is configured
  SimResult result_;

  std::vector<Pending> heap_;  // binary min-heap by (at, seq)
  std::uint64_t next_seq_ = 0;
  std::vector<Action> actions_;  // reused for every engine call
  std::vector<StreamSim> streams_;
  std::vector<AgentSim> agents_;      // index = AgentId
  std::vector<ContactRec> contacts_;  // index = ContactId - 1
  std::int64_t now_ = 0;
  // At most one tick per millisecond: a timer that a tick sets for that same millisecond fires
  // 1 ms later, so an engine timer that keeps re-arming at `now` cannot stall the loop.
  std::int64_t last_tick_ = -1;
  std::uint64_t live_ = 0;           // contacts arrived and not yet ended
  std::uint64_t arriving_ = 0;       // id of the contact being handed to the engine, else 0
  bool offered_on_arrival_ = false;  // whether `arriving_` got an offer in the same step

  std::int64_t interval_start_ = 0;
  ArrivalCounts by_queue_;     // current interval
  ArrivalCounts by_campaign_;  // current interval
  std::uint64_t interval_arrivals_ = 0;
  std::uint64_t interval_delayed_ = 0;
  std::vector<engine::Counters> queue_totals_;
  std::vector<engine::Counters> campaign_totals_;
  engine::Counters total_;
  ArrivalCounts queue_arrival_totals_;
  ArrivalCounts campaign_arrival_totals_;
};

void Run::configure() {
  // Queues in scenario order, so QueueIndex i is the i-th id the engine hands out.
  for (std::size_t i = 0; i < scenario_.queues.size(); ++i) {
    const QueueSpec& spec = scenario_.queues[i];
    engine::QueueConfig config = spec.config;
    if (spec.on_max_wait_target)
      config.on_max_wait.target = engine::QueueId{*spec.on_max_wait_target};
    if (spec.on_max_length_target) {
      config.on_max_length.target = engine::QueueId{*spec.on_max_length_target};
    }
    for (std::size_t k = 0; k < config.escalation.size() && k < spec.escalation_add_queue.size();
         ++k) {
      if (spec.escalation_add_queue[k]) {
        config.escalation[k].add_queue = engine::QueueId{*spec.escalation_add_queue[k]};
      }
    }
    const engine::QueueId id = engine_.addQueue(std::move(config));
    // The engine hands out dense queue ids in order; the scenario's references rely on it.
    if (engine::index(id) != i) result_.error = "engine queue ids are not dense from 0";
    result_.queue_names.push_back(spec.config.name);
  }

  std::size_t total_agents = 0;
  for (const AgentGroup& group : scenario_.agents) {
    engine::AgentConfig base;
    for (const NamedSkill& skill : group.skills) {
      base.skills.push_back({engine_.internSkill(skill.name), skill.level});
    }
    base.capacity = group.capacity;
    for (const MembershipSpec& m : group.queues) {
      base.queues.push_back({engine::QueueId{m.queue}, m.penalty});
    }
    for (int k = 1; k <= group.count; ++k) {
      engine::AgentConfig config = base;
      config.name = group.name + "-" + std::to_string(k);
      const AgentId id = engine_.addAgent(std::move(config));
      const std::size_t slot = engine::index(id);
      if (agents_.size() <= slot) agents_.resize(slot + 1);
      agents_[slot].shift_start = group.shift_start.count();
      agents_[slot].shift_end = group.shift_end.count();
      ++total_agents;
    }
  }

  streams_.resize(scenario_.arrivals.size());
  for (std::size_t i = 0; i < scenario_.arrivals.size(); ++i) {
    const ArrivalStream& spec = scenario_.arrivals[i];
    StreamSim& s = streams_[i];
    s.spec = &spec;
    ev::ContactArrived arrived;
    arrived.contact.channel = spec.channel;
    arrived.contact.queue = engine::QueueId{spec.queue};
    arrived.contact.priority = spec.priority;
    for (const NamedSkill& skill : spec.skills) {
      arrived.contact.skills.push_back({engine_.internSkill(skill.name), skill.level});
    }
    if (!spec.campaign.empty()) {
      s.campaign = engine_.internCampaign(spec.campaign);
      arrived.contact.attributes.campaign = spec.campaign;
    }
    s.arrival = std::move(arrived);
    // Independent random streams per purpose, so changing one stream's patience does not change
    // another stream's arrivals (common random numbers across what-if runs).
    s.arrivals_rng = Rng(scenario_.seed, 3 * i + 1);
    s.handle_rng = Rng(scenario_.seed, 3 * i + 2);
    s.patience_rng = Rng(scenario_.seed, 3 * i + 3);
  }

  for (std::size_t c = 0; c < engine_.campaignCount(); ++c) {
    result_.campaign_names.emplace_back(
        engine_.campaignName(engine::CampaignId{static_cast<std::uint32_t>(c)}));
  }
  if (result_.campaign_names.empty()) result_.campaign_names.emplace_back();

  const double expected = scenario_.expectedContacts();
  contacts_.reserve(static_cast<std::size_t>(expected * 1.05) + 1024);
  heap_.reserve(static_cast<std::size_t>(total_agents) * 3 + streams_.size() + 1024);
  actions_.reserve(64);
}

std::optional<std::int64_t> Run::nextArrival(StreamSim& stream) {
  // Inversion of the cumulative intensity of a piecewise-constant rate: draw an Exp(1) amount of
  // "expected arrivals" and walk through the profile steps until it is used up. Exact for a
  // non-homogeneous Poisson process.
  const std::vector<RateStep>& profile = stream.spec->profile;
  const double end_ms = static_cast<double>(scenario_.duration.count());
  double work = stream.arrivals_rng.exponential1();
  double t = stream.t_ms;
  std::size_t seg = stream.segment;
  while (seg < profile.size()) {
    const double seg_end = std::min(end_ms, seg + 1 < profile.size()
                                                ? static_cast<double>(profile[seg + 1].from.count())
                                                : end_ms);
    const double rate_per_ms = profile[seg].rate_per_hour / 3.6e6;
    if (rate_per_ms > 0 && t < seg_end) {
      const double dt = work / rate_per_ms;
      if (t + dt < seg_end) {
        stream.t_ms = t + dt;
        stream.segment = seg;
        return static_cast<std::int64_t>(std::llround(stream.t_ms));
      }
      work -= (seg_end - t) * rate_per_ms;
    }
    if (seg_end >= end_ms) break;
    t = std::max(t, seg_end);
    ++seg;
  }
  stream.segment = profile.size();
  return std::nullopt;
}

void Run::send(const engine::Event& event) {
  actions_.clear();
  engine_.handle(event, TimePoint{Millis{now_}}, actions_);
  stats_->apply(std::span<const Action>(actions_), TimePoint{Millis{now_}});
  ++result_.engine_events;
  for (const Action& action : actions_) onAction(action);
  if (options_.check_invariants_every != 0 &&
      result_.engine_events % options_.check_invariants_every == 0 && result_.error.empty()) {
    std::string broken = engine_.checkInvariants(TimePoint{Millis{now_}});
    if (!broken.empty()) {
      result_.error = "engine invariant broken at t=" + std::to_string(now_) + "ms: " + broken;
    }
  }
}

void Run::onAction(const Action& action) {
  std::visit(
      [this](const auto& a) {
        using T = std::decay_t<decltype(a)>;
        if constexpr (std::is_same_v<T, act::OfferCreated>) {
          const std::uint64_t c = engine::index(a.contact);
          const std::size_t slot = engine::index(a.agent);
          if (c == arriving_) offered_on_arrival_ = true;
          const ContactRec* rec = contact(c);
          if (slot >= agents_.size() || rec == nullptr) return;
          AgentSim& agent = agents_[slot];
          agent.offer_contact = c;
          ++agent.offer_seq;
          const Millis delay = streams_[rec->stream].spec->answer_delay;
          schedule(now_ + delay.count(), Pending::Kind::Accept, static_cast<std::uint32_t>(slot),
                   agent.offer_seq, c);
        } else if constexpr (std::is_same_v<T, act::OfferWithdrawn>) {
          const std::size_t slot = engine::index(a.agent);
          if (slot < agents_.size() && agents_[slot].offer_contact == engine::index(a.contact)) {
            agents_[slot].offer_contact = 0;
          }
        } else if constexpr (std::is_same_v<T, act::ContactAnswered>) {
          const std::uint64_t c = engine::index(a.contact);
          const std::size_t slot = engine::index(a.agent);
          if (slot < agents_.size() && agents_[slot].offer_contact == c) {
            agents_[slot].offer_contact = 0;
          }
          ContactRec* rec = contact(c);
          if (rec == nullptr) return;
          rec->phase = ContactPhase::Answered;
          StreamSim& stream = streams_[rec->stream];
          const double seconds = stream.spec->handle_time.sample(stream.handle_rng);
          const auto ms = std::max<std::int64_t>(1, std::llround(seconds * 1000.0));
          schedule(now_ + ms, Pending::Kind::Complete, 0, 0, c);
        } else if constexpr (std::is_same_v<T, act::ContactEnded>) {
          ContactRec* rec = contact(engine::index(a.contact));
          if (rec == nullptr || rec->phase == ContactPhase::Ended) return;
          rec->phase = ContactPhase::Ended;
          --live_;
        } else if constexpr (std::is_same_v<T, act::AgentStateChanged>) {
          const std::size_t slot = engine::index(a.agent);
          if (slot >= agents_.size() || !agents_[slot].leaving) return;
          if (a.to == engine::AgentState::NotReady) {
            schedule(now_, Pending::Kind::Logout, static_cast<std::uint32_t>(slot));
          } else if (a.to == engine::AgentState::Available &&
                     agents_[slot].not_ready_retries++ < 3) {
            schedule(now_, Pending::Kind::NotReady, static_cast<std::uint32_t>(slot));
          }
        }
      },
      action);
}

void Run::arrive(std::uint32_t stream_index) {
  StreamSim& stream = streams_[stream_index];
  contacts_.push_back(ContactRec{static_cast<std::uint16_t>(stream_index), ContactPhase::Waiting});
  const std::uint64_t id = contacts_.size();
  ++live_;
  ++result_.contacts;
  auto& arrived = std::get<ev::ContactArrived>(stream.arrival);
  arrived.contact.id = ContactId{id};
  arriving_ = id;
  offered_on_arrival_ = false;
  send(stream.arrival);
  arriving_ = 0;

  const QueueIndex q = stream.spec->queue;
  const std::size_t camp = engine::index(stream.campaign);
  ++by_queue_.arrivals[q];
  ++interval_arrivals_;
  if (camp < by_campaign_.arrivals.size()) ++by_campaign_.arrivals[camp];
  if (!offered_on_arrival_) {
    ++by_queue_.delayed[q];
    ++interval_delayed_;
    if (camp < by_campaign_.delayed.size()) ++by_campaign_.delayed[camp];
  }

  if (stream.spec->patience && contacts_[id - 1].phase == ContactPhase::Waiting) {
    const double seconds = stream.spec->patience->sample(stream.patience_rng);
    const auto ms = std::max<std::int64_t>(1, std::llround(seconds * 1000.0));
    schedule(now_ + ms, Pending::Kind::Abandon, 0, 0, id);
  }
  if (const auto next = nextArrival(stream)) schedule(*next, Pending::Kind::Arrival, stream_index);
}

void Run::dispatch(const Pending& p) {
  switch (p.kind) {
    case Pending::Kind::Arrival:
      arrive(p.x);
      return;
    case Pending::Kind::Abandon: {
      const ContactRec* rec = contact(p.contact);
      // Only a waiting customer abandons; one already talking has simply lost patience in vain.
      if (rec != nullptr && rec->phase == ContactPhase::Waiting) {
        send(ev::ContactAbandoned{ContactId{p.contact}});
      }
      return;
    }
    case Pending::Kind::Accept: {
      const AgentSim& agent = agents_[p.x];
      if (agent.offer_contact == p.contact && agent.offer_seq == p.y) {
        send(ev::OfferAccepted{ContactId{p.contact}, AgentId{p.x}});
      }
      return;
    }
    case Pending::Kind::Complete: {
      const ContactRec* rec = contact(p.contact);
      if (rec != nullptr && rec->phase == ContactPhase::Answered) {
        send(ev::ContactCompleted{ContactId{p.contact}});
      }
      return;
    }
    case Pending::Kind::ShiftStart:
      send(ev::AgentLogin{AgentId{p.x}, true});
      return;
    case Pending::Kind::ShiftEnd:
      agents_[p.x].leaving = true;
      send(ev::AgentNotReady{AgentId{p.x}, "end of shift"});
      return;
    case Pending::Kind::NotReady:
      if (agents_[p.x].leaving) send(ev::AgentNotReady{AgentId{p.x}, "end of shift"});
      return;
    case Pending::Kind::Logout:
      if (agents_[p.x].leaving) {
        agents_[p.x].leaving = false;
        send(ev::AgentLogout{AgentId{p.x}});
      }
      return;
  }
}

RowResult Run::row(const engine::StatsRow& stats_row, std::uint64_t arrivals,
                   std::uint64_t delayed) const {
  RowResult r;
  r.counters = stats_row.counters;
  r.metrics = stats_row.metrics();
  r.arrivals = arrivals;
  r.delayed = delayed;
  return r;
}

void Run::closeInterval(std::int64_t at, bool after_close) {
  const TimePoint when{Millis{at}};
  const engine::StatsReport report = stats_->report(when);
  IntervalResult interval;
  interval.from = Millis{interval_start_};
  interval.to = Millis{at};
  interval.after_close = after_close;
  interval.total = row(report.total, interval_arrivals_, interval_delayed_);
  addCounters(total_, report.total.counters);
  result_.total.arrivals += interval_arrivals_;
  result_.total.delayed += interval_delayed_;

  const std::size_t nq = result_.queue_names.size();
  for (std::size_t q = 0; q < nq; ++q) {
    const engine::StatsRow& r =
        q < report.by_queue.size() ? report.by_queue[q] : engine::StatsRow{};
    interval.queues.push_back(row(r, by_queue_.arrivals[q], by_queue_.delayed[q]));
    addCounters(queue_totals_[q], r.counters);
    queue_arrival_totals_.arrivals[q] += by_queue_.arrivals[q];
    queue_arrival_totals_.delayed[q] += by_queue_.delayed[q];
  }
  const std::size_t nc = result_.campaign_names.size();
  for (std::size_t c = 0; c < nc; ++c) {
    const engine::StatsRow& r =
        c < report.by_campaign.size() ? report.by_campaign[c] : engine::StatsRow{};
    interval.campaigns.push_back(row(r, by_campaign_.arrivals[c], by_campaign_.delayed[c]));
    addCounters(campaign_totals_[c], r.counters);
    campaign_arrival_totals_.arrivals[c] += by_campaign_.arrivals[c];
    campaign_arrival_totals_.delayed[c] += by_campaign_.delayed[c];
  }
  result_.intervals.push_back(std::move(interval));

  stats_->startInterval(when);
  interval_start_ = at;
  by_queue_.reset(nq);
  by_campaign_.reset(nc);
  interval_arrivals_ = 0;
  interval_delayed_ = 0;
}

SimResult Run::run() {
  result_.scenario_name = scenario_.name;
  result_.seed = scenario_.seed;
  result_.duration = scenario_.duration;
  result_.interval = scenario_.interval;
  configure();
  if (!result_.error.empty()) return std::move(result_);
  stats_.emplace(engine_, TimePoint{Millis{0}});

  const std::size_t nq = result_.queue_names.size();
  const std::size_t nc = result_.campaign_names.size();
  by_queue_.reset(nq);
  by_campaign_.reset(nc);
  queue_arrival_totals_.reset(nq);
  campaign_arrival_totals_.reset(nc);
  queue_totals_.assign(nq, engine::Counters{});
  campaign_totals_.assign(nc, engine::Counters{});

  // Logins first, so agents starting at 0 are there for the first contact.
  for (std::size_t a = 0; a < agents_.size(); ++a) {
    if (agents_[a].shift_end > agents_[a].shift_start) {
      schedule(agents_[a].shift_start, Pending::Kind::ShiftStart, static_cast<std::uint32_t>(a));
      schedule(agents_[a].shift_end, Pending::Kind::ShiftEnd, static_cast<std::uint32_t>(a));
    }
  }
  for (std::size_t i = 0; i < streams_.size(); ++i) {
    if (const auto first = nextArrival(streams_[i])) {
      schedule(*first, Pending::Kind::Arrival, static_cast<std::uint32_t>(i));
    }
  }

  const std::int64_t duration = scenario_.duration.count();
  const std::int64_t step = scenario_.interval.count();
  std::int64_t next_boundary = std::min(step, duration);
  while (result_.error.empty()) {
    const std::int64_t next_event = heap_.empty() ? kNever : heap_.front().at;
    std::int64_t deadline = kNever;
    if (const auto d = engine_.nextDeadline()) {
      deadline = std::max(d->time_since_epoch().count(), last_tick_ + 1);
    }
    const std::int64_t t = std::min(next_event, deadline);
    if (t >= duration) {
      if (!scenario_.drain) break;
      // Closed: stop once every contact has ended and the engine has no timers left (wrap-ups).
      if (live_ == 0 && deadline == kNever) break;
      if (t == kNever || t > duration + kMaxDrainMs) break;
    }
    while (next_boundary <= t && next_boundary <= duration && interval_start_ < duration) {
      closeInterval(next_boundary, false);
      next_boundary = std::min(next_boundary + step, duration);
    }
    now_ = std::max(now_, t);
    if (deadline <= next_event) {
      last_tick_ = now_;
      send(ev::Tick{});
    } else {
      std::pop_heap(heap_.begin(), heap_.end(), Later{});
      const Pending p = heap_.back();
      heap_.pop_back();
      dispatch(p);
    }
  }

  // Close the remaining intervals up to the duration, then the drain tail if there was one.
  while (interval_start_ < duration) {
    closeInterval(next_boundary, false);
    next_boundary = std::min(next_boundary + step, duration);
  }
  if (now_ > duration) closeInterval(now_, true);
  result_.end = Millis{std::max(now_, duration)};
  result_.unfinished = live_;

  result_.total.counters = total_;
  result_.total.metrics = engine::StatsRow{total_, {}}.metrics();
  for (std::size_t q = 0; q < nq; ++q) {
    result_.queues.push_back(
        RowResult{queue_totals_[q], engine::StatsRow{queue_totals_[q], {}}.metrics(),
                  queue_arrival_totals_.arrivals[q], queue_arrival_totals_.delayed[q]});
  }
  for (std::size_t c = 0; c < nc; ++c) {
    result_.campaigns.push_back(
        RowResult{campaign_totals_[c], engine::StatsRow{campaign_totals_[c], {}}.metrics(),
                  campaign_arrival_totals_.arrivals[c], campaign_arrival_totals_.delayed[c]});
  }
  return std::move(result_);
}

}  // namespace

SimResult simulate(const Scenario& scenario, const SimOptions& options) {
  Run run(scenario, options);
  return run.run();
}

}  // namespace parley::sim
