// Routing engine implementation. See engine.h for the contract and docs/ROUTING.md
// for the rules in prose.
//
// Data layout, chosen for the hot paths (an agent freeing up, a contact arriving):
// - Waiting contacts are indexed per queue and per *contact class* (channel + skill requirements).
//   Within a class the best contact is simply the first of an ordered set, so an agent that frees
//   up looks at one head per (queue, class) it can serve instead of scanning the queue.
// - Each queue keeps a vector of its members that can take an offer right now ("ready"), so a new
//   contact scans only free agents; the strategy decides among them.
// - Timers live in one binary heap with lazy deletion: each entry names its target and a
//   generation, and is ignored on expiry when the target has moved on.
#include "engine/engine.h"
#include "engine/waiting_index.h"

#include <algorithm>
#include <cassert>
#include <deque>
#include <limits>
#include <map>
#include <queue>
#include <sstream>
#include <stdexcept>
#include <unordered_map>

namespace parley::engine {

namespace {

using detail::ClassId;
using detail::WaitingIndex;
using detail::WaitKey;
constexpr std::int32_t kNotReady = -1;
constexpr int kMaxExitHops = 8;  // guards against exit-action cycles between full queues

// Orders class keys; transparent so a lookup needs no copy of the requirements.
struct ClassKeyLess {
  using is_transparent = void;
  using View = std::pair<Channel, std::span<const SkillRequirement>>;
  static View view(const std::pair<Channel, std::vector<SkillRequirement>>& k) {
    return {k.first, k.second};
  }
  static View view(const View& v) { return v; }
  template <typename A, typename B>
  bool operator()(const A& a, const B& b) const {
    View x = view(a);
    View y = view(b);
    if (x.first != y.first) return x.first < y.first;
    return std::lexicographical_compare(x.second.begin(), x.second.end(), y.second.begin(),
                                        y.second.end());
  }
};

struct ContactClass {
  Channel channel{};
  std::vector<SkillRequirement> skills;  // sorted by skill id
};

struct Skip {
  AgentId agent{};
  TimePoint until{};
};

struct ContactRec {
  ContactId id{};
  Channel channel{};
  int priority = 0;
  ClassId cls = 0;
  std::vector<SkillRequirement> base_skills;  // as requested, sorted
  TimePoint enqueued_at{};
  TimePoint entered_at{};  // entered the current queue: max wait and escalation count from here
  std::uint64_t seq = 0;
  std::vector<QueueId> queues;  // [0] is the primary queue; more after escalation overflow
  ContactState state = ContactState::Waiting;
  std::vector<AgentId> offered_to;
  std::vector<Skip> skips;
  std::uint32_t visit = 0;        // bumped when the contact enters another queue
  std::uint32_t offer_round = 0;  // bumped on every new round of offers
  std::size_t next_step = 0;      // next escalation step of the primary queue
  CampaignId campaign = kNoCampaign;
  std::string caller;
  AgentId agent{};
  TimePoint answered_at{};
  Millis extra_ring{0};  // ContactSpec::extra_offer_time

  WaitKey key() const { return {-priority, enqueued_at, seq, id, !skips.empty()}; }
};

struct Work {
  ContactId contact{};
  Channel channel{};
  QueueId queue{};
  TimePoint since{};
  TimePoint wrap_until{};
  std::uint32_t wrap_id = 0;
};

struct AgentMembership {
  QueueId queue{};
  int penalty = 0;
  std::uint32_t member_index = 0;      // position in QueueRec::members
  std::int32_t ready_pos = kNotReady;  // position in QueueRec::ready
};

struct AgentRec {
  AgentConfig config;
  std::vector<AgentMembership> memberships;
  std::vector<AgentSkill> skills;  // sorted by skill id
  bool logged_in = false;
  bool ready = false;
  std::string reason;
  AgentState state = AgentState::LoggedOut;
  TimePoint idle_since{};
  int used = 0;
  std::array<int, kChannelCount> count{};
  std::optional<ContactId> offer;
  Channel offer_channel{};
  std::vector<Work> active;
  std::vector<Work> wrapping;
  std::uint32_t next_wrap_id = 0;
  std::uint64_t answered = 0;
  Millis handle_time{0};
  int misses = 0;

  int levelOf(SkillId s) const {
    for (const AgentSkill& k : skills) {
      if (k.skill == s) return k.level;
    }
    return 0;
  }
};

struct MaxWaitDue {
  TimePoint due{};
  ContactId contact{};
  std::uint32_t visit = 0;  // the contact's visit when it entered; stale if it moved on
};

struct QueueRec {
  QueueConfig config;
  std::vector<AgentId> members;
  std::vector<AgentId> ready;                  // members that can take an offer now
  std::vector<std::uint32_t> ready_member;     // index into AgentRec::memberships, parallel
  WaitingIndex waiting;
  std::uint32_t rr_last = std::numeric_limits<std::uint32_t>::max();
  // Max-wait deadlines of contacts that entered this queue, in entry order. Every contact waits
  // the same max_wait and time never goes back, so this is also deadline order: the queue needs
  // one engine timer (for the front) instead of one heap entry per contact, which kept the heap
  // large with deadlines of contacts answered long ago.
  std::deque<MaxWaitDue> max_wait_due;
  bool max_wait_armed = false;  // an engine timer is pending for the front of max_wait_due
};

// Targets: a contact id, an agent id for WrapUpEnd, a queue id for MaxWait.
enum class TimerKind : std::uint8_t { OfferTimeout, MaxWait, Escalation, SkipExpire, WrapUpEnd };

struct Timer {
  TimePoint when{};
  std::uint64_t seq = 0;  // insertion order: timers due together fire deterministically
  TimerKind kind{};
  std::uint64_t target = 0;  // contact id, or agent id for WrapUpEnd
  std::uint32_t gen = 0;
  bool operator>(const Timer& o) const {
    if (when != o.when) return when > o.when;
    return seq > o.seq;
  }
};

struct ResumeRec {
  TimePoint enqueued_at{};
  std::uint64_t seq = 0;
  TimePoint expires{};
};

std::uint64_t splitmix64(std::uint64_t& state) {
  std::uint64_t z = (state += 0x9e3779b97f4a7c15ULL);
  z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ULL;
  z = (z ^ (z >> 27)) * 0x94d049bb133111ebULL;
  return z ^ (z >> 31);
}

}  // namespace

struct Engine::State {
  EngineConfig config;
  std::vector<QueueRec> queues;
  std::vector<AgentRec> agents;
  std::vector<std::string> skill_names;
  std::unordered_map<std::string, SkillId> skill_ids;
  std::vector<std::string> campaign_names{""};
  std::unordered_map<std::string, CampaignId> campaign_ids;
  std::vector<ContactClass> classes;
  std::map<std::pair<Channel, std::vector<SkillRequirement>>, ClassId, ClassKeyLess> class_ids;
  std::array<std::optional<ClassId>, kChannelCount> plain_class{};  // no skills: the common case
  std::unordered_map<ContactId, ContactRec> contacts;
  std::priority_queue<Timer, std::vector<Timer>, std::greater<>> timers;
  std::uint64_t timer_seq = 0;
  std::uint64_t contact_seq = 0;
  std::uint64_t rng = 1;
  TimePoint now{};
  std::unordered_map<std::string, ResumeRec> resume;
  std::deque<std::pair<TimePoint, std::string>> resume_expiry;
  std::vector<Action>* out = nullptr;      // the caller's action buffer during handle()
  std::vector<AgentId> scratch_agents;     // reused by routing to avoid allocation

