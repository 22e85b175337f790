#include "app/http_users.h"

#include <map>
#include <memory>

#include "sip/digest.h"

namespace parley::app {

namespace {

struct Credential {
  std::string password;  // plain or "sha256:<hex>"; empty when ha1 is used
  std::string ha1;       // lowercase hex, agents only
  web::Role role = web::Role::Agent;
};

}  // namespace

web::UserDirectory makeUserDirectory(const Config& config) {
  auto users = std::make_shared<std::map<std::string, Credential, std::less<>>>();
  for (const AgentEntry& a : config.agents) {
    (*users)[a.extension] = Credential{a.password, a.ha1, web::Role::Agent};
  }
  for (const HttpUser& u : config.http.users) {
    (*users)[u.name] = Credential{u.password, {}, u.role};
  }
  const std::string realm = config.sip.realm;
  return
      [users, realm](std::string_view name, std::string_view password) -> std::optional<web::Role> {
        const auto it = users->find(name);
        if (it == users->end()) {
          // The same kind of work as for a known user, so timing does not tell names apart.
          (void)web::checkPassword(
              "sha256:0000000000000000000000000000000000000000000000000000000000000000", password);
          return std::nullopt;
        }
        const Credential& c = it->second;
        const bool ok =
            c.ha1.empty()
                ? web::checkPassword(c.password, password)
                : web::checkPassword(c.ha1, sip::toHex(sip::computeHa1(name, realm, password)));
        if (!ok) return std::nullopt;
        return c.role;
      };
}

}  // namespace parley::app
