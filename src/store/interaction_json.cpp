#include "store/interaction_json.h"

#include <ctime>
#include <utility>

#include <spdlog/fmt/fmt.h>

#include "store/json_fields.h"

namespace parley::store {

namespace {

using nlohmann::json;
using namespace json_fields;  // NOLINT: the readers shared with callback_json.cpp

// Floor division, so times before 1970 give the right second and a positive millisecond part.
std::pair<std::int64_t, int> splitMillis(EpochMillis ms) {
  std::int64_t seconds = ms / 1000;
  std::int64_t rest = ms % 1000;
  if (rest < 0) {
    rest += 1000;
    seconds -= 1;
  }
  return {seconds, static_cast<int>(rest)};
}

void putTime(json& j, const std::string& name, EpochMillis ms) {
  j[name] = ms;
  j[name + "_at"] = isoTime(ms);
}

void putOptionalTime(json& j, const std::string& name, const std::optional<EpochMillis>& ms) {
  if (ms) {
    putTime(j, name, *ms);
  } else {
    j[name] = nullptr;
    j[name + "_at"] = nullptr;
  }
}

}  // namespace

std::string isoTime(EpochMillis ms) {
  const auto [seconds, millis] = splitMillis(ms);
  const std::time_t t = static_cast<std::time_t>(seconds);
  std::tm tm{};
  if (gmtime_r(&t, &tm) == nullptr) return "";
  return fmt::format("{:04}-{:02}-{:02}T{:02}:{:02}:{:02}.{:03}Z", tm.tm_year + 1900, tm.tm_mon + 1,
                     tm.tm_mday, tm.tm_hour, tm.tm_min, tm.tm_sec, millis);
}

nlohmann::json toJson(const Interaction& in) {
  json j = json::object();
  j["id"] = in.id;
  j["channel"] = in.channel;
  j["caller"] = in.caller;
  j["called"] = in.called;
  j["entry_point"] = in.entry_point;
  j["sip_call_id"] = in.sip_call_id;
  putTime(j, "arrived", in.arrived);
  json path = json::array();
  for (const IvrStep& s : in.ivr_path) {
    json step = {{"node", s.node}, {"type", s.type}, {"result", s.result}};
    putTime(step, "entered", s.entered);
    path.push_back(std::move(step));
  }
  j["ivr_path"] = std::move(path);
  json digits = json::array();
  for (const DigitPress& d : in.digits) {
    json press = {
        {"key", std::string(1, d.key)}, {"node", d.node}, {"via", d.via}, {"ignored", d.ignored}};
    if (d.key == 0) press["key"] = "";
    putTime(press, "pressed", d.at);
    digits.push_back(std::move(press));
  }
  j["digits"] = std::move(digits);
  j["queue"] = in.queue;
  putOptionalTime(j, "enqueued", in.enqueued);
  json offers = json::array();
  for (const OfferRecord& o : in.offers) {
    json offer = {{"agent", o.agent}, {"result", o.result}, {"sip_code", o.sip_code}};
    putTime(offer, "offered", o.offered_at);
    putTime(offer, "ended", o.ended_at);
    offers.push_back(std::move(offer));
  }
  j["offers"] = std::move(offers);
  putOptionalTime(j, "answered", in.answered);
  j["agent"] = in.agent;
  putTime(j, "ended", in.ended);
  j["ended_by"] = in.ended_by;
  j["outcome"] = in.outcome;
  j["end_reason"] = in.end_reason;
  j["attributes"] = in.attributes;  // an object of strings
  j["recording"] = in.recording;
  return j;
}

InteractionFromJson fromJson(const nlohmann::json& j) {
  InteractionFromJson out;
  if (!j.is_object()) {
    out.error = "not a JSON object";
    return out;
  }
  try {
    Interaction in;
    readString(j, "", "id", in.id);
    readString(j, "", "channel", in.channel);
    readString(j, "", "caller", in.caller);
    readString(j, "", "called", in.called);
    readString(j, "", "entry_point", in.entry_point);
    readString(j, "", "sip_call_id", in.sip_call_id);
    readMillis(j, "", "arrived", in.arrived);
    readArray(j, "", "ivr_path", [&](const json& e, const std::string& p) {
      IvrStep s;
      readString(e, p, "node", s.node);
      readString(e, p, "type", s.type);
      readMillis(e, p, "entered", s.entered);
      readString(e, p, "result", s.result);
      in.ivr_path.push_back(std::move(s));
    });
    readArray(j, "", "digits", [&](const json& e, const std::string& p) {
      DigitPress d;
      std::string key;
      readString(e, p, "key", key);
      if (key.size() > 1) throw BadField{join(p, "key") + ": more than one character"};
      d.key = key.empty() ? '\0' : key[0];
      readMillis(e, p, "pressed", d.at);
      readString(e, p, "node", d.node);
      readString(e, p, "via", d.via);
      readBool(e, p, "ignored", d.ignored);
      in.digits.push_back(std::move(d));
    });
    readString(j, "", "queue", in.queue);
    readOptionalMillis(j, "", "enqueued", in.enqueued);
    readArray(j, "", "offers", [&](const json& e, const std::string& p) {
      OfferRecord o;
      readString(e, p, "agent", o.agent);
      readMillis(e, p, "offered", o.offered_at);
      readMillis(e, p, "ended", o.ended_at);
      readString(e, p, "result", o.result);
      readInt(e, p, "sip_code", o.sip_code);
      in.offers.push_back(std::move(o));
    });
    readOptionalMillis(j, "", "answered", in.answered);
    readString(j, "", "agent", in.agent);
    readMillis(j, "", "ended", in.ended);
    readString(j, "", "ended_by", in.ended_by);
    readString(j, "", "outcome", in.outcome);
    readString(j, "", "end_reason", in.end_reason);
    if (const json* a = member(j, "attributes")) {
      if (!a->is_object()) throw BadField{"attributes: not an object"};
      for (const auto& [k, v] : a->items()) {
        if (!v.is_string()) throw BadField{"attributes." + k + ": not a string"};
        in.attributes[k] = v.get<std::string>();
      }
    }
    readString(j, "", "recording", in.recording);
    out.interaction = std::move(in);
  } catch (const BadField& e) {
    out.error = e.what;
  }
  return out;
}

}  // namespace parley::store
