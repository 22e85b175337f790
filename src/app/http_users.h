// Who may log in to the HTTP API, built from the config: the users under http.users with their
// roles, and every agent with extension and SIP password (or, for agents given an ha1, any
// password whose md5("<extension>:<realm>:<password>") matches) as role agent. A name in
// http.users wins over an agent extension of the same name.
//
// Thread rule: the returned UserDirectory holds its own copy of the credentials (the Config
// may go away) and may be called from any thread.
#pragma once

#include "app/config.h"
#include "web/auth.h"

namespace parley::app {

web::UserDirectory makeUserDirectory(const Config& config);

}  // namespace parley::app
