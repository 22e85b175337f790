#include "flow/interpreter.h"

#include <algorithm>
#include <deque>
#include <utility>

namespace parley::flow {

namespace {

constexpr std::int64_t kMillisPerDay = 86'400'000;

// Days since 1970-01-01 of a proleptic Gregorian date (Howard Hinnant's days_from_civil).
std::int64_t daysFromCivil(const Date& d) {
  const std::int64_t y = d.year - (d.month <= 2 ? 1 : 0);
  const std::int64_t era = (y >= 0 ? y : y - 399) / 400;
  const std::int64_t yoe = y - era * 400;
  const std::int64_t mp = (d.month + 9) % 12;
  const std::int64_t doy = (153 * mp + 2) / 5 + d.day - 1;
  const std::int64_t doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
  return era * 146097 + doe - 719468;
}

// Inverse of daysFromCivil (Hinnant's civil_from_days).
Date civilFromDays(std::int64_t z) {
  z += 719468;
  const std::int64_t era = (z >= 0 ? z : z - 146096) / 146097;
  const std::int64_t doe = z - era * 146097;
  const std::int64_t yoe = (doe - doe / 1460 + doe / 36524 - doe / 146096) / 365;
  const std::int64_t doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
  const std::int64_t mp = (5 * doy + 2) / 153;
  const int day = static_cast<int>(doy - (153 * mp + 2) / 5 + 1);
  const int month = static_cast<int>(mp < 10 ? mp + 3 : mp - 9);
  const int year = static_cast<int>(yoe + era * 400 + (month <= 2 ? 1 : 0));
  return Date{year, month, day};
}

// A broken flow's zero or negative timeout must not become a timer that is always due.
Millis atLeastMinimum(Millis d) {
  return std::max(d, kMinTimeout);
}

char normaliseKey(char c) {
  if (c >= 'a' && c <= 'd') return static_cast<char>(c - 'a' + 'A');
  return c;
}

const std::string kEmpty;

}  // namespace

Weekday weekdayOf(const Date& d) {
  // 1970-01-01 was a Thursday (index 3 with Monday = 0).
  const std::int64_t days = daysFromCivil(d);
  const std::int64_t w = ((days % 7) + 7 + 3) % 7;
  return static_cast<Weekday>(w);
}

LocalDateTime advanceBy(const LocalDateTime& t, Millis by) {
  const std::int64_t ms =
      std::max<std::int64_t>(0, by.count()) + static_cast<std::int64_t>(t.second_of_day) * 1000;
  const std::int64_t days = ms / kMillisPerDay;
  const std::int64_t rest = ms % kMillisPerDay;
  return LocalDateTime{civilFromDays(daysFromCivil(t.date) + days), static_cast<int>(rest / 1000)};
}

bool isOpen(const HoursNode& hours, const LocalDateTime& t) {
  for (const Date& d : hours.closed_dates) {
    if (d == t.date) return false;
  }
  const auto day = static_cast<std::size_t>(weekdayOf(t.date));
  const int second = t.second_of_day;
  for (const OpenRange& r : hours.schedule) {
    if (r.days[day] && second >= r.from_minute * 60 && second < r.to_minute * 60) return true;
  }
  return false;
}

std::string substitute(std::string_view text, std::string_view called, std::string_view caller,
                       const Attributes& attributes) {
  std::string out;
  out.reserve(text.size());
  std::size_t pos = 0;
  while (pos < text.size()) {  // each turn consumes at least one character
    const std::size_t open = text.find("${", pos);
    if (open == std::string_view::npos) break;
    const std::size_t close = text.find('}', open + 2);
    if (close == std::string_view::npos) break;
    out.append(text.substr(pos, open - pos));
    std::string_view name = text.substr(open + 2, close - open - 2);
    constexpr std::string_view kDigits = ":digits";
    const bool spell = name.size() > kDigits.size() && name.ends_with(kDigits);
    if (spell) name.remove_suffix(kDigits.size());
    std::string_view value;
    if (name == "called") {
      value = called;
    } else if (name == "caller") {
      value = caller;
    } else if (auto it = attributes.find(std::string(name)); it != attributes.end()) {
      value = it->second;
    }
    if (spell) {
      std::string spelled;
      for (const char c : value) {
        if (c == ' ' || c == '-' || c == '.' || c == '(' || c == ')') continue;
        if (!spelled.empty()) spelled += ' ';
        if (c == '+') {
          spelled += "plus";
        } else {
          spelled += c;
        }
      }
      out.append(spelled);
    } else {
      out.append(value);
    }
    pos = close + 1;
  }
  out.append(text.substr(std::min(pos, text.size())));
  return out;
}

std::string announcementText(std::size_t position, std::optional<Millis> expected_wait,
                             bool say_position, bool say_wait) {
  std::string text;
  if (say_position && position >= 1) {
    text = position == 1 ? "You are next in line."
                         : "You are number " + std::to_string(position) + " in line.";
  }
  if (say_wait && expected_wait && expected_wait->count() >= 0) {
    if (!text.empty()) text += ' ';
    const std::int64_t seconds = expected_wait->count() / 1000;
    if (seconds < 60) {
      text += "Your expected wait is less than a minute.";
    } else {
      const std::int64_t minutes = (seconds + 30) / 60;
      text += "Your expected wait is about " + std::to_string(minutes) +
              (minutes == 1 ? " minute." : " minutes.");
    }
  }
  return text;
}

std::string_view toString(EndReason r) {
  switch (r) {
    case EndReason::Answered:
      return "answered";
    case EndReason::HungUp:
      return "hung_up";
    case EndReason::CallerHungUp:
      return "caller_hung_up";
    case EndReason::Transferred:
      return "transferred";
    case EndReason::Error:
      return "error";
  }
  return "unknown";
}

// ------------------------------------------------------------------------------------------------

struct FlowRun::State {
  // Where the run is inside its current node.
  enum class Phase : std::uint8_t {
    Idle,           // not started
    Playing,        // play node: prompts playing
    MenuPrompt,     // menu prompt playing
    MenuWait,       // waiting for a menu key until deadline
    CollectPrompt,  // collect prompt playing
    Collecting,     // collecting digits until deadline
    ErrorPrompt,    // invalid / timeout prompt playing, then retry or fail
    Queued,         // waiting in a queue (music or announcement)
    Transferring,   // waiting for the transfer's result
    Booking,        // callback nodes: waiting for the callback's answer
    SlotsWait,      // schedule_callback: waiting for the free times
    SlotsPrompt,    // schedule_callback: the times are being read out
    SlotsChoice,    // schedule_callback: waiting for the key until deadline
    Ended,
  };