  // ---- helpers ---------------------------------------------------------------------------
  QueueRec* queue(QueueId q) {
    return index(q) < queues.size() ? &queues[index(q)] : nullptr;
  }
  AgentRec* agent(AgentId a) {
    return index(a) < agents.size() ? &agents[index(a)] : nullptr;
  }
  ContactRec* contact(ContactId c) {
    auto it = contacts.find(c);
    return it == contacts.end() ? nullptr : &it->second;
  }
  void emit(Action a) { out->push_back(std::move(a)); }
  void addTimer(TimePoint when, TimerKind kind, std::uint64_t target, std::uint32_t gen) {
    timers.push(Timer{when, timer_seq++, kind, target, gen});
  }
  ContactTag tag(const ContactRec& c) const {
    return {c.queues.front(), c.channel, c.campaign, c.enqueued_at};
  }

  ClassId classFor(Channel ch, const std::vector<SkillRequirement>& skills) {
    if (skills.empty()) {
      auto& plain = plain_class[static_cast<std::size_t>(ch)];
      if (!plain) plain = internClass(ch, {});
      return *plain;
    }
    return internClass(ch, skills);
  }
  ClassId internClass(Channel ch, const std::vector<SkillRequirement>& skills) {
    auto it = class_ids.find(ClassKeyLess::View{ch, skills});
    if (it != class_ids.end()) return it->second;
    auto key = std::make_pair(ch, skills);
    auto id = static_cast<ClassId>(classes.size());
    classes.push_back({key.first, key.second});
    class_ids.emplace(std::move(key), id);
    return id;
  }

  std::vector<SkillRequirement> effectiveSkills(const ContactRec& c) const {
    std::vector<SkillRequirement> s = c.base_skills;
    const QueueRec& q = queues[index(c.queues.front())];
    for (std::size_t i = 0; i < c.next_step && i < q.config.escalation.size(); ++i) {
      if (auto relax = q.config.escalation[i].relax_level_to) {
        for (auto& r : s) r.min_level = std::min(r.min_level, *relax);
      }
    }
    return s;
  }

  // ---- capacity and eligibility ------------------------------------------------------------
  bool hasRoom(const AgentRec& a, Channel ch) const {
    const ChannelCapacity& cap = a.config.capacity[ch];
    return a.count[static_cast<std::size_t>(ch)] < cap.max && a.used + cap.cost <= a.config.capacity.total;
  }
  // The agent takes offers at all: logged in, ready, no pending offer, room on some channel.
  bool offerable(const AgentRec& a) const {
    if (!a.logged_in || !a.ready || a.offer) return false;
    for (Channel ch : kAllChannels) {
      if (hasRoom(a, ch)) return true;
    }
    return false;
  }
  bool hasSkills(const AgentRec& a, const ContactClass& cls) const {
    for (const SkillRequirement& r : cls.skills) {
      if (a.levelOf(r.skill) < r.min_level) return false;
    }
    return true;
  }
  bool skipped(const ContactRec& c, AgentId a) const {
    for (const Skip& s : c.skips) {
      if (s.agent == a && now < s.until) return true;
    }
    return false;
  }
  bool eligible(const AgentRec& a, AgentId id, const ContactRec& c) const {
    return offerable(a) && hasRoom(a, c.channel) && hasSkills(a, classes[c.cls]) && !skipped(c, id);
  }

  void take(AgentRec& a, Channel ch) {
    a.used += a.config.capacity[ch].cost;
    ++a.count[static_cast<std::size_t>(ch)];
  }
  void release(AgentRec& a, Channel ch) {
    a.used -= a.config.capacity[ch].cost;
    --a.count[static_cast<std::size_t>(ch)];
  }

  // ---- agent state -------------------------------------------------------------------------
  AgentState derive(const AgentRec& a) const {
    if (a.offer) return AgentState::Reserved;
    if (!a.active.empty()) return AgentState::Busy;
    if (!a.wrapping.empty()) return AgentState::WrapUp;
    if (!a.logged_in) return AgentState::LoggedOut;
    if (!a.ready) return AgentState::NotReady;
    return AgentState::Available;
  }

  // Brings the agent's reported state and its place in the queues' ready lists up to date.
  void refreshAgent(AgentId id) {
    AgentRec& a = agents[index(id)];
    AgentState next = derive(a);
    if (next != a.state) {
      if (next == AgentState::Available) a.idle_since = now;
      emit(act::AgentStateChanged{id, a.state, next,
                                  next == AgentState::NotReady ? a.reason : std::string{}});
      a.state = next;
    }
    bool want = offerable(a);
    for (std::uint32_t m = 0; m < a.memberships.size(); ++m) {
      AgentMembership& ms = a.memberships[m];
      QueueRec& q = queues[index(ms.queue)];
      if (want && ms.ready_pos == kNotReady) {
        ms.ready_pos = static_cast<std::int32_t>(q.ready.size());
        q.ready.push_back(id);
        q.ready_member.push_back(m);
      } else if (!want && ms.ready_pos != kNotReady) {
        auto pos = static_cast<std::size_t>(ms.ready_pos);
        AgentId moved = q.ready.back();
        std::uint32_t moved_m = q.ready_member.back();
        q.ready[pos] = moved;
        q.ready_member[pos] = moved_m;
        agents[index(moved)].memberships[moved_m].ready_pos = static_cast<std::int32_t>(pos);
        q.ready.pop_back();
        q.ready_member.pop_back();
        ms.ready_pos = kNotReady;
      }
    }
  }

  void miss(AgentId id) {
    AgentRec& a = agents[index(id)];
    ++a.misses;
    if (config.max_consecutive_misses > 0 && a.misses >= config.max_consecutive_misses &&
        a.ready) {
      a.ready = false;
      a.reason = "missed";
    }
  }

