// Real-time statistics as a fold over the engine's actions. Definitions: docs/METRICS.md.
#include "engine/stats.h"

#include <algorithm>
#include <limits>
#include <type_traits>

namespace parley::engine {
namespace {

constexpr double kNaN = std::numeric_limits<double>::quiet_NaN();

// Weight of the newest sample in the EWT estimators: Asterisk app_queue's recalc_holdtime()
// filter (new = (3 * old + sample) / 4).
constexpr double kEwmaAlpha = 0.25;
// Backlogged inter-answer gaps needed before the observed departure rate may correct the
// capacity model (docs/METRICS.md "Estimated wait time").
constexpr int kMinGapSamples = 3;

constexpr bool isStaffed(AgentState s) {
  return s != AgentState::LoggedOut && s != AgentState::NotReady;
}
constexpr bool isBusy(AgentState s) {
  return s == AgentState::Reserved || s == AgentState::Busy || s == AgentState::WrapUp;
}

double ratio(double num, double den) {
  return den > 0 ? num / den : kNaN;
}

Millis nonNegative(Millis d) {
  return d.count() < 0 ? Millis{0} : d;
}

// Exponentially weighted moving average; empty until the first sample, which it takes as is.
struct Ewma {
  double value = 0;
  bool has = false;
  void add(double sample) {
    value = has ? value + kEwmaAlpha * (sample - value) : sample;
    has = true;
  }
};

// Open-addressing hash map from contact id to V (linear probing, backward-shift deletion), so
// that the steady state of contacts coming and going allocates nothing.
template <typename V>
class ContactMap {
 public:
  V* find(ContactId id) {
    if (slots_.empty()) return nullptr;
    std::uint64_t key = index(id);
    for (std::size_t i = home(key);; i = (i + 1) & mask()) {
      Slot& s = slots_[i];
      if (!s.used) return nullptr;
      if (s.key == key) return &s.value;
    }
  }

  // The value for `id`, default-constructed if it was absent (then *inserted is set).
  V& findOrInsert(ContactId id, bool* inserted = nullptr) {
    if ((size_ + 1) * 2 > slots_.size()) grow();
    std::uint64_t key = index(id);
    for (std::size_t i = home(key);; i = (i + 1) & mask()) {
      Slot& s = slots_[i];
      if (!s.used) {
        s.used = true;
        s.key = key;
        s.value = V{};
        ++size_;
        if (inserted) *inserted = true;
        return s.value;
      }
      if (s.key == key) {
        if (inserted) *inserted = false;
        return s.value;
      }
    }
  }

  void erase(ContactId id) {
    if (slots_.empty()) return;
    std::uint64_t key = index(id);
    std::size_t i = home(key);
    while (true) {
      if (!slots_[i].used) return;
      if (slots_[i].key == key) break;
      i = (i + 1) & mask();
    }
    // Shift later members of the probe run back into the hole while that keeps each of them
    // at or after its home slot.
    for (std::size_t j = (i + 1) & mask();; j = (j + 1) & mask()) {
      Slot& s = slots_[j];
      if (!s.used) break;
      std::size_t k = home(s.key);
      if (((j - i) & mask()) <= ((j - k) & mask())) {
        slots_[i] = s;
        i = j;
      }
    }
    slots_[i].used = false;
    --size_;
  }

  template <typename F>
  void forEach(F&& f) const {
    for (const Slot& s : slots_) {
      if (s.used) f(s.value);
    }
  }

  std::size_t size() const { return size_; }

 private:
  struct Slot {
    std::uint64_t key = 0;
    V value{};
    bool used = false;
  };

