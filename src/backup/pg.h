// pg.h — the one libpq session a base backup holds open.
#pragma once

#include <memory>
#include <string>
#include <vector>

#include "walferry/status.h"

struct pg_conn;

namespace walferry::backup {

class PgSession {
 public:
  // Connects with `conninfo` (empty: the PG* variables). A failure is
  // kInvalidArgument naming the server without the password (exit 2).
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