  // ---- waiting-contact index ---------------------------------------------------------------
  void indexInsert(QueueRec& q, const ContactRec& c) { q.waiting.insert(c.cls, c.channel, c.key()); }
  void indexErase(QueueRec& q, const ContactRec& c) { q.waiting.erase(c.cls, c.key()); }
  void unindex(const ContactRec& c) {
    for (QueueId q : c.queues) indexErase(queues[index(q)], c);
  }
  void reindex(const ContactRec& c) {
    for (QueueId q : c.queues) indexInsert(queues[index(q)], c);
  }

  std::size_t positionOf(const ContactRec& c) const {
    return queues[index(c.queues.front())].waiting.position(c.key());
  }

  // ---- offers ------------------------------------------------------------------------------
  void offer(ContactRec& c, QueueRec& q, AgentId id, std::uint32_t member_index) {
    AgentRec& a = agents[index(id)];
    if (c.state == ContactState::Waiting) {
      unindex(c);
      c.state = ContactState::Offered;
      ++c.offer_round;
      addTimer(now + q.config.offer_timeout + c.extra_ring, TimerKind::OfferTimeout, index(c.id),
               c.offer_round);
    }
    c.offered_to.push_back(id);
    a.offer = c.id;
    a.offer_channel = c.channel;
    take(a, c.channel);
    q.rr_last = member_index;
    emit(act::OfferCreated{c.id, id, tag(c), now + q.config.offer_timeout + c.extra_ring});
    refreshAgent(id);
  }

  // Removes `id`'s offer for `c`; the agent is free again (the caller re-routes it).
  void dropOffer(ContactRec& c, AgentId id, WithdrawReason why) {
    AgentRec& a = agents[index(id)];
    a.offer.reset();
    release(a, c.channel);
    std::erase(c.offered_to, id);
    emit(act::OfferWithdrawn{c.id, id, why});
    refreshAgent(id);
  }

  // The contact has no live offer left: it waits again, in its old place.
  void requeue(ContactRec& c) {
    c.state = ContactState::Waiting;
    reindex(c);
    emit(act::ContactRequeued{c.id, tag(c)});
  }

  void skipAgent(ContactRec& c, AgentId id) {
    Millis window = queues[index(c.queues.front())].config.retry_other_agent_for;
    if (window.count() <= 0) return;
    std::erase_if(c.skips, [&](const Skip& s) { return s.agent == id || s.until <= now; });
    c.skips.push_back({id, now + window});
    addTimer(now + window, TimerKind::SkipExpire, index(c.id), c.visit);
  }

  // ---- routing -----------------------------------------------------------------------------
  // Strategy rank of a free member; lower is better. Ties go to the lower agent id.
  std::pair<std::int64_t, std::int64_t> rank(const QueueRec& q, const AgentRec& a,
                                              const AgentMembership& ms,
                                              const ContactRec& c) const {
    const std::int64_t idle = a.idle_since.time_since_epoch().count();
    switch (q.config.strategy) {
      case Strategy::LongestIdle:
      case Strategy::RingAll:
      case Strategy::Random: return {idle, 0};
      case Strategy::FewestContacts: return {static_cast<std::int64_t>(a.answered), idle};
      case Strategy::LeastTalkTime: return {a.handle_time.count(), idle};
      case Strategy::TopDown: return {ms.member_index, 0};
      case Strategy::RoundRobin: {
        auto n = static_cast<std::int64_t>(q.members.size());
        std::int64_t last = q.rr_last == std::numeric_limits<std::uint32_t>::max()
                                ? n - 1
                                : static_cast<std::int64_t>(q.rr_last);
        return {((static_cast<std::int64_t>(ms.member_index) - last - 1) % n + n) % n, 0};
      }
      case Strategy::SkillsBestMatch: {
        std::int64_t score = 0;
        for (const SkillRequirement& r : classes[c.cls].skills) score += a.levelOf(r.skill);
        return {-score, idle};
      }
    }
    return {0, 0};
  }

  // Contact-driven routing: offer `c` to the best free eligible member(s) of its queues.
  void routeContact(ContactRec& c) {
    if (c.state != ContactState::Waiting) return;
    for (QueueId qid : c.queues) {
      QueueRec& q = queues[index(qid)];
      if (q.ready.empty()) continue;
      const bool ring_all = q.config.strategy == Strategy::RingAll;
      const bool random = q.config.strategy == Strategy::Random;
      int best_penalty = std::numeric_limits<int>::max();
      std::pair<std::int64_t, std::int64_t> best_rank{};
      AgentId best{};
      std::uint32_t best_member = 0;
      scratch_agents.clear();
      for (std::size_t i = 0; i < q.ready.size(); ++i) {
        AgentId id = q.ready[i];
        const AgentRec& a = agents[index(id)];
        if (!eligible(a, id, c)) continue;
        const AgentMembership& ms = a.memberships[q.ready_member[i]];
        if (ring_all || random) {
          if (ms.penalty < best_penalty) {
            best_penalty = ms.penalty;
            scratch_agents.clear();
          }
          if (ms.penalty == best_penalty) scratch_agents.push_back(id);
          continue;
        }
        auto r = rank(q, a, ms, c);
        if (ms.penalty < best_penalty ||
            (ms.penalty == best_penalty &&
             (r < best_rank || (r == best_rank && index(id) < index(best))))) {
          best_penalty = ms.penalty;
          best_rank = r;
          best = id;
          best_member = ms.member_index;
        }
      }
      if (best_penalty == std::numeric_limits<int>::max()) continue;
      if (ring_all) {
        std::sort(scratch_agents.begin(), scratch_agents.end(),
                  [](AgentId x, AgentId y) { return index(x) < index(y); });
        for (AgentId id : scratch_agents) offer(c, q, id, memberIndex(id, qid));
        return;
      }
      if (random) {
        std::sort(scratch_agents.begin(), scratch_agents.end(),
                  [](AgentId x, AgentId y) { return index(x) < index(y); });
        best = scratch_agents[splitmix64(rng) % scratch_agents.size()];
        best_member = memberIndex(best, qid);
      }
      offer(c, q, best, best_member);
      return;
    }
  }

  std::uint32_t memberIndex(AgentId id, QueueId q) const {
    for (const AgentMembership& ms : agents[index(id)].memberships) {
      if (ms.queue == q) return ms.member_index;
    }
    return 0;
  }

