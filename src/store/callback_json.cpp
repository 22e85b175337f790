#include "store/callback_json.h"

#include <cstdint>
#include <utility>

#include "store/interaction_json.h"  // isoTime()
#include "store/json_fields.h"

namespace parley::store {

namespace {

using nlohmann::json;
using namespace json_fields;  // NOLINT: the readers shared with interaction_json.cpp

void putTime(json& j, const std::string& name, EpochMillis ms) {
  j[name] = ms;
  j[name + "_iso"] = isoTime(ms);
}

}  // namespace

nlohmann::json toJson(const Callback& cb) {
  json j = json::object();
  j["id"] = cb.id;
  j["queue"] = cb.queue;
  j["number"] = cb.number;
  j["state"] = cb.state;
  j["outcome"] = cb.outcome;
  putTime(j, "requested_at", cb.requested_at);
  putTime(j, "place_since", cb.place_since);
  if (cb.scheduled_for) {
    putTime(j, "scheduled_for", *cb.scheduled_for);
  } else {
    j["scheduled_for"] = nullptr;
    j["scheduled_for_iso"] = nullptr;
  }
  putTime(j, "due_at", cb.due_at);
  j["priority"] = cb.priority;
  j["attempts"] = cb.attempts;
  j["source"] = cb.source;
  j["source_address"] = cb.source_address;
  j["interaction_id"] = cb.interaction_id;
  j["context"] = cb.context;  // an object of strings
  json log = json::array();
  for (const CallbackAttempt& a : cb.attempt_log) {
    json attempt = {{"agent", a.agent},
                    {"result", a.result},
                    {"sip_code", a.sip_code},
                    {"interaction_id", a.interaction_id}};
    putTime(attempt, "started", a.started);
    putTime(attempt, "ended", a.ended);
    log.push_back(std::move(attempt));
  }
  j["attempt_log"] = std::move(log);
  putTime(j, "updated_at", cb.updated_at);
  return j;
}

CallbackFromJson callbackFromJson(const nlohmann::json& j) {
  CallbackFromJson out;
  if (!j.is_object()) {
    out.error = "not a JSON object";
    return out;
  }
  try {
    Callback cb;
    readString(j, "", "id", cb.id);
    readString(j, "", "queue", cb.queue);
    readString(j, "", "number", cb.number);
    readString(j, "", "state", cb.state);
    readString(j, "", "outcome", cb.outcome);
    readMillis(j, "", "requested_at", cb.requested_at);
    readMillis(j, "", "place_since", cb.place_since);
    if (member(j, "scheduled_for") != nullptr) {
      EpochMillis ms = 0;
      readMillis(j, "", "scheduled_for", ms);
      cb.scheduled_for = ms;
    }
    readMillis(j, "", "due_at", cb.due_at);
    readInt(j, "", "priority", cb.priority);
    readInt(j, "", "attempts", cb.attempts);
    readString(j, "", "source", cb.source);
    readString(j, "", "source_address", cb.source_address);
    readString(j, "", "interaction_id", cb.interaction_id);
    if (const json* c = member(j, "context")) {
      if (!c->is_object()) throw BadField{"context: not an object"};
      for (const auto& [k, v] : c->items()) {
        if (!v.is_string()) throw BadField{"context." + k + ": not a string"};
        cb.context[k] = v.get<std::string>();
      }
    }
    if (const json* log = member(j, "attempt_log")) {
      if (!log->is_array()) throw BadField{"attempt_log: not an array"};
      for (std::size_t i = 0; i < log->size(); ++i) {
        const std::string p = "attempt_log[" + std::to_string(i) + "]";
        const json& e = (*log)[i];
        if (!e.is_object()) throw BadField{p + ": not an object"};
        CallbackAttempt a;
        readMillis(e, p, "started", a.started);
        readMillis(e, p, "ended", a.ended);
        readString(e, p, "agent", a.agent);
        readString(e, p, "result", a.result);
        readInt(e, p, "sip_code", a.sip_code);
        readString(e, p, "interaction_id", a.interaction_id);
        cb.attempt_log.push_back(std::move(a));
      }
    }
    readMillis(j, "", "updated_at", cb.updated_at);
    out.callback = std::move(cb);
  } catch (const BadField& e) {
    out.error = e.what;
  }
  return out;
}

}  // namespace parley::store