  State(std::shared_ptr<const Flow> f, CallContext c) : flow(std::move(f)), ctx(std::move(c)) {
    record.attributes = ctx.attributes;
  }

  std::shared_ptr<const Flow> flow;
  CallContext ctx;
  RunRecord record;

  Phase phase = Phase::Idle;
  TimePoint now{};
  std::string node_name;               // current node
  const Node* node = nullptr;          // current node, owned by *flow
  std::optional<std::string> pending;  // node to enter next, set by goTo
  std::size_t steps = 0;               // node entries during the current event

  PlaybackId next_playback = 1;
  std::optional<PlaybackId> playing;  // current Play / Announce, if any
  std::deque<char> type_ahead;        // keys pressed before a menu / collect wanted them
  std::optional<TimePoint> deadline;  // menu / collect timer

  // Menu and collect.
  int failures = 0;                     // failed attempts in this node
  bool fail_after_prompt = false;       // ErrorPrompt: go to on_failure (else retry) when it ends
  std::string digits;                   // collect: digits so far
  std::vector<ev::SlotChoice> choices;  // schedule_callback: the times offered

  // Queue.
  bool moh_on = false;
  bool offered = false;
  std::optional<std::size_t> position;
  std::optional<Millis> expected_wait;
  std::optional<TimePoint> announce_due;
  bool callback_offer_done = false;  // the automatic callback offer was made in this queue visit

  std::vector<Action>* out = nullptr;  // valid during start / handle only

  // --- helpers ---------------------------------------------------------------------------------
  void emit(Action a) { out->push_back(std::move(a)); }

  std::string subst(std::string_view text) const {
    return substitute(text, ctx.called, ctx.caller, record.attributes);
  }

  Prompts resolve(const Prompts& prompts) const {
    Prompts r = prompts;
    for (Prompt& p : r) {
      if (p.kind == Prompt::Kind::Tts) p.value = subst(p.value);
    }
    return r;
  }

  PlaybackId play(const Prompts& prompts, bool barge_in) {
    stopPlayback();
    const PlaybackId id = next_playback++;
    playing = id;
    emit(act::Play{id, resolve(prompts), barge_in});
    return id;
  }

