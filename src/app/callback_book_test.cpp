#include "app/callback_book.h"

#include <gtest/gtest.h>

#include <algorithm>
#include <chrono>
#include <random>

namespace parley::app {
namespace {

using engine::Millis;

// UTC as the local time (the book only needs a function from instant to wall time).
flow::LocalDateTime utc(EpochMillis t) {
  using namespace std::chrono;
  const sys_days day = floor<days>(sys_time<milliseconds>(milliseconds(t)));
  const year_month_day ymd(day);
  flow::LocalDateTime lt;
  lt.date = flow::Date{static_cast<int>(ymd.year()), static_cast<int>(unsigned(ymd.month())),
                       static_cast<int>(unsigned(ymd.day()))};
  lt.second_of_day = static_cast<int>((t - day.time_since_epoch().count() * 86'400'000) / 1000);
  return lt;
}

// Monday 2026-11-23 00:00 UTC.
constexpr EpochMillis kMonday = 1'795'392'000'000;
constexpr EpochMillis kHour = 3'600'000;
constexpr EpochMillis kMinute = 60'000;

flow::OpenRange weekdays(int from_h, int to_h) {
  flow::OpenRange r;
  for (int d = 0; d < 5; ++d) r.days[static_cast<std::size_t>(d)] = true;
  r.from_minute = from_h * 60;
  r.to_minute = to_h * 60;
  return r;
}

CallbackPolicy salesPolicy() {
  CallbackPolicy p;
  p.enabled = true;
  p.max_attempts = 3;
  p.retry_after = Millis{5 * kMinute};
  p.schedule = {weekdays(9, 17)};
  p.slot_length = Millis{30 * kMinute};
  p.slot_capacity = 2;
  p.min_lead = Millis{15 * kMinute};
  return p;
}

struct Fixture {
  CallbackBook book{{{"sales", salesPolicy()}, {"support", CallbackPolicy{}}}, utc};
  std::vector<CallbackEffect> out;