  // Agent-driven routing: the agent takes the best waiting contact it can serve across all its
  // queues (priority, then longest wait), if it is free to take one.
  void routeAgent(AgentId id) {
    AgentRec& a = agents[index(id)];
    if (!offerable(a)) return;
    const WaitKey* best = nullptr;
    QueueRec* best_queue = nullptr;
    std::uint32_t best_member = 0;
    for (const AgentMembership& ms : a.memberships) {
      QueueRec& q = queues[index(ms.queue)];
      for (const WaitingIndex::Head& h : q.waiting.heads()) {
        if (best && !(h.key < *best)) continue;
        if (!hasRoom(a, h.channel) || !hasSkills(a, classes[h.cls])) continue;
        const WaitKey* candidate = &h.key;
        if (h.key.may_skip && skipped(contacts.find(h.key.id)->second, id)) {
          // Rare: this agent just missed the head; look further down the class.
          candidate = nullptr;
          for (const WaitKey& k : q.waiting.contactsOf(h.cls)) {
            if (best && !(k < *best)) break;
            if (k.may_skip && skipped(contacts.find(k.id)->second, id)) continue;
            candidate = &k;
            break;
          }
        }
        if (!candidate) continue;
        best = candidate;
        best_queue = &q;
        best_member = ms.member_index;
      }
    }
    if (!best) return;
    ContactRec& c = contacts.find(best->id)->second;
    offer(c, *best_queue, id, best_member);
  }

  // ---- contact lifecycle -------------------------------------------------------------------
  // Enters `c` into queue `qid` (arrival, exit to another queue, transfer): limits, timers,
  // ContactQueued, routing. May end the contact (max length): returns false then.
  bool enter(ContactRec& c, QueueId qid, int hops) {
    QueueRec& q = queues[index(qid)];
    c.state = ContactState::Waiting;  // also for a transferred contact that the new queue refuses
    c.queues.assign(1, qid);
    c.entered_at = now;
    c.next_step = 0;
    ++c.visit;
    c.skips.clear();
    c.cls = classFor(c.channel, c.base_skills);
    if (q.config.max_length && q.waiting.size() >= *q.config.max_length) {
      return exitQueue(c, ExitReason::MaxLength, q.config.on_max_length, hops);
    }
    indexInsert(q, c);
    emit(act::ContactQueued{c.id, tag(c), positionOf(c)});
    if (q.config.max_wait && c.channel != Channel::Callback) {  // a callback is not on hold
      q.max_wait_due.push_back({now + *q.config.max_wait, c.id, c.visit});
      armMaxWait(qid);
    }
    applyDueEscalation(c);
    routeContact(c);
    return true;
  }

  // Applies every escalation step of the primary queue that is due, and arms the next one.
  void applyDueEscalation(ContactRec& c) {
    const QueueRec& q = queues[index(c.queues.front())];
    const auto& steps = q.config.escalation;
    while (c.next_step < steps.size() && c.entered_at + steps[c.next_step].after <= now) {
      const EscalationStep& step = steps[c.next_step];
      ++c.next_step;
      if (step.relax_level_to) {
        ClassId cls = classFor(c.channel, effectiveSkills(c));
        if (cls != c.cls) {
          if (c.state == ContactState::Waiting) unindex(c);
          c.cls = cls;
          if (c.state == ContactState::Waiting) reindex(c);
        }
      }
      if (step.add_queue && queue(*step.add_queue) &&
          std::find(c.queues.begin(), c.queues.end(), *step.add_queue) == c.queues.end()) {
        c.queues.push_back(*step.add_queue);
        if (c.state == ContactState::Waiting) indexInsert(queues[index(*step.add_queue)], c);
      }
    }
    if (c.next_step < steps.size()) {
      addTimer(c.entered_at + steps[c.next_step].after, TimerKind::Escalation, index(c.id),
               c.visit);
    }
  }

  void endContact(ContactRec& c, Outcome outcome, ExitReason reason, ExitAction exit) {
    act::ContactEnded e;
    e.contact = c.id;
    e.tag = tag(c);
    e.outcome = outcome;
    e.reason = reason;
    e.exit = exit;
    if (c.state == ContactState::Answered) {
      e.answered = true;
      e.agent = c.agent;
      e.waited = c.answered_at - c.enqueued_at;
      e.handled = now - c.answered_at;
    } else {
      e.waited = now - c.enqueued_at;
    }
    emit(std::move(e));
    contacts.erase(c.id);
  }

  // Takes a waiting or offered contact out of routing: withdraws offers (freeing the agents,
  // who are then re-routed) and removes it from the indexes.
  void detach(ContactRec& c, WithdrawReason why, std::vector<AgentId>& freed) {
    if (c.state == ContactState::Waiting) {
      unindex(c);
    } else if (c.state == ContactState::Offered) {
      std::vector<AgentId> offered = c.offered_to;
      for (AgentId id : offered) {
        dropOffer(c, id, why);
        freed.push_back(id);
      }
    }
  }

  bool exitQueue(ContactRec& c, ExitReason reason, const ExitAction& action, int hops) {
    if (action.kind == ExitAction::Kind::Queue && queue(action.target) && hops < kMaxExitHops) {
      emit(act::ContactMoved{c.id, tag(c), action.target});
      return enter(c, action.target, hops + 1);
    }
    ExitAction effective = action;
    if (action.kind == ExitAction::Kind::Queue) effective.kind = ExitAction::Kind::HangUp;
    endContact(c, Outcome::Exited, reason, effective);
    return false;
  }

  void rememberForResume(const ContactRec& c) {
    if (c.caller.empty() || !isVoiceLike(c.channel)) return;
    const QueueRec& q = queues[index(c.queues.front())];
    if (q.config.abandon_resume_window.count() <= 0) return;
    std::string key = resumeKey(c.queues.front(), c.caller);
    TimePoint expires = now + q.config.abandon_resume_window;
    resume[key] = {c.enqueued_at, c.seq, expires};
    resume_expiry.emplace_back(expires, std::move(key));
  }
  static std::string resumeKey(QueueId q, const std::string& caller) {
    return std::to_string(index(q)) + '\n' + caller;
  }
  void pruneResume() {
    while (!resume_expiry.empty() && resume_expiry.front().first < now) {
      auto it = resume.find(resume_expiry.front().second);
      if (it != resume.end() && it->second.expires < now) resume.erase(it);
      resume_expiry.pop_front();
    }
  }