  std::size_t mask() const { return slots_.size() - 1; }
  std::size_t home(std::uint64_t key) const {
    // splitmix64 finaliser: driver-chosen ids are often sequential.
    key ^= key >> 30;
    key *= 0xbf58476d1ce4e5b9ULL;
    key ^= key >> 27;
    key *= 0x94d049bb133111ebULL;
    key ^= key >> 31;
    return static_cast<std::size_t>(key) & mask();
  }
  void grow() {
    std::vector<Slot> old = std::move(slots_);
    slots_.assign(old.empty() ? 64 : old.size() * 2, Slot{});
    size_ = 0;
    for (const Slot& s : old) {
      if (s.used) findOrInsert(ContactId{s.key}) = s.value;
    }
  }

  std::vector<Slot> slots_;
  std::size_t size_ = 0;
};

}  // namespace

struct Statistics::Impl {
  // A contact the statistics still need to know about: waiting (gauges), answered (to time its
  // leg) or ended while its wrap-up is still to be reported (to key the wrap time).
  enum class Phase : std::uint8_t { Waiting, Answered, Ended };
  struct Live {
    ContactTag tag;
    Phase phase = Phase::Waiting;
    std::uint16_t pending_wraps = 0;  // answered legs whose WrapUpEnded has not come yet
    TimePoint answered_at{};
  };