  void stopPlayback() {
    if (playing) emit(act::StopPlayback{*playing});
    playing.reset();
  }

  void stopMusic() {
    if (moh_on) emit(act::StopMusicOnHold{});
    moh_on = false;
  }

  void setResult(std::string result) {
    if (!record.path.empty() && record.path.back().result.empty() &&
        record.path.back().node == node_name) {
      record.path.back().result = std::move(result);
    }
  }

  void recordDigit(char key, bool ignored) {
    if (record.digits.size() >= kMaxRecordEntries) {
      ++record.dropped;
      return;
    }
    record.digits.push_back({key, now, node_name, ignored});
  }

  void bufferKey(char key) {
    if (type_ahead.size() >= kMaxTypeAhead) {
      if (!record.digits.empty() && record.digits.back().key == key) {
        record.digits.back().ignored = true;
      }
      return;
    }
    type_ahead.push_back(key);
  }

  void goTo(const std::string& target) { pending = target; }

  // Ends the run: stops what plays, then Hangup (unless the caller already went) and Ended.
  void finish(EndReason reason, std::string detail, bool hang_up) {
    if (phase == Phase::Ended) return;
    if (reason != EndReason::CallerHungUp) {
      stopPlayback();
      stopMusic();
    }
    playing.reset();
    moh_on = false;
    if (hang_up) emit(act::Hangup{});
    phase = Phase::Ended;
    pending.reset();
    deadline.reset();
    announce_due.reset();
    type_ahead.clear();
    record.end = reason;
    record.ended = now;
    if (reason == EndReason::Error) record.error = detail;
    emit(act::Ended{reason, std::move(detail)});
    node = nullptr;
    node_name.clear();
  }

  void fail(std::string detail) { finish(EndReason::Error, std::move(detail), true); }

  // Goes to `target`, or hangs up when it is empty (an absent optional on_failure / on_exit).
  void goToOrHangUp(const std::string& target) {
    if (target.empty()) {
      finish(EndReason::HungUp, "", true);
    } else {
      goTo(target);
    }
  }

  // Enters pending nodes until one waits for the outside world, at most kMaxStepsPerEvent.
  void runPending() {
    while (pending && phase != Phase::Ended) {
      if (steps >= kMaxStepsPerEvent) {
        fail("more than " + std::to_string(kMaxStepsPerEvent) +
             " node steps without waiting for the caller (a loop in flow '" + flow->name +
             "'?), last at node '" + *pending + "'");
        return;
      }
      ++steps;
      std::string target = std::move(*pending);
      pending.reset();
      enter(target);
    }
  }

  void enter(const std::string& name) {
    const auto it = flow->nodes.find(name);
    if (it == flow->nodes.end()) {
      fail("flow '" + flow->name + "' has no node '" + name + "'");
      return;
    }
    stopPlayback();
    deadline.reset();
    node_name = name;
    node = &it->second;
    failures = 0;
    digits.clear();
    if (record.path.size() < kMaxRecordEntries) {
      record.path.push_back({name, nodeType(it->second), now, ""});
    } else {
      ++record.dropped;
    }
    std::visit([this](const auto& n) { enterNode(n); }, it->second);
  }

  // --- play --------------------------------------------------------------------------------------
  void enterNode(const PlayNode& n) {
    if (n.prompts.empty() || (n.barge_in && !type_ahead.empty())) {
      // Nothing to play (a broken flow), or a key already pressed skips a barge-in prompt.
      setResult("skipped");
      goTo(n.next);
      return;
    }
    phase = Phase::Playing;
    play(n.prompts, n.barge_in);
  }

  // --- menu --------------------------------------------------------------------------------------
  void enterNode(const MenuNode&) { presentMenu(); }

  void presentMenu() {
    const auto& n = std::get<MenuNode>(*node);
    if (!type_ahead.empty()) {
      const char key = type_ahead.front();
      type_ahead.pop_front();
      chooseMenu(key);
      return;
    }
    if (!n.prompt.empty()) {
      phase = Phase::MenuPrompt;
      play(n.prompt, n.barge_in);
    } else {
      waitForMenuKey();
    }
  }

  void waitForMenuKey() {
    phase = Phase::MenuWait;
    deadline = now + atLeastMinimum(std::get<MenuNode>(*node).timeout);
  }