  // ---- event handlers ----------------------------------------------------------------------
  void onArrived(const ContactSpec& spec) {
    if (!queue(spec.queue)) return;
    auto [slot, inserted] = contacts.try_emplace(spec.id);
    if (!inserted) return;  // a live contact with this id: duplicate arrival
    ContactRec& c = slot->second;
    c.id = spec.id;
    c.channel = spec.channel;
    c.priority = spec.priority;
    c.base_skills = spec.skills;
    std::sort(c.base_skills.begin(), c.base_skills.end());
    c.enqueued_at = spec.enqueued_at.value_or(now);
    c.seq = ++contact_seq;
    c.caller = spec.caller;
    c.extra_ring = std::max(Millis{0}, spec.extra_offer_time);
    if (!spec.attributes.campaign.empty()) c.campaign = internCampaign(spec.attributes.campaign);
    if (!c.caller.empty() && isVoiceLike(c.channel) && !resume.empty()) {
      pruneResume();
      auto it = resume.find(resumeKey(spec.queue, c.caller));
      if (it != resume.end()) {
        if (it->second.expires >= now) {
          c.enqueued_at = std::min(c.enqueued_at, it->second.enqueued_at);
          c.seq = it->second.seq;
        }
        resume.erase(it);
      }
    }
    enter(c, spec.queue, 0);
  }

  void onAccepted(ContactId cid, AgentId aid) {
    ContactRec* c = contact(cid);
    AgentRec* a = agent(aid);
    if (!a) return;
    if (c && c->state == ContactState::Answered && c->agent == aid) return;  // duplicate
    if (!c || c->state != ContactState::Offered ||
        std::find(c->offered_to.begin(), c->offered_to.end(), aid) == c->offered_to.end()) {
      emit(act::OfferWithdrawn{cid, aid, WithdrawReason::NotOffered});
      return;
    }
    std::vector<AgentId> losers;
    for (AgentId other : c->offered_to) {
      if (other != aid) losers.push_back(other);
    }
    for (AgentId other : losers) dropOffer(*c, other, WithdrawReason::TakenByOther);
    c->offered_to.clear();
    c->state = ContactState::Answered;
    c->agent = aid;
    c->answered_at = now;
    a->offer.reset();
    a->active.push_back({cid, c->channel, c->queues.front(), now, {}, 0});
    a->misses = 0;
    ++a->answered;
    emit(act::ContactAnswered{cid, aid, tag(*c), now - c->enqueued_at});
    refreshAgent(aid);
    for (AgentId other : losers) routeAgent(other);
    routeAgent(aid);  // room for more (a second chat) once the offer is off its hands
  }

  // An offer ended without an accept (rejected or timed out) for the listed agents.
  void offerFailed(ContactRec& c, const std::vector<AgentId>& agents_missed, WithdrawReason why) {
    for (AgentId id : agents_missed) {
      miss(id);  // first, so a third miss goes straight to NotReady without passing Available
      dropOffer(c, id, why);
      skipAgent(c, id);
    }
    if (c.offered_to.empty()) {
      requeue(c);
      routeContact(c);
    }
    for (AgentId id : agents_missed) routeAgent(id);
  }

  void onRejected(ContactId cid, AgentId aid) {
    ContactRec* c = contact(cid);
    if (!c || c->state != ContactState::Offered ||
        std::find(c->offered_to.begin(), c->offered_to.end(), aid) == c->offered_to.end()) {
      return;
    }
    offerFailed(*c, {aid}, WithdrawReason::Rejected);
  }

  void onAbandoned(ContactId cid, Outcome outcome, ExitReason reason) {
    ContactRec* c = contact(cid);
    if (!c) return;
    if (c->state == ContactState::Answered) {
      if (outcome == Outcome::Abandoned) onCompleted(cid, std::nullopt);
      return;
    }
    std::vector<AgentId> freed;
    detach(*c, WithdrawReason::CustomerGone, freed);
    if (outcome == Outcome::Abandoned) rememberForResume(*c);
    endContact(*c, outcome, reason, {});
    for (AgentId id : freed) routeAgent(id);
  }

  // The agent's part of an answered contact ends (completion or transfer): wrap-up starts, or
  // with no wrap-up time the work is returned for the caller to release once it has reported the
  // contact's end (so WrapUpEnded always follows ContactEnded).
  std::optional<Work> finishWork(ContactRec& c) {
    AgentRec& a = agents[index(c.agent)];
    auto it = std::find_if(a.active.begin(), a.active.end(),
                           [&](const Work& w) { return w.contact == c.id; });
    if (it == a.active.end()) return std::nullopt;
    Work w = *it;
    a.active.erase(it);
    a.handle_time += now - c.answered_at;
    Millis wrap = queues[index(w.queue)].config.wrap_up;
    if (wrap.count() > 0) {
      w.since = now;
      w.wrap_until = now + wrap;
      w.wrap_id = ++a.next_wrap_id;
      a.wrapping.push_back(w);
      addTimer(w.wrap_until, TimerKind::WrapUpEnd, index(c.agent), w.wrap_id);
      return std::nullopt;
    }
    return w;
  }

  void onCompleted(ContactId cid, std::optional<QueueId> transfer_to, bool transfer = false) {
    ContactRec* c = contact(cid);
    if (!c) return;
    if (c->state != ContactState::Answered) {
      if (!transfer) onAbandoned(cid, Outcome::Abandoned, ExitReason::None);
      return;
    }
    if (transfer_to && !queue(*transfer_to)) return;  // unknown target: ignored like any bad id
    AgentId aid = c->agent;
    std::optional<Work> done = finishWork(*c);
    if (transfer_to) {
      emit(act::ContactMoved{c->id, tag(*c), *transfer_to});
      c->agent = {};
      enter(*c, *transfer_to, 0);
    } else {
      endContact(*c, transfer ? Outcome::Transferred : Outcome::Completed, ExitReason::None, {});
    }
    if (done) {
      release(agents[index(aid)], done->channel);
      emit(act::WrapUpEnded{done->contact, aid, done->queue, Millis{0}});
    }
    refreshAgent(aid);
    routeAgent(aid);
  }

  void endWrap(AgentRec& a, AgentId aid, std::size_t i) {
    Work w = a.wrapping[i];
    a.wrapping.erase(a.wrapping.begin() + static_cast<std::ptrdiff_t>(i));
    release(a, w.channel);
    emit(act::WrapUpEnded{w.contact, aid, w.queue, now - w.since});
  }

  void onWrapUpDone(AgentId aid) {
    AgentRec* a = agent(aid);
    if (!a || a->wrapping.empty()) return;
    while (!a->wrapping.empty()) endWrap(*a, aid, 0);
    refreshAgent(aid);
    routeAgent(aid);
  }