  struct QueueState {
    bool config_loaded = false;
    Millis sl_threshold{20'000};
    Millis short_abandon{5'000};
    Millis wrap_up{0};
    std::uint32_t waiting = 0;
    std::int32_t available = 0;  // members now Available
    std::int32_t staffed = 0;    // members now staffed
    Ewma talk_ms;                // per handled leg
    Ewma wrap_ms;                // per wrap-up
    Ewma gap_ms;                 // between answers while the queue stayed non-empty
    int gap_samples = 0;         // since the queue was last empty
    bool has_last_answer = false;
    bool unbroken = false;  // the queue has not been empty since the last answer
    TimePoint last_answer{};
  };

  struct AgentTrack {
    bool loaded = false;  // memberships read from the engine
    AgentState state = AgentState::LoggedOut;
    TimePoint since{};
    std::vector<std::uint32_t> queues;
    std::uint8_t channels = 0;  // bit per Channel with capacity
  };

  explicit Impl(const Engine& e, TimePoint start) : engine(&e), interval_start(start) {
    sizeQueues(e.queueCount());
    campaigns.resize(std::max<std::size_t>(1, e.campaignCount()));
    for (std::size_t q = 0; q < queues.size(); ++q) loadQueue(q);
    for (std::size_t a = 0; a < e.agentCount(); ++a) {
      AgentTrack& t = agentTrack(static_cast<std::uint32_t>(a));
      setAgentState(t, e.agentState(AgentId{static_cast<std::uint32_t>(a)}), start);
    }
  }

  // ---- lazily sized state ------------------------------------------------------------------
  // The state of queue `q`, sizing the per-queue vectors first. May reallocate them: take
  // references to two queues only after both have been looked up once.
  QueueState& queue(QueueId q) {
    std::size_t i = index(q);
    if (i >= queues.size()) sizeQueues(std::max(i + 1, engine->queueCount()));
    if (!queues[i].config_loaded) loadQueue(i);
    return queues[i];
  }
  void sizeQueues(std::size_t n) {
    queues.resize(n);
    queue_counters.resize(n);
  }
  void loadQueue(std::size_t i) {
    if (i >= engine->queueCount()) return;  // unknown to the engine: defaults, retried later
    const QueueConfig& c = engine->queueConfig(QueueId{static_cast<std::uint32_t>(i)});
    QueueState& s = queues[i];
    s.sl_threshold = c.service_level_threshold;
    s.short_abandon = c.short_abandon_threshold;
    s.wrap_up = c.wrap_up;
    s.config_loaded = true;
  }
  Counters& campaignCounters(CampaignId c) {
    std::size_t i = index(c);
    if (i >= campaigns.size()) campaigns.resize(std::max(i + 1, engine->campaignCount()));
    return campaigns[i];
  }
  AgentTrack& agentTrack(std::uint32_t a) {
    if (a >= agents.size()) agents.resize(std::max<std::size_t>(a + 1, engine->agentCount()));
    AgentTrack& t = agents[a];
    if (!t.loaded && a < engine->agentCount()) {
      const AgentConfig& c = engine->agentConfig(AgentId{a});
      for (const Membership& m : c.queues) {
        t.queues.push_back(index(m.queue));
        queue(m.queue);  // sizes the queue vectors before they are indexed below
      }
      for (Channel ch : kAllChannels) {
        if (c.capacity[ch].max > 0) t.channels |= static_cast<std::uint8_t>(1u << index(ch));
      }
      t.loaded = true;
    }
    return t;
  }

  // Calls f(Counters&) on the queue, channel, campaign and total rows of `tag`.
  template <typename F>
  void rows(const ContactTag& tag, F&& f) {
    queue(tag.queue);
    f(queue_counters[index(tag.queue)]);
    f(channels[static_cast<std::size_t>(tag.channel)]);
    f(campaignCounters(tag.campaign));
    f(total);
  }

  // ---- agents ------------------------------------------------------------------------------
  // Integrates `t`'s time in `state_before` from its last change up to `now`, then moves it to
  // `next`. The time integrals go to the total, the agent's queues and its channels.
  void integrate(const AgentTrack& t, AgentState state_before, TimePoint now) {
    TimePoint from = std::max(t.since, interval_start);
    if (now <= from) return;
    auto dt = static_cast<double>((now - from).count());
    bool staffed = isStaffed(state_before);
    bool busy = isBusy(state_before);
    if (!staffed && !busy) return;
    auto add = [&](Counters& c) {
      if (staffed) c.staffed_agent_ms += dt;
      if (busy) c.busy_agent_ms += dt;
    };
    add(total);
    for (std::uint32_t q : t.queues) add(queue_counters[q]);
    for (std::size_t ch = 0; ch < kChannelCount; ++ch) {
      if (t.channels & (1u << ch)) add(channels[ch]);
    }
  }
  void setAgentState(AgentTrack& t, AgentState next, TimePoint now) {
    for (std::uint32_t q : t.queues) {
      QueueState& s = queues[q];
      s.available += (next == AgentState::Available) - (t.state == AgentState::Available);
      s.staffed += isStaffed(next) - isStaffed(t.state);
    }
    t.state = next;
    t.since = now;
  }

  // ---- contacts ----------------------------------------------------------------------------
  // Takes a waiting contact out of its queue's waiting count; the queue's backlog run ends when
  // it empties.
  void leaveWaiting(const ContactTag& tag) {
    QueueState& s = queue(tag.queue);
    if (s.waiting > 0) --s.waiting;
    if (s.waiting == 0) {  // the backlog is over: its departure gaps say no more
      s.unbroken = false;
      s.gap_samples = 0;
      s.gap_ms = Ewma{};
    }
  }
  void completeLeg(const ContactTag& tag, Millis talk) {
    talk = nonNegative(talk);
    rows(tag, [&](Counters& c) {
      ++c.completed;
      c.talk_time += talk;
    });
    queue(tag.queue).talk_ms.add(static_cast<double>(talk.count()));
    all_talk_ms.add(static_cast<double>(talk.count()));
  }

  void on(const act::ContactQueued& a, TimePoint) {
    queue(a.tag.queue);
    bool inserted = false;
    Live& l = live.findOrInsert(a.contact, &inserted);
    // Queued again without leaving first (the engine always emits ContactMoved in between).
    if (!inserted && l.phase == Phase::Waiting) leaveWaiting(l.tag);
    l.tag = a.tag;
    l.phase = Phase::Waiting;
    ++queue(a.tag.queue).waiting;
    rows(a.tag, [](Counters& c) { ++c.offered; });
  }

  void on(const act::ContactAnswered& a, TimePoint now) {
    bool inserted = false;
    Live& l = live.findOrInsert(a.contact, &inserted);
    if (!inserted) queue(l.tag.queue);
    QueueState& s = queue(a.tag.queue);
    if (s.unbroken && s.has_last_answer) {
      s.gap_ms.add(static_cast<double>(nonNegative(now - s.last_answer).count()));
      ++s.gap_samples;
    }
    s.has_last_answer = true;
    s.last_answer = now;
    s.unbroken = true;  // until the queue empties (leaveWaiting below, or later)
    if (!inserted && l.phase == Phase::Waiting) leaveWaiting(l.tag);
    l.tag = a.tag;
    l.phase = Phase::Answered;
    l.answered_at = now;
    ++l.pending_wraps;
    bool within = a.waited <= s.sl_threshold;
    Millis waited = nonNegative(a.waited);
    rows(a.tag, [&](Counters& c) {
      ++c.answered;
      if (within) ++c.answered_within_sl;
      c.answered_wait += waited;
    });
  }

  void on(const act::ContactMoved& a, TimePoint now) {
    if (Live* l = live.find(a.contact)) {
      if (l->phase == Phase::Waiting) {
        leaveWaiting(l->tag);
      } else if (l->phase == Phase::Answered) {
        completeLeg(a.from, now - l->answered_at);  // a transfer ends the agent's leg
      }
      // The entry stays (its wrap may be pending); the ContactQueued that follows re-arms it.
      l->phase = Phase::Ended;
      if (l->pending_wraps == 0) live.erase(a.contact);
    }
    rows(a.from, [](Counters& c) { ++c.moved_out; });
  }

  void on(const act::ContactEnded& a, TimePoint) {
    Live* l = live.find(a.contact);
    if (l && l->phase == Phase::Waiting) leaveWaiting(l->tag);
    if (a.answered) {
      completeLeg(a.tag, a.handled);
    } else if (a.outcome == Outcome::Abandoned) {
      const QueueState& s = queue(a.tag.queue);
      bool is_short = s.short_abandon.count() > 0 && a.waited <= s.short_abandon;
      bool within = !is_short && a.waited <= s.sl_threshold;
      Millis waited = nonNegative(a.waited);
      rows(a.tag, [&](Counters& c) {
        ++c.abandoned;
        if (is_short) ++c.short_abandoned;
        if (within) ++c.abandoned_within_sl;
        c.abandoned_wait += waited;
      });
    } else {
      rows(a.tag, [](Counters& c) { ++c.exited; });
    }
    if (l) {
      l->phase = Phase::Ended;
      if (l->pending_wraps == 0) live.erase(a.contact);
    }
  }

  void on(const act::WrapUpEnded& a, TimePoint) {
    Millis d = nonNegative(a.duration);
    QueueState& s = queue(a.queue);
    s.wrap_ms.add(static_cast<double>(d.count()));
    all_wrap_ms.add(static_cast<double>(d.count()));
    queue_counters[index(a.queue)].wrap_time += d;
    total.wrap_time += d;
    if (Live* l = live.find(a.contact)) {
      channels[static_cast<std::size_t>(l->tag.channel)].wrap_time += d;
      campaignCounters(l->tag.campaign).wrap_time += d;
      if (l->pending_wraps > 0) --l->pending_wraps;
      if (l->phase == Phase::Ended && l->pending_wraps == 0) live.erase(a.contact);
    }
  }

  void on(const act::AgentStateChanged& a, TimePoint now) {
    AgentTrack& t = agentTrack(index(a.agent));
    integrate(t, a.from, now);
    setAgentState(t, a.to, now);
  }

  // Offers, withdrawals and requeues change no statistic: an offered contact is still waiting.
  void on(const act::OfferCreated&, TimePoint) {}
  void on(const act::OfferWithdrawn&, TimePoint) {}
  void on(const act::ContactRequeued&, TimePoint) {}

  // ---- reading -----------------------------------------------------------------------------
  double ewtSeconds(QueueId q, std::size_t position, TimePoint now) const {
    if (position == 0) position = 1;
    std::size_t qi = index(q);
    const QueueState* s = qi < queues.size() ? &queues[qi] : nullptr;
    auto available = static_cast<std::size_t>(s ? std::max(0, s->available) : 0);
    if (position <= available) return 0;
    double ahead = static_cast<double>(position - available);

    // Capacity model: one departure every AHT / N while all N staffed members are busy.
    double aht = kNaN;
    if (s && s->talk_ms.has) {
      aht = s->talk_ms.value +
            (s->wrap_ms.has ? s->wrap_ms.value : static_cast<double>(s->wrap_up.count()));
    } else if (all_talk_ms.has) {
      aht = all_talk_ms.value + (all_wrap_ms.has ? all_wrap_ms.value : 0.0);
    }
    double staffed = s ? std::max(1, s->staffed) : 1;
    double gap = aht / staffed;

    // Observed correction: during a sustained backlog, the measured time between answers in
    // this queue (including the gap running now) if it is longer than the model's.
    if (s && s->gap_samples >= kMinGapSamples && s->unbroken) {
      double observed = s->gap_ms.value;
      double running = static_cast<double>(nonNegative(now - s->last_answer).count());
      if (running > observed) observed += kEwmaAlpha * (running - observed);
      if (!(gap >= observed)) gap = observed;  // also replaces a NaN model
    }
    return ahead * gap / 1000.0;
  }

  StatsReport report(TimePoint now) const {
    StatsReport r;
    r.from = interval_start;
    r.to = now;
    std::size_t queue_count = std::max(queues.size(), engine->queueCount());
    std::size_t campaign_count =
        std::max({campaigns.size(), engine->campaignCount(), std::size_t{1}});
    r.by_queue.resize(queue_count);
    r.by_campaign.resize(campaign_count);
    r.total.counters = total;
    for (std::size_t i = 0; i < queue_counters.size(); ++i) {
      r.by_queue[i].counters = queue_counters[i];
    }
    for (std::size_t i = 0; i < kChannelCount; ++i) r.by_channel[i].counters = channels[i];
    for (std::size_t i = 0; i < campaigns.size(); ++i) r.by_campaign[i].counters = campaigns[i];

    // Contact gauges, from the live contacts.
    live.forEach([&](const Live& l) {
      if (l.phase != Phase::Waiting) return;
      Millis wait = nonNegative(now - l.tag.enqueued_at);
      auto bump = [&](StatsRow& row) {
        ++row.gauges.waiting;
        row.gauges.longest_wait = std::max(row.gauges.longest_wait, wait);
      };
      std::size_t qi = index(l.tag.queue);
      if (qi < r.by_queue.size()) bump(r.by_queue[qi]);
      bump(r.by_channel[static_cast<std::size_t>(l.tag.channel)]);
      std::size_t ci = index(l.tag.campaign);
      if (ci < r.by_campaign.size()) bump(r.by_campaign[ci]);
      bump(r.total);
    });

    // Agent gauges, and agent time integrated up to `now`.
    std::size_t agent_count = std::max(agents.size(), engine->agentCount());
    for (std::size_t a = 0; a < agent_count; ++a) {
      AgentState state = a < agents.size() ? agents[a].state : AgentState::LoggedOut;
      auto si = static_cast<std::size_t>(state);
      double dt = 0;
      if (a < agents.size()) {
        TimePoint from = std::max(agents[a].since, interval_start);
        if (now > from) dt = static_cast<double>((now - from).count());
      }
      auto add = [&](StatsRow& row) {
        ++row.gauges.agents[si];
        if (isStaffed(state)) row.counters.staffed_agent_ms += dt;
        if (isBusy(state)) row.counters.busy_agent_ms += dt;
      };
      add(r.total);
      auto addQueue = [&](std::size_t q) {
        if (q < r.by_queue.size()) add(r.by_queue[q]);
      };
      auto addChannels = [&](std::uint8_t mask) {
        for (std::size_t ch = 0; ch < kChannelCount; ++ch) {
          if (mask & (1u << ch)) add(r.by_channel[ch]);
        }
      };
      if (a < agents.size() && agents[a].loaded) {
        for (std::uint32_t q : agents[a].queues) addQueue(q);
        addChannels(agents[a].channels);
      } else if (a < engine->agentCount()) {
        const AgentConfig& c = engine->agentConfig(AgentId{static_cast<std::uint32_t>(a)});
        for (const Membership& m : c.queues) addQueue(index(m.queue));
        std::uint8_t mask = 0;
        for (Channel ch : kAllChannels) {
          if (c.capacity[ch].max > 0) mask |= static_cast<std::uint8_t>(1u << index(ch));
        }
        addChannels(mask);
      }
    }
    return r;
  }

  void startInterval(TimePoint now) {
    interval_start = now;
    for (Counters& c : queue_counters) c = Counters{};
    for (Counters& c : channels) c = Counters{};
    for (Counters& c : campaigns) c = Counters{};
    total = Counters{};
  }

  const Engine* engine;
  TimePoint interval_start;
  ContactMap<Live> live;
  std::vector<QueueState> queues;
  std::vector<AgentTrack> agents;
  std::vector<Counters> queue_counters;
  std::array<Counters, kChannelCount> channels{};
  std::vector<Counters> campaigns;
  Counters total;
  Ewma all_talk_ms;  // every queue: the prior for a queue with no history yet
  Ewma all_wrap_ms;
};

Metrics StatsRow::metrics() const {
  const Counters& c = counters;
  auto n = [](std::uint64_t v) { return static_cast<double>(v); };
  auto ms = [](Millis d) { return static_cast<double>(d.count()); };
  Metrics m;
  m.service_level =
      ratio(n(c.answered_within_sl), n(c.answered) + n(c.abandoned) - n(c.short_abandoned));
  m.service_level_answered = ratio(n(c.answered_within_sl), n(c.answered));
  m.asa_seconds = ratio(ms(c.answered_wait) / 1000.0, n(c.answered));
  m.aht_seconds = ratio((ms(c.talk_time) + ms(c.wrap_time)) / 1000.0, n(c.completed));
  m.abandon_rate =
      ratio(n(c.abandoned) - n(c.short_abandoned), n(c.offered) - n(c.short_abandoned));
  m.occupancy = ratio(c.busy_agent_ms, c.staffed_agent_ms);
  return m;
}

Statistics::Statistics(const Engine& engine, TimePoint start)
    : impl_(std::make_unique<Impl>(engine, start)) {}
Statistics::~Statistics() = default;
Statistics::Statistics(const Statistics& other) : impl_(std::make_unique<Impl>(*other.impl_)) {}
Statistics& Statistics::operator=(const Statistics& other) {
  if (this != &other) impl_ = std::make_unique<Impl>(*other.impl_);
  return *this;
}
Statistics::Statistics(Statistics&&) noexcept = default;
Statistics& Statistics::operator=(Statistics&&) noexcept = default;

void Statistics::apply(const Action& action, TimePoint now) {
  std::visit([&](const auto& a) { impl_->on(a, now); }, action);
}

void Statistics::apply(std::span<const Action> actions, TimePoint now) {
  for (const Action& a : actions) apply(a, now);
}

void Statistics::startInterval(TimePoint now) {
  impl_->startInterval(now);
}

StatsReport Statistics::report(TimePoint now) const {
  return impl_->report(now);
}

double Statistics::ewtSeconds(QueueId q, std::size_t position, TimePoint now) const {
  return impl_->ewtSeconds(q, position, now);
}

}  // namespace parley::engine
