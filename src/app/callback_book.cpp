#include "app/callback_book.h"

#include <algorithm>
#include <array>
#include <charconv>
#include <chrono>

namespace parley::app {

namespace {

constexpr EpochMillis kDayMs = 86'400'000;

std::string minutesText(engine::Millis d) {
  const auto minutes = d.count() / 60'000;
  return std::to_string(minutes) + (minutes == 1 ? " minute" : " minutes");
}

// A booked time: the callback enters its queue then, ordered by that time.
void bookAt(store::Callback& r, EpochMillis at, const CallbackPolicy& p) {
  r.state = "scheduled";
  r.scheduled_for = at;
  r.due_at = at;
  r.place_since = at;
  r.priority = p.scheduled_priority;
}

// The n of an id "cb-<n>-<ms>", 0 if it has another shape.
std::uint64_t idSequence(std::string_view id) {
  if (id.rfind("cb-", 0) != 0) return 0;
  std::uint64_t n = 0;
  const char* first = id.data() + 3;
  const char* last = id.data() + id.size();
  const auto [ptr, ec] = std::from_chars(first, last, n);
  return ec == std::errc() && ptr != first ? n : 0;
}

}  // namespace

std::string spokenTime(const flow::LocalDateTime& at, const flow::Date& today) {
  using namespace std::chrono;
  const auto day = [](const flow::Date& d) {
    return sys_days(year_month_day(year(d.year), month(static_cast<unsigned>(d.month)),
                                   std::chrono::day(static_cast<unsigned>(d.day))));
  };
  const auto ahead = (day(at.date) - day(today)).count();
  static constexpr std::array<const char*, 7> kDays = {
      "Monday", "Tuesday", "Wednesday", "Thursday", "Friday", "Saturday", "Sunday"};
  static constexpr std::array<const char*, 12> kMonths = {
      "January", "February", "March",     "April",   "May",      "June",
      "July",    "August",   "September", "October", "November", "December"};
  std::string when;
  if (ahead == 0) {
    when = "today";
  } else if (ahead == 1) {
    when = "tomorrow";
  } else if (ahead > 1 && ahead < 7) {
    when = kDays[static_cast<std::size_t>(flow::weekdayOf(at.date))];
  } else {
    when = std::string(kMonths[static_cast<std::size_t>(std::clamp(at.date.month, 1, 12) - 1)]) +
           " " + std::to_string(at.date.day);
  }
  const int minutes = at.second_of_day / 60;
  const int hour = minutes / 60 % 24;
  const int minute = minutes % 60;
  if (hour == 12 && minute == 0) return when + " at noon";
  const int h12 = hour % 12 == 0 ? 12 : hour % 12;
  std::string time = std::to_string(h12);
  if (minute != 0) time += (minute < 10 ? ":0" : ":") + std::to_string(minute);
  return when + " at " + time + (hour < 12 ? " AM" : " PM");
}

std::string_view toString(BookStatus s) {
  switch (s) {
    case BookStatus::Created: return "created";
    case BookStatus::Updated: return "updated";
    case BookStatus::UnknownQueue: return "unknown-queue";
    case BookStatus::Disabled: return "disabled";
    case BookStatus::Closed: return "closed";
    case BookStatus::NoSlot: return "no-slot";
    case BookStatus::Invalid: return "invalid";
    case BookStatus::Full: return "full";
  }
  return "?";
}

CallbackBook::CallbackBook(std::vector<CallbackQueue> queues, LocalTimeOf local_of)
    : local_of_(std::move(local_of)) {
  for (CallbackQueue& q : queues) {
    QueueRec rec;
    rec.hours.schedule = q.policy.schedule;
    rec.hours.closed_dates = q.policy.closed_dates;
    rec.config = std::move(q);
    queues_.push_back(std::move(rec));
  }
}

// --- lookups ------------------------------------------------------------------------------------

const CallbackBook::QueueRec* CallbackBook::queueRec(std::string_view name,
                                                     std::size_t* index) const {
  for (std::size_t i = 0; i < queues_.size(); ++i) {
    if (queues_[i].config.name == name) {
      if (index != nullptr) *index = i;
      return &queues_[i];
    }
  }
  return nullptr;
}

const CallbackPolicy* CallbackBook::policy(std::string_view queue) const {
  const QueueRec* q = queueRec(queue);
  return q == nullptr ? nullptr : &q->config.policy;
}

const store::Callback* CallbackBook::find(const std::string& id) const {
  const auto it = open_.find(id);
  return it == open_.end() ? nullptr : &it->second;
}

const store::Callback* CallbackBook::byContact(engine::ContactId contact) const {
  const auto it = contact_to_id_.find(contact);
  return it == contact_to_id_.end() ? nullptr : find(it->second);
}

bool CallbackBook::isOpenAt(const QueueRec& q, EpochMillis t) const {
  if (q.hours.schedule.empty()) return true;
  if (!local_of_) return false;
  return flow::isOpen(q.hours, local_of_(t));
}

EpochMillis CallbackBook::slotStart(const QueueRec& q, EpochMillis t) const {
  const EpochMillis slot = q.config.policy.slot_length.count();
  if (slot <= 0 || !local_of_) return t;
  const flow::LocalDateTime local = local_of_(t);
  const EpochMillis ms_of_day =
      static_cast<EpochMillis>(local.second_of_day) * 1000 + ((t % 1000) + 1000) % 1000;
  return t - (ms_of_day % slot);
}

int CallbackBook::slotFree(const QueueRec& q, std::size_t qi, EpochMillis slot,
                           const store::Callback* excluding) const {
  int used = 0;
  if (const auto it = booked_.find({qi, slot}); it != booked_.end()) used = it->second;
  if (excluding != nullptr && excluding->scheduled_for &&
      slotStart(q, *excluding->scheduled_for) == slot) {
    --used;
  }
  return q.config.policy.slot_capacity - used;
}

std::string CallbackBook::bookingProblem(const QueueRec& q, std::size_t qi, EpochMillis at,
                                         EpochMillis now,
                                         const store::Callback* excluding) const {
  const CallbackPolicy& p = q.config.policy;
  if (p.slot_capacity <= 0) return "queue " + q.config.name + " does not book callbacks";
  if (at < now + p.min_lead.count()) {
    return "too soon: a booked call must be at least " + minutesText(p.min_lead) + " from now";
  }
  if (at >= now + p.horizon_days * kDayMs) {
    return "too far ahead: at most " + std::to_string(p.horizon_days) + " days from now";
  }
  const EpochMillis slot = slotStart(q, at);
  if (!isOpenAt(q, slot) || !isOpenAt(q, slot + p.slot_length.count() - 1)) {
    return "outside the hours of queue " + q.config.name;
  }
  if (slotFree(q, qi, slot, excluding) <= 0) return "that time is fully booked";
  return {};
}

std::string CallbackBook::newId(EpochMillis now) {
  return "cb-" + std::to_string(next_id_++) + "-" + std::to_string(now);
}

// --- requests -----------------------------------------------------------------------------------

BookDecision CallbackBook::decide(const CallbackRequest& request, EpochMillis now) {
  BookDecision d;
  std::size_t qi = 0;
  const QueueRec* q = queueRec(request.queue, &qi);
  if (q == nullptr) {
    d.status = BookStatus::UnknownQueue;
    d.message = "no queue named " + request.queue;
    return d;
  }
  const CallbackPolicy& p = q->config.policy;
  if (!p.enabled) {
    d.status = BookStatus::Disabled;
    d.message = "queue " + request.queue + " does not take callbacks";
    return d;
  }
  if (request.number.empty()) {
    d.status = BookStatus::Invalid;
    d.message = "no number to call";
    return d;
  }
  const store::Callback* existing = nullptr;
  if (const auto it = by_number_.find({request.queue, request.number}); it != by_number_.end()) {
    existing = find(it->second);
  }
  if (request.at) {
    if (std::string problem = bookingProblem(*q, qi, *request.at, now, existing);
        !problem.empty()) {
      d.status = BookStatus::NoSlot;
      d.message = std::move(problem);
      return d;
    }
  } else if (!isOpenAt(*q, now)) {
    d.status = BookStatus::Closed;
    d.message = "queue " + request.queue + " is closed for callbacks now";
    return d;
  }
  if (existing == nullptr && q->open >= p.max_open) {
    d.status = BookStatus::Full;
    d.message = "queue " + request.queue + " has too many callbacks waiting";
    return d;
  }

  store::Callback r;
  if (existing != nullptr) {
    d.status = BookStatus::Updated;
    r = *existing;
    for (const auto& [k, v] : request.context) r.context[k] = v;
    if (r.state == "dialing") {
      d.message = "this number is being called now";
    } else if (request.at) {
      bookAt(r, *request.at, p);
    } else {
      const EpochMillis asked = std::min(request.place_since.value_or(now), now);
      r.place_since = r.state == "waiting" ? std::min(r.place_since, asked) : asked;
      r.state = "waiting";
      r.scheduled_for.reset();
      r.due_at = 0;
      r.priority = p.priority;
    }
  } else {
    d.status = BookStatus::Created;
    r.id = newId(now);
    r.queue = request.queue;
    r.number = request.number;
    r.requested_at = now;
    r.source = request.source;
    r.source_address = request.source_address;
    r.interaction_id = request.interaction_id;
    r.context = request.context;
    if (request.at) {
      bookAt(r, *request.at, p);
    } else {
      r.state = "waiting";
      r.place_since = std::min(request.place_since.value_or(now), now);
      r.priority = p.priority;
    }
  }
  r.updated_at = now;
  d.record = std::move(r);
  return d;
}

void CallbackBook::commit(store::Callback record, EpochMillis now,
                          std::vector<CallbackEffect>& out) {
  (void)now;
  const auto old_it = open_.find(record.id);
  const std::string old_state = old_it == open_.end() ? std::string() : old_it->second.state;
  const EpochMillis old_place = old_it == open_.end() ? 0 : old_it->second.place_since;
  const bool now_waiting = record.state == "waiting";
  if (old_state == "waiting" && (!now_waiting || record.place_since != old_place)) {
    withdraw(record.id, out);
  }
  put(record, out);
  if (now_waiting && (old_state != "waiting" || record.place_since != old_place)) {
    enqueue(open_.at(record.id), out);
  }
}

// --- the life of a callback ---------------------------------------------------------------------

void CallbackBook::restore(std::vector<store::Callback> open, EpochMillis now,
                           std::vector<CallbackEffect>& out) {
  for (store::Callback& r : open) {
    next_id_ = std::max(next_id_, idSequence(r.id) + 1);
    if (r.state == "done" || r.id.empty() || open_.count(r.id) != 0) continue;
    if (queueRec(r.queue) == nullptr) continue;  // its queue left the config: kept in the store
    if (r.state == "dialing") {
      if (!r.attempt_log.empty() && r.attempt_log.back().ended == 0) {
        r.attempt_log.back().ended = now;
        r.attempt_log.back().result = "interrupted";
      }
      const CallbackPolicy& p = queueRec(r.queue)->config.policy;
      if (r.attempts >= p.max_attempts) {
        r.state = "done";
        r.outcome = "failed";
      } else {
        r.state = "waiting";
      }
      r.updated_at = now;
      out.push_back(cb::Persist{r});
      if (r.state == "done") continue;
    } else if (r.state != "waiting" && r.state != "scheduled") {
      r.state = "waiting";  // an unknown state from a newer version: serve it
      r.updated_at = now;
      out.push_back(cb::Persist{r});
    }
    const bool waiting = r.state == "waiting";
    const std::string id = r.id;
    put(std::move(r), out);
    if (waiting) enqueue(open_.at(id), out);
  }
}

void CallbackBook::tick(EpochMillis now, std::vector<CallbackEffect>& out) {
  while (!due_.empty() && due_.begin()->first <= now) {
    const std::string id = due_.begin()->second;
    store::Callback r = open_.at(id);
    r.state = "waiting";
    r.due_at = 0;
    r.updated_at = now;
    out.push_back(cb::Persist{r});
    put(std::move(r), out);
    enqueue(open_.at(id), out);
  }
}

std::optional<EpochMillis> CallbackBook::nextDue() const {
  if (due_.empty()) return std::nullopt;
  return due_.begin()->first;
}

void CallbackBook::attemptStarted(engine::ContactId contact, const std::string& agent,
                                  EpochMillis now, std::vector<CallbackEffect>& out) {
  const auto it = contact_to_id_.find(contact);
  if (it == contact_to_id_.end()) return;
  store::Callback r = open_.at(it->second);
  if (r.state == "dialing") return;  // already started
  r.state = "dialing";
  ++r.attempts;
  store::CallbackAttempt a;
  a.started = now;
  a.agent = agent;
  r.attempt_log.push_back(std::move(a));
  r.updated_at = now;
  out.push_back(cb::Persist{r});
  put(std::move(r), out);
}

void CallbackBook::retryOrGiveUp(store::Callback& r, EpochMillis now) {
  const QueueRec* q = queueRec(r.queue);
  const CallbackPolicy p = q != nullptr ? q->config.policy : CallbackPolicy{};
  if (r.attempts >= p.max_attempts) {
    r.state = "done";
    r.outcome = "failed";
  } else {
    r.state = "scheduled";
    r.due_at = now + p.retry_after.count();
  }
}

void CallbackBook::attemptEnded(engine::ContactId contact, const AttemptEnd& end,
                                EpochMillis now, std::vector<CallbackEffect>& out) {
  const auto it = contact_to_id_.find(contact);
  if (it == contact_to_id_.end()) return;
  const std::string id = it->second;
  id_to_contact_.erase(id);
  contact_to_id_.erase(it);
  store::Callback r = open_.at(id);
  if (r.attempt_log.empty() || r.attempt_log.back().ended != 0) {
    // Ended before it started (the agent's side failed first): still an attempt on record.
    ++r.attempts;
    r.attempt_log.push_back(store::CallbackAttempt{now, 0, "", "", 0, ""});
  }
  store::CallbackAttempt& a = r.attempt_log.back();
  a.ended = now;
  a.result = end.result;
  a.sip_code = end.sip_code;
  a.interaction_id = end.interaction_id;
  if (end.result == "connected") {
    r.state = "done";
    r.outcome = "connected";
  } else if (end.result == "cancelled") {
    r.state = "done";
    r.outcome = "cancelled";
  } else {
    retryOrGiveUp(r, now);
  }
  r.updated_at = now;
  out.push_back(cb::Persist{r});
  put(std::move(r), out);
}

void CallbackBook::contactLost(engine::ContactId contact, const std::string& why,
                               EpochMillis now, std::vector<CallbackEffect>& out) {
  if (contact_to_id_.count(contact) == 0) return;
  AttemptEnd end;
  end.result = why;
  attemptEnded(contact, end, now, out);
}

bool CallbackBook::cancel(const std::string& id, EpochMillis now,
                          std::vector<CallbackEffect>& out) {
  const auto it = open_.find(id);
  if (it == open_.end() || it->second.state == "dialing") return false;
  withdraw(id, out);
  store::Callback r = it->second;
  r.state = "done";
  r.outcome = "cancelled";
  r.updated_at = now;
  out.push_back(cb::Persist{r});
  put(std::move(r), out);
  return true;
}

std::optional<CallbackAvailability> CallbackBook::availability(std::string_view queue,
                                                               EpochMillis now,
                                                               std::size_t max_slots) const {
  std::size_t qi = 0;
  const QueueRec* q = queueRec(queue, &qi);
  if (q == nullptr) return std::nullopt;
  const CallbackPolicy& p = q->config.policy;
  CallbackAvailability a;
  a.enabled = p.enabled;
  a.open = p.enabled && isOpenAt(*q, now) && q->open < p.max_open;
  if (!p.enabled || p.slot_capacity <= 0 || p.slot_length.count() <= 0) return a;
  const EpochMillis len = p.slot_length.count();
  const EpochMillis earliest = now + p.min_lead.count();
  EpochMillis t = slotStart(*q, earliest);
  if (t < earliest) t += len;
  const EpochMillis until = now + p.horizon_days * kDayMs;
  for (; t < until && a.slots.size() < max_slots; t += len) {
    if (!isOpenAt(*q, t) || !isOpenAt(*q, t + len - 1)) continue;
    const int free = slotFree(*q, qi, t, nullptr);
    if (free > 0) a.slots.push_back(SlotInfo{t, t + len, free});
  }
  return a;
}

// --- indexes ------------------------------------------------------------------------------------

void CallbackBook::index(const store::Callback& r) {
  by_number_[{r.queue, r.number}] = r.id;
  if (r.state == "scheduled") due_.insert({r.due_at, r.id});
  std::size_t qi = 0;
  if (const QueueRec* q = queueRec(r.queue, &qi); q != nullptr && r.scheduled_for) {
    ++booked_[{qi, slotStart(*q, *r.scheduled_for)}];
  }
}

void CallbackBook::unindex(const store::Callback& r) {
  by_number_.erase({r.queue, r.number});
  due_.erase({r.due_at, r.id});
  std::size_t qi = 0;
  if (const QueueRec* q = queueRec(r.queue, &qi); q != nullptr && r.scheduled_for) {
    const SlotKey key{qi, slotStart(*q, *r.scheduled_for)};
    if (--booked_[key] <= 0) booked_.erase(key);
  }
}

void CallbackBook::put(store::Callback record, std::vector<CallbackEffect>& out) {
  const auto it = open_.find(record.id);
  std::size_t qi = 0;
  const bool known_queue = queueRec(record.queue, &qi) != nullptr;
  if (it != open_.end()) {
    unindex(it->second);
    if (record.state == "done") {
      withdraw(record.id, out);
      open_.erase(it);
      if (known_queue) --queues_[qi].open;
      return;
    }
    it->second = std::move(record);
    index(it->second);
    return;
  }
  if (record.state == "done") return;
  if (known_queue) ++queues_[qi].open;
  const std::string id = record.id;
  index(open_.emplace(id, std::move(record)).first->second);
}

void CallbackBook::enqueue(store::Callback& r, std::vector<CallbackEffect>& out) {
  const QueueRec* q = queueRec(r.queue);
  const engine::ContactId contact{kContactBase + next_contact_++};
  contact_to_id_[contact] = r.id;
  id_to_contact_[r.id] = contact;
  cb::Enqueue e;
  e.callback_id = r.id;
  e.contact = contact;
  e.queue = r.queue;
  e.number = r.number;
  e.place_since = r.place_since;
  e.priority = r.priority;
  if (q != nullptr && q->config.policy.customer_first) {
    e.offer_timeout_extra = q->config.policy.customer_ring;
  }
  e.context = r.context;
  out.push_back(std::move(e));
}

void CallbackBook::withdraw(const std::string& id, std::vector<CallbackEffect>& out) {
  const auto it = id_to_contact_.find(id);
  if (it == id_to_contact_.end()) return;
  out.push_back(cb::Withdraw{it->second});
  contact_to_id_.erase(it->second);
  id_to_contact_.erase(it);
}

std::string CallbackBook::checkInvariants() const {
  std::map<std::pair<std::string, std::string>, std::string> numbers;
  std::set<std::pair<EpochMillis, std::string>> due;
  std::map<SlotKey, int> booked;
  std::vector<std::size_t> open_per_queue(queues_.size(), 0);
  for (const auto& [id, r] : open_) {
    if (id != r.id) return "record filed under another id: " + id;
    if (r.state != "waiting" && r.state != "scheduled" && r.state != "dialing") {
      return "open record " + id + " in state " + r.state;
    }
    if (!numbers.emplace(std::pair{r.queue, r.number}, id).second) {
      return "two open callbacks for " + r.queue + "/" + r.number;
    }
    if (r.state == "scheduled") due.insert({r.due_at, id});
    const bool has_contact = id_to_contact_.count(id) != 0;
    if ((r.state == "scheduled") == has_contact) {
      return "callback " + id + " (" + r.state + ") " +
             (has_contact ? "has" : "lacks") + " a routing contact";
    }
    std::size_t qi = 0;
    if (const QueueRec* q = queueRec(r.queue, &qi)) {
      ++open_per_queue[qi];
      if (r.scheduled_for) ++booked[{qi, slotStart(*q, *r.scheduled_for)}];
    }
  }
  if (numbers != by_number_) return "number index differs from the records";
  if (due != due_) return "due index differs from the records";
  if (booked != booked_) return "slot bookings differ from the records";
  for (std::size_t i = 0; i < queues_.size(); ++i) {
    if (open_per_queue[i] != queues_[i].open) return "open count of " + queues_[i].config.name;
    const CallbackPolicy& p = queues_[i].config.policy;
    for (const auto& [key, n] : booked_) {
      if (key.first == i && n > p.slot_capacity) return "a slot over capacity";
    }
  }
  if (contact_to_id_.size() != id_to_contact_.size()) return "contact maps differ in size";
  for (const auto& [contact, id] : contact_to_id_) {
    const auto it = id_to_contact_.find(id);
    if (it == id_to_contact_.end() || it->second != contact) return "contact maps disagree";
    if (open_.count(id) == 0) return "contact of a callback that is not open";
  }
  return {};
}

}  // namespace parley::app