  // The agent stops taking offers (logout or not-ready): a pending offer goes back to the queue.
  void withdrawPendingOffer(AgentRec& a, AgentId aid) {
    if (!a.offer) return;
    ContactRec& c = contacts.find(*a.offer)->second;
    dropOffer(c, aid, WithdrawReason::AgentLoggedOut);
    if (c.offered_to.empty()) {
      requeue(c);
      routeContact(c);
    }
  }

  void onLogin(AgentId aid, bool ready) {
    AgentRec* a = agent(aid);
    if (!a) return;
    if (a->logged_in) {
      if (ready && !a->ready) onReady(aid);
      return;
    }
    a->logged_in = true;
    a->ready = ready;
    a->reason = ready ? "" : "login";
    a->misses = 0;
    a->answered = 0;  // fewest-contacts and least-talk-time count per login session
    a->handle_time = Millis{0};
    refreshAgent(aid);
    routeAgent(aid);
  }

  void onLogout(AgentId aid) {
    AgentRec* a = agent(aid);
    if (!a || !a->logged_in) return;
    a->logged_in = false;
    a->ready = false;
    a->reason.clear();
    withdrawPendingOffer(*a, aid);
    refreshAgent(aid);
  }

  void onReady(AgentId aid) {
    AgentRec* a = agent(aid);
    if (!a || !a->logged_in || a->ready) return;
    a->ready = true;
    a->reason.clear();
    a->misses = 0;
    refreshAgent(aid);
    routeAgent(aid);
  }

  void onNotReady(AgentId aid, const std::string& reason) {
    AgentRec* a = agent(aid);
    if (!a || !a->logged_in) return;
    std::string next = reason.empty() ? "not-ready" : reason;
    if (!a->ready && a->reason == next) return;
    const bool only_reason_changes = a->state == AgentState::NotReady;
    a->ready = false;
    a->reason = std::move(next);
    withdrawPendingOffer(*a, aid);
    if (only_reason_changes) {
      emit(act::AgentStateChanged{aid, AgentState::NotReady, AgentState::NotReady, a->reason});
    }
    refreshAgent(aid);
  }

  // ---- timers ------------------------------------------------------------------------------
  // The contact behind a max-wait deadline still waits in that queue visit.
  bool maxWaitLive(const MaxWaitDue& d) const {
    auto it = contacts.find(d.contact);
    return it != contacts.end() && it->second.visit == d.visit &&
           it->second.state != ContactState::Answered;
  }

  // Arms the queue's one max-wait timer for its earliest live deadline, if none is armed.
  void armMaxWait(QueueId qid) {
    QueueRec& q = queues[index(qid)];
    if (q.max_wait_armed) return;
    while (!q.max_wait_due.empty() && !maxWaitLive(q.max_wait_due.front())) {
      q.max_wait_due.pop_front();
    }
    if (q.max_wait_due.empty()) return;
    addTimer(q.max_wait_due.front().due, TimerKind::MaxWait, index(qid), 0);
    q.max_wait_armed = true;
  }

  // Every contact of the queue whose max wait is over leaves through the exit action.
  void fireMaxWait(QueueId qid) {
    queues[index(qid)].max_wait_armed = false;
    while (true) {
      QueueRec& q = queues[index(qid)];  // exit actions may add queues' deadlines, not queues
      if (q.max_wait_due.empty() || q.max_wait_due.front().due > now) break;
      MaxWaitDue d = q.max_wait_due.front();
      q.max_wait_due.pop_front();
      if (!maxWaitLive(d)) continue;
      ContactRec& c = contacts.find(d.contact)->second;
      std::vector<AgentId> freed;
      detach(c, WithdrawReason::CustomerGone, freed);
      exitQueue(c, ExitReason::MaxWait, q.config.on_max_wait, 0);
      for (AgentId id : freed) routeAgent(id);
    }
    armMaxWait(qid);
  }

  bool stale(const Timer& t) const {
    if (t.kind == TimerKind::MaxWait) return false;  // one per queue; it re-arms itself
    if (t.kind == TimerKind::WrapUpEnd) {
      if (t.target >= agents.size()) return true;
      for (const Work& w : agents[t.target].wrapping) {
        if (w.wrap_id == t.gen) return false;
      }
      return true;
    }
    auto it = contacts.find(ContactId{t.target});
    if (it == contacts.end()) return true;
    const ContactRec& c = it->second;
    switch (t.kind) {
      case TimerKind::OfferTimeout:
        return c.state != ContactState::Offered || c.offer_round != t.gen;
      case TimerKind::Escalation:
        return c.state == ContactState::Answered || c.visit != t.gen;
      case TimerKind::SkipExpire:
        // Not tied to the Waiting state: a contact offered elsewhere meanwhile may be back in
        // line when the skip ends, and must then be routed to the skipped agent too.
        return c.visit != t.gen;
      case TimerKind::MaxWait:
      case TimerKind::WrapUpEnd: break;
    }
    return true;
  }

  void fire(const Timer& t) {
    if (t.kind == TimerKind::MaxWait) {
      fireMaxWait(QueueId{static_cast<std::uint32_t>(t.target)});
      return;
    }
    if (t.kind == TimerKind::WrapUpEnd) {
      auto aid = AgentId{static_cast<std::uint32_t>(t.target)};
      AgentRec& a = agents[t.target];
      for (std::size_t i = 0; i < a.wrapping.size(); ++i) {
        if (a.wrapping[i].wrap_id == t.gen) {
          endWrap(a, aid, i);
          break;
        }
      }
      refreshAgent(aid);
      routeAgent(aid);
      return;
    }
    ContactRec& c = contacts.find(ContactId{t.target})->second;
    switch (t.kind) {
      case TimerKind::OfferTimeout: {
        std::vector<AgentId> missed = c.offered_to;
        offerFailed(c, missed, WithdrawReason::Timeout);
        break;
      }
      case TimerKind::Escalation:
        applyDueEscalation(c);
        routeContact(c);
        break;
      case TimerKind::SkipExpire:
        std::erase_if(c.skips, [&](const Skip& s) { return s.until <= now; });
        routeContact(c);
        break;
      case TimerKind::MaxWait:
      case TimerKind::WrapUpEnd: break;
    }
  }

  void onTick() {
    while (!timers.empty() && timers.top().when <= now) {
      Timer t = timers.top();
      timers.pop();
      if (!stale(t)) fire(t);
    }
  }

  void dropStaleTimers() {
    while (!timers.empty() && stale(timers.top())) timers.pop();
  }

