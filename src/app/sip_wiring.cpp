#include "app/sip_wiring.h"

#include <chrono>

namespace parley::app {
namespace {

std::chrono::seconds wholeSeconds(Millis d) {
  return std::chrono::ceil<std::chrono::seconds>(d);
}

}  // namespace

sip::SipServerConfig toSipServerConfig(const Config& config) {
  const SipConfig& s = config.sip;
  sip::SipServerConfig out;
  out.udp_listen.clear();
  out.tcp_listen.clear();
  if (s.udp) out.udp_listen.push_back(s.udp->toString());
  if (s.tcp) out.tcp_listen.push_back(s.tcp->toString());
  sip::RegistrarConfig& r = out.registrar;
  r.realm = s.realm;
  r.min_expires = wholeSeconds(s.min_expires);
  r.max_expires = wholeSeconds(s.max_expires);
  r.default_expires = wholeSeconds(s.default_expires);
  r.max_contacts_per_aor = static_cast<std::size_t>(s.max_contacts);
  r.rate_limit.max_failures = s.auth_max_failures;
  r.rate_limit.window = wholeSeconds(s.auth_window);
  r.rate_limit.lockout = wholeSeconds(s.auth_block_for);
  r.users.reserve(config.agents.size());
  for (const AgentEntry& agent : config.agents) {
    r.users.push_back(sip::SipUser{agent.extension, agent.password, agent.ha1});
  }
  return out;
}

PhonePresence::PhonePresence(const Config& config, const EngineIds& ids) {
  for (std::size_t i = 0; i < config.agents.size() && i < ids.agents.size(); ++i) {
    if (config.agents[i].available_on_register) {
      agents_.emplace(config.agents[i].extension, ids.agents[i]);
    }
  }
}

std::optional<engine::Event> PhonePresence::eventFor(const sip::AvailabilityEvent& event) const {
  const auto it = agents_.find(event.aor);
  if (it == agents_.end()) return std::nullopt;
  if (event.available) return engine::ev::AgentLogin{it->second, true};
  return engine::ev::AgentLogout{it->second};
}

}  // namespace parley::app