  // decide + commit, as the driver does after writing the record.
  BookDecision ask(CallbackRequest r, EpochMillis now) {
    BookDecision d = book.decide(r, now);
    if (d.record) book.commit(*d.record, now, out);
    return d;
  }
  template <typename T>
  std::vector<T> effects() const {
    std::vector<T> v;
    for (const auto& e : out) {
      if (const auto* p = std::get_if<T>(&e)) v.push_back(*p);
    }
    return v;
  }
};

CallbackRequest now(std::string number, std::optional<EpochMillis> place = std::nullopt) {
  CallbackRequest r;
  r.queue = "sales";
  r.number = std::move(number);
  r.place_since = place;
  r.source = "ivr";
  return r;
}

CallbackRequest later(std::string number, EpochMillis at) {
  CallbackRequest r = now(std::move(number));
  r.at = at;
  r.source = "web";
  return r;
}

TEST(CallbackBook, CallMeNowEntersTheQueueKeepingTheCallersPlace) {
  Fixture f;
  const EpochMillis t = kMonday + 10 * kHour;
  const BookDecision d = f.ask(now("+441234", t - 6 * kMinute), t);
  ASSERT_EQ(d.status, BookStatus::Created);
  const auto enq = f.effects<cb::Enqueue>();
  ASSERT_EQ(enq.size(), 1u);
  EXPECT_EQ(enq[0].place_since, t - 6 * kMinute);
  EXPECT_EQ(enq[0].queue, "sales");
  EXPECT_EQ(enq[0].number, "+441234");
  EXPECT_GE(engine::index(enq[0].contact), CallbackBook::kContactBase);
  EXPECT_EQ(f.book.byContact(enq[0].contact)->id, d.record->id);
  EXPECT_EQ(f.book.checkInvariants(), "");
}

TEST(CallbackBook, SecondRequestForTheSameNumberAndQueueUpdatesTheFirst) {
  Fixture f;
  const EpochMillis t = kMonday + 10 * kHour;
  const BookDecision first = f.ask(now("+441234", t - kMinute), t);
  CallbackRequest again = now("+441234");
  again.context["page_url"] = "https://example.com/mortgage";
  const BookDecision second = f.ask(again, t + kMinute);
  EXPECT_EQ(second.status, BookStatus::Updated);
  EXPECT_EQ(second.record->id, first.record->id);
  EXPECT_EQ(f.book.openCount(), 1u);
  EXPECT_EQ(f.book.find(first.record->id)->context.at("page_url"),
            "https://example.com/mortgage");
  // Its place is kept: one contact was enqueued, none withdrawn.
  EXPECT_EQ(f.effects<cb::Enqueue>().size(), 1u);
  EXPECT_TRUE(f.effects<cb::Withdraw>().empty());
  // Another queue is another callback.
  CallbackRequest other = now("+441234");
  other.queue = "support";
  EXPECT_EQ(f.book.decide(other, t).status, BookStatus::Disabled);
  EXPECT_EQ(f.book.checkInvariants(), "");
}

TEST(CallbackBook, ClosedQueueRefusesCallMeNowButBooksTheNextDay) {
  Fixture f;
  const EpochMillis evening = kMonday + 20 * kHour;
  const BookDecision d = f.ask(now("+441234"), evening);
  EXPECT_EQ(d.status, BookStatus::Closed);
  EXPECT_FALSE(d.accepted());
  const auto a = f.book.availability("sales", evening);
  ASSERT_TRUE(a);
  EXPECT_FALSE(a->open);
  ASSERT_FALSE(a->slots.empty());
  EXPECT_EQ(a->slots.front().start, kMonday + 24 * kHour + 9 * kHour);  // Tuesday 09:00
  EXPECT_EQ(a->slots.front().free, 2);
  const BookDecision booked = f.ask(later("+441234", a->slots.front().start), evening);
  EXPECT_EQ(booked.status, BookStatus::Created);
  EXPECT_EQ(booked.record->state, "scheduled");
  EXPECT_TRUE(f.effects<cb::Enqueue>().empty());
  EXPECT_EQ(f.book.availability("sales", evening)->slots.front().free, 1);
}

TEST(CallbackBook, SlotsRefuseBookingsBeyondTheirCapacity) {
  Fixture f;
  const EpochMillis t = kMonday + 10 * kHour;
  const EpochMillis slot = kMonday + 14 * kHour;
  EXPECT_EQ(f.ask(later("+441", slot), t).status, BookStatus::Created);
  EXPECT_EQ(f.ask(later("+442", slot + 10 * kMinute), t).status, BookStatus::Created);
  const BookDecision third = f.ask(later("+443", slot + 20 * kMinute), t);
  EXPECT_EQ(third.status, BookStatus::NoSlot);
  EXPECT_EQ(third.message, "that time is fully booked");
  // Moving a booking to another slot frees its old one.
  EXPECT_EQ(f.ask(later("+441", slot + kHour), t).status, BookStatus::Updated);
  EXPECT_EQ(f.ask(later("+443", slot), t).status, BookStatus::Created);
  EXPECT_EQ(f.book.checkInvariants(), "");
  // Outside hours, too soon, too far.
  EXPECT_EQ(f.ask(later("+444", kMonday + 18 * kHour), t).status, BookStatus::NoSlot);
  EXPECT_EQ(f.ask(later("+444", t + 5 * kMinute), t).status, BookStatus::NoSlot);
  EXPECT_EQ(f.ask(later("+444", t + 8 * 24 * kHour), t).status, BookStatus::NoSlot);
}

TEST(CallbackBook, BookedCallbackEntersItsQueueAtItsTimeWithPriority) {
  Fixture f;
  const EpochMillis t = kMonday + 10 * kHour;
  const EpochMillis at = kMonday + 14 * kHour;
  f.ask(later("+441", at), t);
  EXPECT_EQ(f.book.nextDue(), at);
  f.book.tick(at - 1, f.out);
  EXPECT_TRUE(f.effects<cb::Enqueue>().empty());
  f.book.tick(at, f.out);
  const auto enq = f.effects<cb::Enqueue>();
  ASSERT_EQ(enq.size(), 1u);
  EXPECT_EQ(enq[0].place_since, at);
  EXPECT_EQ(enq[0].priority, salesPolicy().scheduled_priority);
  // The state change was written before the enqueue.
  ASSERT_GE(f.out.size(), 2u);
  const auto* persist = std::get_if<cb::Persist>(&f.out[f.out.size() - 2]);
  ASSERT_NE(persist, nullptr);
  EXPECT_EQ(persist->record.state, "waiting");
  EXPECT_FALSE(f.book.nextDue());
  EXPECT_EQ(f.book.checkInvariants(), "");
}

TEST(CallbackBook, UnansweredAttemptsRetryAfterTheGapThenGiveUp) {
  Fixture f;
  EpochMillis t = kMonday + 10 * kHour;
  const std::string id = f.ask(now("+441"), t).record->id;
  for (int attempt = 1; attempt <= 3; ++attempt) {
    const auto enq = f.effects<cb::Enqueue>();
    ASSERT_EQ(enq.size(), static_cast<std::size_t>(attempt));
    const engine::ContactId contact = enq.back().contact;
    EXPECT_EQ(enq.back().place_since, kMonday + 10 * kHour);  // its place is kept
    f.book.attemptStarted(contact, "1001", t, f.out);
    EXPECT_EQ(f.book.find(id)->state, "dialing");
    f.book.attemptEnded(contact, AttemptEnd{"no-answer", 480, "call-9"}, t + kMinute, f.out);
    EXPECT_EQ(f.book.checkInvariants(), "");
    if (attempt < 3) {
      EXPECT_EQ(f.book.find(id)->state, "scheduled");
      EXPECT_EQ(f.book.nextDue(), t + kMinute + 5 * kMinute);
      t = *f.book.nextDue();
      f.book.tick(t, f.out);
    }
  }
  EXPECT_EQ(f.book.find(id), nullptr);
  const auto persists = f.effects<cb::Persist>();
  ASSERT_FALSE(persists.empty());
  const store::Callback& last = persists.back().record;
  EXPECT_EQ(last.state, "done");
  EXPECT_EQ(last.outcome, "failed");
  ASSERT_EQ(last.attempt_log.size(), 3u);
  EXPECT_EQ(last.attempt_log[0].result, "no-answer");
  EXPECT_EQ(last.attempt_log[0].sip_code, 480);
  EXPECT_EQ(last.attempt_log[0].agent, "1001");
}

TEST(CallbackBook, ConnectedAttemptIsDone) {
  Fixture f;
  const EpochMillis t = kMonday + 10 * kHour;
  const std::string id = f.ask(now("+441"), t).record->id;
  const engine::ContactId contact = f.effects<cb::Enqueue>().back().contact;
  f.book.attemptStarted(contact, "1001", t, f.out);
  f.book.attemptEnded(contact, AttemptEnd{"connected", 200, "call-1"}, t + kMinute, f.out);
  EXPECT_EQ(f.book.openCount(), 0u);
  EXPECT_EQ(f.effects<cb::Persist>().back().record.outcome, "connected");
  // A new request for the number is a new callback.
  EXPECT_EQ(f.ask(now("+441"), t + kHour).status, BookStatus::Created);
}

TEST(CallbackBook, RestartRequeuesWaitingAndInterruptedButNeverTheDone) {
  Fixture f;
  // What the store holds: each record as last written (by the driver before commit(), then by
  // Persist effects).
  std::map<std::string, store::Callback> stored;
  const auto write = [&](const BookDecision& d) { stored[d.record->id] = *d.record; };
  const EpochMillis t = kMonday + 10 * kHour;
  write(f.ask(now("+441", t - 3 * kMinute), t));
  write(f.ask(now("+442", t - 2 * kMinute), t));
  write(f.ask(later("+443", kMonday + 15 * kHour), t));
  const engine::ContactId dialing = f.effects<cb::Enqueue>()[1].contact;
  f.book.attemptStarted(dialing, "1001", t + kMinute, f.out);
  for (const auto& e : f.out) {
    if (const auto* p = std::get_if<cb::Persist>(&e)) stored[p->record.id] = p->record;
  }
  store::Callback done = stored.begin()->second;
  done.id = "cb-77-1";
  done.number = "+449";
  done.state = "done";
  done.outcome = "connected";
  stored[done.id] = done;
  std::vector<store::Callback> from_store;
  for (const auto& [id, r] : stored) from_store.push_back(r);

  Fixture after;
  const EpochMillis restart = t + 2 * kMinute;
  after.book.restore(from_store, restart, after.out);
  EXPECT_EQ(after.book.checkInvariants(), "");
  EXPECT_EQ(after.book.openCount(), 3u);
  auto enq = after.effects<cb::Enqueue>();
  ASSERT_EQ(enq.size(), 2u);
  std::sort(enq.begin(), enq.end(),
            [](const cb::Enqueue& a, const cb::Enqueue& b) { return a.number < b.number; });
  EXPECT_EQ(enq[0].number, "+441");
  EXPECT_EQ(enq[0].place_since, t - 3 * kMinute);
  EXPECT_EQ(enq[1].number, "+442");
  EXPECT_EQ(enq[1].place_since, t - 2 * kMinute);
  const auto persists = after.effects<cb::Persist>();
  ASSERT_EQ(persists.size(), 1u);
  EXPECT_EQ(persists[0].record.number, "+442");
  EXPECT_EQ(persists[0].record.attempt_log.back().result, "interrupted");
  EXPECT_EQ(persists[0].record.state, "waiting");
  EXPECT_EQ(after.book.nextDue(), kMonday + 15 * kHour);
  // Ids go on after the restored ones.
  EXPECT_EQ(after.ask(now("+445"), restart).record->id.rfind("cb-78-", 0), 0u);
}

TEST(CallbackBook, CancelTakesAWaitingCallbackOutOfItsQueue) {
  Fixture f;
  const EpochMillis t = kMonday + 10 * kHour;
  const std::string id = f.ask(now("+441"), t).record->id;
  const engine::ContactId contact = f.effects<cb::Enqueue>().back().contact;
  EXPECT_TRUE(f.book.cancel(id, t + kMinute, f.out));
  const auto w = f.effects<cb::Withdraw>();
  ASSERT_EQ(w.size(), 1u);
  EXPECT_EQ(w[0].contact, contact);
  EXPECT_EQ(f.effects<cb::Persist>().back().record.outcome, "cancelled");
  EXPECT_FALSE(f.book.cancel(id, t + kMinute, f.out));
  EXPECT_EQ(f.book.checkInvariants(), "");
}

TEST(CallbackBook, MovingFromLaterToNowEntersTheQueue) {
  Fixture f;
  const EpochMillis t = kMonday + 10 * kHour;
  f.ask(later("+441", kMonday + 15 * kHour), t);
  EXPECT_TRUE(f.effects<cb::Enqueue>().empty());
  EXPECT_EQ(f.ask(now("+441"), t + kMinute).status, BookStatus::Updated);
  ASSERT_EQ(f.effects<cb::Enqueue>().size(), 1u);
  EXPECT_FALSE(f.book.nextDue());
  EXPECT_EQ(f.book.availability("sales", t)->slots.front().free, 2);
  EXPECT_EQ(f.book.checkInvariants(), "");
}

TEST(SpokenTime, SaysTodayTomorrowTheWeekdayOrTheDate) {
  const flow::Date monday{2026, 11, 23};
  const auto at = [](flow::Date d, int h, int m) {
    return flow::LocalDateTime{d, h * 3600 + m * 60};
  };
  EXPECT_EQ(spokenTime(at(monday, 15, 0), monday), "today at 3 PM");
  EXPECT_EQ(spokenTime(at({2026, 11, 24}, 9, 15), monday), "tomorrow at 9:15 AM");
  EXPECT_EQ(spokenTime(at({2026, 11, 27}, 12, 0), monday), "Friday at noon");
  EXPECT_EQ(spokenTime(at({2026, 12, 3}, 0, 5), monday), "December 3 at 12:05 AM");
  EXPECT_EQ(spokenTime(at({2027, 1, 1}, 10, 30), {2026, 12, 31}), "tomorrow at 10:30 AM");
}

// Random requests, ticks, attempts and cancels: the indexes always match the records, no slot
// is over capacity, no number has two open callbacks, and every callback ends at most once.
TEST(CallbackBookProperty, RandomLivesKeepEveryInvariant) {
  for (std::uint32_t seed = 1; seed <= 20; ++seed) {
    std::mt19937 rng(seed);
    Fixture f;
    EpochMillis t = kMonday + 9 * kHour;
    std::vector<engine::ContactId> live;
    std::map<std::string, int> ends;
    for (int step = 0; step < 400; ++step) {
      t += std::uniform_int_distribution<EpochMillis>(0, 3 * kMinute)(rng);
      const std::string number = "+44" + std::to_string(rng() % 12);
      switch (rng() % 6) {
        case 0: f.ask(now(number), t); break;
        case 1: {
          const auto a = f.book.availability("sales", t);
          if (a && !a->slots.empty()) {
            f.ask(later(number, a->slots[rng() % a->slots.size()].start), t);
          }
          break;
        }
        case 2: f.book.tick(t, f.out); break;
        case 3:
          if (!f.out.empty()) {
            const auto enq = f.effects<cb::Enqueue>();
            const auto& e = enq.empty() ? cb::Enqueue{} : enq[rng() % enq.size()];
            f.book.attemptStarted(e.contact, "1001", t, f.out);
          }
          break;
        case 4: {
          const auto enq = f.effects<cb::Enqueue>();
          if (!enq.empty()) {
            const char* results[] = {"connected", "no-answer", "busy", "failed"};
            f.book.attemptEnded(enq[rng() % enq.size()].contact,
                                AttemptEnd{results[rng() % 4], 0, ""}, t, f.out);
          }
          break;
        }
        case 5: {
          const auto enq = f.effects<cb::Enqueue>();
          if (!enq.empty()) f.book.cancel(enq[rng() % enq.size()].callback_id, t, f.out);
          break;
        }
      }
      ASSERT_EQ(f.book.checkInvariants(), "") << "seed " << seed << " step " << step;
    }
    for (const auto& e : f.out) {
      if (const auto* p = std::get_if<cb::Persist>(&e); p && p->record.state == "done") {
        ++ends[p->record.id];
      }
    }
    for (const auto& [id, n] : ends) EXPECT_EQ(n, 1) << id << " ended twice, seed " << seed;
  }
}

}  // namespace
}  // namespace parley::app
