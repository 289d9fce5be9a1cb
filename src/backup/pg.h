// pg.h — the one libpq session a base backup holds open.
#pragma once

#include <functional>
#include <memory>
#include <string>
#include <utility>
#include <vector>

#include "walferry/status.h"

struct pg_conn;

namespace walferry::backup {

// The libpq keywords and values backup-push connects with: `conninfo`
// (expanded by libpq; empty: the PG* variables), then dbname=postgres when
// neither the conninfo, PGDATABASE nor a service names a database (as
// pgBackRest does; libpq's own default is a database named after the user).
// `env` looks up an environment variable (nullptr: unset).
std::vector<std::pair<std::string, std::string>> ConnectParams(
    const std::string& conninfo, bool conninfo_names_db,
    const std::function<const char*(const char*)>& env);

// A libpq message with every quoted fragment that is not a libpq keyword
// replaced by "...": a conninfo parse error quotes the text it choked on,
// which may be (part of) a password.
std::string ScrubConninfoMessage(const std::string& message);

// The Status for a failed connection with libpq's message `why`:
// kAuth (exit 4) for rejected credentials or an unknown role, kInvalidArgument
// (exit 2) for an unknown database or a bad connection setting (sslmode, an
// unknown option), kUnavailable (exit 3) for a server that cannot be reached.
Status ClassifyConnectFailure(const std::string& why, bool needs_password);

class PgSession {
 public:
  // Connects with ConnectParams(conninfo). A conninfo that does not parse is
  // kInvalidArgument, its message scrubbed (ScrubConninfoMessage); a failed
  // connection is classified by ClassifyConnectFailure.
  static Result<std::unique_ptr<PgSession>> Connect(const std::string& conninfo);
  ~PgSession();
  PgSession(const PgSession&) = delete;
  PgSession& operator=(const PgSession&) = delete;

  // Runs `sql` with text parameters; returns the rows, each a vector of
  // column texts (NULL as ""). SQL errors name `what`: insufficient
  // privilege is kPermission, a lost connection kUnavailable, anything else
  // kInvalidArgument with PostgreSQL's message.
  Result<std::vector<std::vector<std::string>>> Query(const std::string& what,
                                                      const std::string& sql,
                                                      const std::vector<std::string>& params = {});
  // One value (first column of the first row).
  Result<std::string> Value(const std::string& what, const std::string& sql,
                            const std::vector<std::string>& params = {});
  int ServerVersion() const;     // 150004 for 15.4
  std::string Describe() const;  // "host=... port=... dbname=..." without secrets

 private:
  explicit PgSession(pg_conn* conn) : conn_(conn) {}
  pg_conn* conn_;
};

}  // namespace walferry::backup