  void chooseMenu(char key) {
    const auto& n = std::get<MenuNode>(*node);
    if (const auto it = n.options.find(key); it != n.options.end()) {
      setResult(std::string(1, key));
      goTo(it->second);
    } else {
      attemptFailed(false);
    }
  }

  // --- collect -----------------------------------------------------------------------------------
  void enterNode(const CollectNode&) { presentCollect(); }

  void presentCollect() {
    const auto& n = std::get<CollectNode>(*node);
    digits.clear();
    phase = Phase::Collecting;
    if (drainIntoCollect()) return;
    if (digits.empty() && !n.prompt.empty()) {
      phase = Phase::CollectPrompt;
      play(n.prompt, n.barge_in);
    } else {
      armCollectTimer();
    }
  }

  // Feeds type-ahead keys into the collect; true if that finished the attempt.
  bool drainIntoCollect() {
    while (!type_ahead.empty()) {
      const char key = type_ahead.front();
      type_ahead.pop_front();
      if (feedCollect(key)) return true;
    }
    return false;
  }

  void armCollectTimer() {
    const auto& n = std::get<CollectNode>(*node);
    phase = Phase::Collecting;
    deadline = now + atLeastMinimum(digits.empty() ? n.timeout : n.inter_digit_timeout);
  }

  // Takes one key; true if it ended the attempt (complete or failed).
  bool feedCollect(char key) {
    const auto& n = std::get<CollectNode>(*node);
    if (n.terminator && key == *n.terminator) {
      completeCollect();
      return true;
    }
    if (key >= '0' && key <= '9') {
      digits.push_back(key);
      if (static_cast<int>(digits.size()) >= n.max_digits) {
        completeCollect();
        return true;
      }
      return false;
    }
    attemptFailed(false);
    return true;
  }

  void completeCollect() {
    const auto& n = std::get<CollectNode>(*node);
    if (static_cast<int>(digits.size()) < n.min_digits) {
      attemptFailed(false);
      return;
    }
    record.attributes[n.attribute] = digits;
    emit(act::SetAttribute{n.attribute, digits});
    setResult(digits);
    goTo(n.next);
  }

  // --- menu / collect failures -------------------------------------------------------------------
  void attemptFailed(bool timeout) {
    stopPlayback();
    deadline.reset();
    type_ahead.clear();  // keys after a mistake are not trusted as type-ahead
    digits.clear();
    ++failures;
    const Prompts* prompt = nullptr;
    int retries = 0;
    if (const auto* m = std::get_if<MenuNode>(node)) {
      prompt = timeout ? &m->timeout_prompt : &m->invalid_prompt;
      retries = m->retries;
    } else if (const auto* c = std::get_if<CollectNode>(node)) {
      prompt = timeout ? &c->timeout_prompt : &c->invalid_prompt;
      retries = c->retries;
    } else {
      return;  // only menu and collect have attempts
    }
    fail_after_prompt = failures > retries;
    if (fail_after_prompt) setResult(timeout ? "timeout" : "invalid");
    if (!prompt->empty()) {
      phase = Phase::ErrorPrompt;
      play(*prompt, false);
    } else {
      afterErrorPrompt();
    }
  }

  void afterErrorPrompt() {
    if (fail_after_prompt) {
      type_ahead.clear();
      const std::string& target = std::holds_alternative<MenuNode>(*node)
                                      ? std::get<MenuNode>(*node).on_failure
                                      : std::get<CollectNode>(*node).on_failure;
      goToOrHangUp(target);
    } else if (std::holds_alternative<MenuNode>(*node)) {
      presentMenu();
    } else {
      presentCollect();
    }
  }

  void setAttribute(const std::string& name, std::string value) {
    record.attributes[name] = value;
    emit(act::SetAttribute{name, std::move(value)});
  }

  // --- set, hours --------------------------------------------------------------------------------
  void enterNode(const SetNode& n) {
    for (const Assignment& a : n.assignments) {
      std::string value = subst(a.value);
      record.attributes[a.attribute] = value;
      emit(act::SetAttribute{a.attribute, std::move(value)});
    }
    goTo(n.next);
  }

  void enterNode(const HoursNode& n) {
    if (!ctx.local_time) {
      setResult("closed (no local time)");
      goTo(n.closed);
      return;
    }
    const bool open = isOpen(n, advanceBy(*ctx.local_time, now - record.started));
    setResult(open ? "open" : "closed");
    goTo(open ? n.open : n.closed);
  }