  CampaignId internCampaign(std::string_view name) {
    auto it = campaign_ids.find(std::string(name));
    if (it != campaign_ids.end()) return it->second;
    CampaignId id{static_cast<std::uint32_t>(campaign_names.size())};
    campaign_names.emplace_back(name);
    campaign_ids.emplace(std::string(name), id);
    return id;
  }
};

// ---- public API ----------------------------------------------------------------------------

Engine::Engine(EngineConfig config) : s_(std::make_unique<State>()) {
  s_->config = config;
  s_->rng = config.seed;
}
Engine::~Engine() = default;
Engine::Engine(Engine&&) noexcept = default;
Engine& Engine::operator=(Engine&&) noexcept = default;

QueueId Engine::addQueue(QueueConfig config) {
  // Zero-length timers would fire again at the same instant forever (a contact bouncing between
  // two queues with max_wait 0, an offer timing out as it is made), so they are config errors.
  if (config.offer_timeout <= Millis{0}) {
    throw std::invalid_argument("queue " + config.name + ": offer_timeout must be positive");
  }
  if (config.max_wait && *config.max_wait <= Millis{0}) {
    throw std::invalid_argument("queue " + config.name + ": max_wait must be positive");
  }
  if (config.max_length && *config.max_length == 0) {
    throw std::invalid_argument("queue " + config.name + ": max_length must be at least 1");
  }
  std::stable_sort(config.escalation.begin(), config.escalation.end(),
                   [](const EscalationStep& a, const EscalationStep& b) { return a.after < b.after; });
  QueueRec q;
  q.config = std::move(config);
  s_->queues.push_back(std::move(q));
  return QueueId{static_cast<std::uint32_t>(s_->queues.size() - 1)};
}

AgentId Engine::addAgent(AgentConfig config) {
  AgentId id{static_cast<std::uint32_t>(s_->agents.size())};
  AgentRec a;
  for (const Membership& m : config.queues) {
    QueueRec* q = s_->queue(m.queue);
    if (!q) throw std::invalid_argument("agent " + config.name + ": unknown queue id");
    for (const AgentMembership& existing : a.memberships) {
      if (existing.queue == m.queue) {
        throw std::invalid_argument("agent " + config.name + ": queue listed twice");
      }
    }
    a.memberships.push_back(
        {m.queue, m.penalty, static_cast<std::uint32_t>(q->members.size()), kNotReady});
    q->members.push_back(id);
  }
  a.skills = config.skills;
  std::sort(a.skills.begin(), a.skills.end(),
            [](const AgentSkill& x, const AgentSkill& y) { return x.skill < y.skill; });
  a.config = std::move(config);
  s_->agents.push_back(std::move(a));
  return id;
}

SkillId Engine::internSkill(std::string_view name) {
  auto it = s_->skill_ids.find(std::string(name));
  if (it != s_->skill_ids.end()) return it->second;
  SkillId id{static_cast<std::uint16_t>(s_->skill_names.size())};
  s_->skill_names.emplace_back(name);
  s_->skill_ids.emplace(std::string(name), id);
  return id;
}

CampaignId Engine::internCampaign(std::string_view name) {
  if (name.empty()) return kNoCampaign;
  return s_->internCampaign(name);
}

void Engine::handle(const Event& event, TimePoint now, std::vector<Action>& out) {
  State& s = *s_;
  s.now = std::max(s.now, now);
  s.out = &out;
  std::visit(
      [&](const auto& e) {
        using T = std::decay_t<decltype(e)>;
        if constexpr (std::is_same_v<T, ev::AgentLogin>) s.onLogin(e.agent, e.ready);
        else if constexpr (std::is_same_v<T, ev::AgentLogout>) s.onLogout(e.agent);
        else if constexpr (std::is_same_v<T, ev::AgentReady>) s.onReady(e.agent);
        else if constexpr (std::is_same_v<T, ev::AgentNotReady>) s.onNotReady(e.agent, e.reason);
        else if constexpr (std::is_same_v<T, ev::ContactArrived>) s.onArrived(e.contact);
        else if constexpr (std::is_same_v<T, ev::OfferAccepted>) s.onAccepted(e.contact, e.agent);
        else if constexpr (std::is_same_v<T, ev::OfferRejected>) s.onRejected(e.contact, e.agent);
        else if constexpr (std::is_same_v<T, ev::ContactAbandoned>)
          s.onAbandoned(e.contact, Outcome::Abandoned, ExitReason::None);
        else if constexpr (std::is_same_v<T, ev::ContactLeftQueue>)
          s.onAbandoned(e.contact, Outcome::Exited, ExitReason::CustomerChoice);
        else if constexpr (std::is_same_v<T, ev::ContactCompleted>)
          s.onCompleted(e.contact, std::nullopt);
        else if constexpr (std::is_same_v<T, ev::WrapUpDone>) s.onWrapUpDone(e.agent);
        else if constexpr (std::is_same_v<T, ev::ContactTransferred>)
          s.onCompleted(e.contact, e.to_queue, true);
        else if constexpr (std::is_same_v<T, ev::Tick>) s.onTick();
      },
      event);
  s.dropStaleTimers();
  s.out = nullptr;
}

std::vector<Action> Engine::onEvent(const Event& event, TimePoint now) {
  std::vector<Action> out;
  handle(event, now, out);
  return out;
}

std::optional<TimePoint> Engine::nextDeadline() const {
  if (s_->timers.empty()) return std::nullopt;
  return s_->timers.top().when;
}

std::size_t Engine::queueCount() const { return s_->queues.size(); }
std::size_t Engine::agentCount() const { return s_->agents.size(); }
std::size_t Engine::liveContactCount() const { return s_->contacts.size(); }
const QueueConfig& Engine::queueConfig(QueueId q) const { return s_->queues.at(index(q)).config; }
const AgentConfig& Engine::agentConfig(AgentId a) const { return s_->agents.at(index(a)).config; }

std::optional<QueueId> Engine::findQueue(std::string_view name) const {
  for (std::size_t i = 0; i < s_->queues.size(); ++i) {
    if (s_->queues[i].config.name == name) return QueueId{static_cast<std::uint32_t>(i)};
  }
  return std::nullopt;
}
std::optional<AgentId> Engine::findAgent(std::string_view name) const {
  for (std::size_t i = 0; i < s_->agents.size(); ++i) {
    if (s_->agents[i].config.name == name) return AgentId{static_cast<std::uint32_t>(i)};
  }
  return std::nullopt;
}
std::optional<SkillId> Engine::findSkill(std::string_view name) const {
  auto it = s_->skill_ids.find(std::string(name));
  if (it == s_->skill_ids.end()) return std::nullopt;
  return it->second;
}
std::string_view Engine::skillName(SkillId s) const { return s_->skill_names.at(index(s)); }
std::string_view Engine::campaignName(CampaignId c) const {
  return s_->campaign_names.at(index(c));
}
std::size_t Engine::campaignCount() const { return s_->campaign_names.size(); }

AgentState Engine::agentState(AgentId a) const { return s_->agents.at(index(a)).state; }

AgentView Engine::agent(AgentId id) const {
  const AgentRec& a = s_->agents.at(index(id));
  AgentView v;
  v.id = id;
  v.state = a.state;
  v.reason = a.state == AgentState::NotReady ? a.reason : std::string{};
  v.logged_in = a.logged_in;
  v.ready = a.ready;
  v.idle_since = a.idle_since;
  v.used_capacity = a.used;
  v.offer = a.offer;
  for (const Work& w : a.active) v.active.push_back(w.contact);
  for (const Work& w : a.wrapping) v.wrapping.push_back(w.contact);
  v.contacts_answered = a.answered;
  v.handle_time = a.handle_time;
  v.consecutive_misses = a.misses;
  return v;
}

std::span<const AgentId> Engine::members(QueueId q) const {
  return s_->queues.at(index(q)).members;
}

std::optional<ContactView> Engine::contact(ContactId id) const {
  auto it = s_->contacts.find(id);
  if (it == s_->contacts.end()) return std::nullopt;
  const ContactRec& c = it->second;
  ContactView v;
  v.id = id;
  v.state = c.state;
  v.channel = c.channel;
  v.queue = c.queues.front();
  v.queues = c.queues;
  v.priority = c.priority;
  v.enqueued_at = c.enqueued_at;
  v.offered_to = c.offered_to;
  if (c.state == ContactState::Answered) v.agent = c.agent;
  v.skills = s_->classes[c.cls].skills;
  return v;
}

std::size_t Engine::waitingCount(QueueId q) const {
  return s_->queues.at(index(q)).waiting.size();
}

std::optional<TimePoint> Engine::oldestWaiting(QueueId q) const {
  return s_->queues.at(index(q)).waiting.oldest();
}

std::optional<std::size_t> Engine::position(ContactId id) const {
  auto it = s_->contacts.find(id);
  if (it == s_->contacts.end() || it->second.state != ContactState::Waiting) return std::nullopt;
  return s_->positionOf(it->second);
}

std::string Engine::checkInvariants(TimePoint now) const {
  const State& s = *s_;
  std::ostringstream err;
  // Agents: capacity accounting, offers, derived state, ready lists.
  for (std::size_t i = 0; i < s.agents.size(); ++i) {
    const AgentRec& a = s.agents[i];
    AgentId id{static_cast<std::uint32_t>(i)};
    std::array<int, kChannelCount> count{};
    int used = 0;
    auto add = [&](Channel ch) {
      ++count[static_cast<std::size_t>(ch)];
      used += a.config.capacity[ch].cost;
    };
    if (a.offer) {
      add(a.offer_channel);
      auto it = s.contacts.find(*a.offer);
      if (it == s.contacts.end() || it->second.state != ContactState::Offered ||
          std::find(it->second.offered_to.begin(), it->second.offered_to.end(), id) ==
              it->second.offered_to.end()) {
        err << "agent " << i << " reserved without a live offer\n";
      }
    }
    for (const Work& w : a.active) {
      add(w.channel);
      auto it = s.contacts.find(w.contact);
      if (it == s.contacts.end() || it->second.state != ContactState::Answered ||
          it->second.agent != id) {
        err << "agent " << i << " busy with a contact not answered by it\n";
      }
    }
    for (const Work& w : a.wrapping) add(w.channel);
    if (used != a.used || count != a.count) err << "agent " << i << " capacity books wrong\n";
    if (a.used > a.config.capacity.total) err << "agent " << i << " over total capacity\n";
    for (Channel ch : kAllChannels) {
      if (count[static_cast<std::size_t>(ch)] > std::max(a.config.capacity[ch].max, 0)) {
        err << "agent " << i << " over capacity on " << toString(ch) << "\n";
      }
    }
    if (s.derive(a) != a.state) err << "agent " << i << " state not derived\n";
    bool want = s.offerable(a);
    for (const AgentMembership& ms : a.memberships) {
      const QueueRec& q = s.queues[index(ms.queue)];
      bool in = ms.ready_pos != kNotReady &&
                static_cast<std::size_t>(ms.ready_pos) < q.ready.size() &&
                q.ready[static_cast<std::size_t>(ms.ready_pos)] == id;
      if (in != want) err << "agent " << i << " ready list out of sync\n";
    }
  }
  // Contacts: offers, indexes, work conservation.
  std::vector<std::size_t> waiting(s.queues.size(), 0);
  for (const auto& [cid, c] : s.contacts) {
    const QueueRec& primary = s.queues[index(c.queues.front())];
    if (c.state == ContactState::Offered) {
      if (c.offered_to.empty()) err << "contact " << index(cid) << " offered to nobody\n";
      if (c.offered_to.size() > 1 && primary.config.strategy != Strategy::RingAll) {
        bool overflow_ring = false;
        for (QueueId q : c.queues) {
          overflow_ring |= s.queues[index(q)].config.strategy == Strategy::RingAll;
        }
        if (!overflow_ring) err << "contact " << index(cid) << " offered to several agents\n";
      }
      for (AgentId a : c.offered_to) {
        if (s.agents[index(a)].offer != cid) {
          err << "contact " << index(cid) << " offer not held by agent " << index(a) << "\n";
        }
      }
    }
    for (QueueId qid : c.queues) {
      const QueueRec& q = s.queues[index(qid)];
      bool in = q.waiting.contains(c.cls, c.key());
      if (in != (c.state == ContactState::Waiting)) {
        err << "contact " << index(cid) << " index membership wrong\n";
      }
      if (c.state != ContactState::Waiting) continue;
      ++waiting[index(qid)];
      for (AgentId a : q.members) {
        const AgentRec& ar = s.agents[index(a)];
        bool skip = false;
        for (const Skip& k : c.skips) skip |= k.agent == a && now < k.until;
        if (!skip && s.offerable(ar) && s.hasRoom(ar, c.channel) &&
            s.hasSkills(ar, s.classes[c.cls])) {
          err << "contact " << index(cid) << " waits while agent " << index(a) << " is free\n";
        }
      }
    }
  }
  for (std::size_t q = 0; q < s.queues.size(); ++q) {
    const QueueRec& qr = s.queues[q];
    if (waiting[q] != qr.waiting.size()) err << "queue " << q << " waiting count wrong\n";
    std::string index_broken = qr.waiting.check();
    if (!index_broken.empty()) err << "queue " << q << ": " << index_broken;
  }
  return err.str();
}

}  // namespace parley::engine
