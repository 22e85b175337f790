// How the server config becomes the SIP server's config, and how a phone registering or
// unregistering becomes an engine event. Pure translations, so the serve command and the tests
// share them.
//
// Thread rule: pure values and functions; a PhonePresence may be read from any thread once
// built (the SIP loop reads it in its on_availability hook).
#pragma once

#include <optional>
#include <string>
#include <unordered_map>

#include "app/config.h"
#include "engine/engine.h"
#include "engine/events.h"
#include "sip/sip_server.h"

namespace parley::app {

// The SIP server settings of `config`: its UDP/TCP listen addresses, realm, registration
// expiry limits, contact limit, digest failure limits, and one SIP user per agent extension
// (with the agent's password or HA1). Durations are rounded up to whole seconds.
sip::SipServerConfig toSipServerConfig(const Config& config);

// Agents that log in (ready) when their phone registers: config `available_on_register`.
class PhonePresence {
 public:
  // `ids` must be what addToEngine(config, ...) returned.
  PhonePresence(const Config& config, const EngineIds& ids);

  // The engine event for an AOR becoming reachable (ev::AgentLogin, ready) or unreachable
  // (ev::AgentLogout); nullopt for an AOR that is not such an agent's extension.
  std::optional<engine::Event> eventFor(const sip::AvailabilityEvent& event) const;

 private:
  std::unordered_map<std::string, engine::AgentId> agents_;  // extension -> engine agent
};

}  // namespace parley::app