  // --- queue -------------------------------------------------------------------------------------
  void enterNode(const QueueNode& n) {
    type_ahead.clear();  // keys in the queue are handled as they come
    phase = Phase::Queued;
    offered = false;
    position.reset();
    expected_wait.reset();
    announce_due.reset();
    if (n.announce_every > Millis{0}) announce_due = now;  // first one as soon as position known
    callback_offer_done = false;
    record.queue = n.queue;
    emit(act::Enqueue{n.queue, n.priority, n.skills, record.attributes});
    moh_on = true;
    emit(act::StartMusicOnHold{n.music});
  }

  // An announcement could start at announce_due (false while one plays, while ringing an agent,
  // or before the first position is known).
  bool announceArmed() const {
    return phase == Phase::Queued && announce_due && !playing && !offered && position;
  }

  void maybeAnnounce() {
    if (!announceArmed() || now < *announce_due) return;
    const auto& n = std::get<QueueNode>(*node);
    announce_due = now + n.announce_every;
    std::string text =
        announcementText(*position, expected_wait, n.announce_position, n.announce_wait);
    if (text.empty()) return;
    stopMusic();
    const PlaybackId id = next_playback++;
    playing = id;
    emit(act::Announce{id, *position, expected_wait, {Prompt{Prompt::Kind::Tts, std::move(text)}}});
  }

  // The callback offer, once per queue visit, when the expected wait passes the node's
  // threshold (and nothing else is playing and no agent is ringing).
  void maybeOfferCallback() {
    if (phase != Phase::Queued || callback_offer_done || playing || offered) return;
    const auto& n = std::get<QueueNode>(*node);
    if (!n.offer_callback_over || !n.callback_key || !expected_wait) return;
    if (*expected_wait <= *n.offer_callback_over) return;
    callback_offer_done = true;
    Prompts prompts = n.callback_offer_prompt;
    if (prompts.empty()) {
      const char key = *n.callback_key;
      const std::string name = key == '*' ? "star" : key == '#' ? "hash" : std::string(1, key);
      prompts.push_back(
          Prompt{Prompt::Kind::Tts,
                 "To keep your place in line and have us call you back, press " + name + "."});
    }
    stopMusic();
    play(prompts, false);
  }

  void leaveQueueTo(const std::string& target, std::string result) {
    stopPlayback();
    stopMusic();
    setResult(std::move(result));
    goToOrHangUp(target);
  }

  // --- transfer, hangup --------------------------------------------------------------------------
  void enterNode(const TransferNode& n) {
    type_ahead.clear();
    phase = Phase::Transferring;
    emit(act::Transfer{subst(n.uri)});
  }

  // --- callback, schedule_callback --------------------------------------------------------------
  std::string callbackQueue(const std::string& queue) const {
    return queue.empty() ? record.queue : subst(queue);
  }

  void enterNode(const CallbackNode& n) {
    type_ahead.clear();
    phase = Phase::Booking;
    emit(act::RequestCallback{callbackQueue(n.queue), subst(n.number), std::nullopt});
  }

  void enterNode(const ScheduleCallbackNode& n) {
    type_ahead.clear();
    failures = 0;
    choices.clear();
    phase = Phase::SlotsWait;
    emit(act::OfferSlots{callbackQueue(n.queue), n.slots});
  }

  void presentSlots() {
    const auto& n = std::get<ScheduleCallbackNode>(*node);
    Prompts prompts = n.prompt;
    std::string text;
    for (std::size_t i = 0; i < choices.size(); ++i) {
      if (!text.empty()) text += ' ';
      text += "For " + choices[i].spoken + ", press " + std::to_string(i + 1) + '.';
    }
    prompts.push_back(Prompt{Prompt::Kind::Tts, std::move(text)});
    phase = Phase::SlotsPrompt;
    play(prompts, true);
  }

  void pickSlot(char key) {
    const auto& n = std::get<ScheduleCallbackNode>(*node);
    const std::size_t i =
        key >= '1' && key <= '9' ? static_cast<std::size_t>(key - '1') : choices.size();
    if (i >= choices.size()) {
      slotAttemptFailed();
      return;
    }
    setAttribute("callback_time", choices[i].spoken);
    phase = Phase::Booking;
    emit(act::RequestCallback{callbackQueue(n.queue), subst(n.number), choices[i].at});
  }

  void slotAttemptFailed() {
    if (++failures > std::get<ScheduleCallbackNode>(*node).retries) {
      refuseCallback("no choice");
    } else {
      presentSlots();
    }
  }

  const std::string& callbackNext() const {
    return std::holds_alternative<CallbackNode>(*node) ? std::get<CallbackNode>(*node).next
                                                       : std::get<ScheduleCallbackNode>(*node).next;
  }
  const std::string& callbackOnFailure() const {
    return std::holds_alternative<CallbackNode>(*node)
               ? std::get<CallbackNode>(*node).on_failure
               : std::get<ScheduleCallbackNode>(*node).on_failure;
  }

  void refuseCallback(const std::string& reason) {
    setAttribute("callback_error", reason);
    setResult("callback refused: " + reason);
    goToOrHangUp(callbackOnFailure());
  }

  void enterNode(const HangupNode&) { finish(EndReason::HungUp, "", true); }

  // --- events ------------------------------------------------------------------------------------
  void on(const ev::PromptFinished& e) {
    if (!playing || (e.id && *e.id != *playing)) return;  // stale or nothing playing
    playing.reset();
    switch (phase) {
      case Phase::Playing:
        setResult("played");
        goTo(std::get<PlayNode>(*node).next);
        break;
      case Phase::MenuPrompt:
        if (!type_ahead.empty()) {
          presentMenu();  // takes the first buffered key
        } else {
          waitForMenuKey();
        }
        break;
      case Phase::CollectPrompt:
        phase = Phase::Collecting;
        if (!drainIntoCollect()) armCollectTimer();
        break;
      case Phase::ErrorPrompt:
        afterErrorPrompt();
        break;
      case Phase::SlotsPrompt:
        phase = Phase::SlotsChoice;
        deadline = now + atLeastMinimum(std::get<ScheduleCallbackNode>(*node).timeout);
        break;
      case Phase::Queued: {  // an announcement ended: music again
        moh_on = true;
        emit(act::StartMusicOnHold{std::get<QueueNode>(*node).music});
        break;
      }
      default:
        break;
    }
  }

  void on(const ev::Digit& e) {
    const char key = normaliseKey(e.key);
    if (!isDtmfKey(key)) return;
    switch (phase) {
      case Phase::Playing: {
        const auto& n = std::get<PlayNode>(*node);
        recordDigit(key, false);
        bufferKey(key);
        if (n.barge_in) {
          stopPlayback();
          setResult("interrupted");
          goTo(n.next);
        }
        break;
      }
      case Phase::MenuPrompt:
        recordDigit(key, false);
        if (std::get<MenuNode>(*node).barge_in) {
          stopPlayback();
          chooseMenu(key);
        } else {
          bufferKey(key);
        }
        break;
      case Phase::MenuWait:
        recordDigit(key, false);
        deadline.reset();
        chooseMenu(key);
        break;
      case Phase::CollectPrompt:
        recordDigit(key, false);
        if (std::get<CollectNode>(*node).barge_in) {
          stopPlayback();
          phase = Phase::Collecting;
          if (!feedCollect(key)) armCollectTimer();
        } else {
          bufferKey(key);
        }
        break;
      case Phase::Collecting:
        recordDigit(key, false);
        if (!feedCollect(key)) armCollectTimer();
        break;
      case Phase::ErrorPrompt:
        recordDigit(key, false);
        bufferKey(key);
        break;
      case Phase::Queued: {
        const auto& n = std::get<QueueNode>(*node);
        const bool wanted = n.callback_key && key == *n.callback_key;
        recordDigit(key, !wanted);
        if (wanted) {
          emit(act::LeaveQueue{act::LeaveQueue::Reason::CallbackKey});
          leaveQueueTo(n.on_callback, "callback");
        }
        break;
      }
      case Phase::SlotsPrompt:
      case Phase::SlotsChoice:
        recordDigit(key, false);
        stopPlayback();
        deadline.reset();
        pickSlot(key);
        break;
      default:  // transferring, booking: nobody listens
        recordDigit(key, true);
        break;
    }
  }

  void on(const ev::Tick&) {
    if (deadline && now >= *deadline) {
      deadline.reset();
      if (phase == Phase::MenuWait) {
        attemptFailed(true);
      } else if (phase == Phase::SlotsChoice) {
        slotAttemptFailed();
      } else if (phase == Phase::Collecting) {
        if (digits.empty()) {
          attemptFailed(true);
        } else {
          completeCollect();
        }
      }
    }
    maybeAnnounce();
  }

  void on(const ev::QueueUpdate& e) {
    if (phase != Phase::Queued) return;
    position = e.position;
    expected_wait = e.expected_wait;
    maybeOfferCallback();
    maybeAnnounce();
  }

  void on(const ev::ContactOffered&) {
    if (phase == Phase::Queued) offered = true;
  }

  void on(const ev::ContactRequeued&) {
    if (phase != Phase::Queued) return;
    offered = false;
    maybeAnnounce();
  }

  void on(const ev::ContactAnswered&) {
    if (phase != Phase::Queued) return;  // left the queue already: the app reconciles
    setResult("answered");
    finish(EndReason::Answered, "", false);
  }

  void on(const ev::QueueExited&) {
    if (phase != Phase::Queued) return;
    leaveQueueTo(std::get<QueueNode>(*node).on_exit, "exited");
  }

  void on(const ev::TransferCompleted&) {
    if (phase != Phase::Transferring) return;
    setResult("transferred");
    finish(EndReason::Transferred, "", false);
  }

  void on(const ev::TransferFailed& e) {
    if (phase != Phase::Transferring) return;
    setResult(e.reason.empty() ? "transfer failed" : "transfer failed: " + e.reason);
    goToOrHangUp(std::get<TransferNode>(*node).on_failure);
  }

  void on(const ev::SlotsOffered& e) {
    if (phase != Phase::SlotsWait) return;
    const auto& n = std::get<ScheduleCallbackNode>(*node);
    choices = e.slots;
    if (choices.size() > static_cast<std::size_t>(n.slots)) {
      choices.resize(static_cast<std::size_t>(n.slots));
    }
    if (choices.empty()) {
      refuseCallback("no free time");
      return;
    }
    presentSlots();
  }

  void on(const ev::CallbackResult& e) {
    if (phase != Phase::Booking) return;
    if (e.accepted) {
      setAttribute("callback_id", e.id);
      setResult("callback taken");
      goTo(callbackNext());
    } else {
      refuseCallback(e.reason);
    }
  }

  void on(const ev::CallerHungUp&) {
    setResult("caller hung up");
    finish(EndReason::CallerHungUp, "", false);
  }
};

FlowRun::FlowRun(std::shared_ptr<const Flow> flow, CallContext context)
    : s_(std::make_unique<State>(std::move(flow), std::move(context))) {}
FlowRun::~FlowRun() = default;
FlowRun::FlowRun(FlowRun&&) noexcept = default;
FlowRun& FlowRun::operator=(FlowRun&&) noexcept = default;

void FlowRun::start(TimePoint now, std::vector<Action>& out) {
  State& s = *s_;
  if (s.phase != State::Phase::Idle) return;
  s.now = now;
  s.out = &out;
  s.steps = 0;
  s.record.started = now;
  s.phase = State::Phase::Playing;  // provisional; the start node sets its own
  if (!s.flow) {
    s.fail("no flow");
  } else {
    s.goTo(s.flow->start);
    s.runPending();
  }
  s.out = nullptr;
}

void FlowRun::handle(const Event& event, TimePoint now, std::vector<Action>& out) {
  State& s = *s_;
  if (s.phase == State::Phase::Idle || s.phase == State::Phase::Ended) return;
  s.now = std::max(s.now, now);
  s.out = &out;
  s.steps = 0;
  std::visit([&s](const auto& e) { s.on(e); }, event);
  s.runPending();
  s.out = nullptr;
}

std::vector<Action> FlowRun::onEvent(const Event& event, TimePoint now) {
  std::vector<Action> out;
  handle(event, now, out);
  return out;
}

std::optional<TimePoint> FlowRun::nextDeadline() const {
  const State& s = *s_;
  std::optional<TimePoint> next = s.deadline;
  if (s.announceArmed() && (!next || *s.announce_due < *next)) next = s.announce_due;
  return next;
}

bool FlowRun::ended() const {
  return s_->phase == State::Phase::Ended;
}
const std::string& FlowRun::currentNode() const {
  return s_->node_name;
}
const RunRecord& FlowRun::record() const {
  return s_->record;
}
const Attributes& FlowRun::attributes() const {
  return s_->record.attributes;
}

}  // namespace parley::flow
