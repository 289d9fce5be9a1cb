// backup-push's libpq session: which database it connects to, how connection
// failures map to exit codes, and that a conninfo error never echoes a secret.
#include "backup/pg.h"

#include <gtest/gtest.h>

#include <map>

#include "walferry/exit_codes.h"

namespace walferry::backup {
namespace {

std::function<const char*(const char*)> Env(std::map<std::string, std::string> vars) {
  auto held = std::make_shared<std::map<std::string, std::string>>(std::move(vars));
  return [held](const char* n) -> const char* {
    auto it = held->find(n);
    return it == held->end() ? nullptr : it->second.c_str();
  };
}

std::string DbOf(const std::vector<std::pair<std::string, std::string>>& params) {
  std::string db = "(libpq default)";
  for (size_t i = 1; i < params.size(); ++i) {  // params[0] is the conninfo itself
    if (params[i].first == "dbname") db = params[i].second;
  }
  return db;
}

// Issue 10: with the usual PG* variables but no PGDATABASE, backup-push
// connected to a database named after the OS user.
TEST(PgTest, DefaultsToThePostgresDatabase) {
  EXPECT_EQ(DbOf(ConnectParams("", false, Env({{"PGHOST", "/tmp"}}))), "postgres");
  EXPECT_EQ(DbOf(ConnectParams("host=/tmp", false, Env({}))), "postgres");
  EXPECT_EQ(DbOf(ConnectParams("", false, Env({{"PGDATABASE", "app"}}))), "(libpq default)");
  EXPECT_EQ(DbOf(ConnectParams("", false, Env({{"PGSERVICE", "svc"}}))), "(libpq default)");
  EXPECT_EQ(DbOf(ConnectParams("dbname=app", true, Env({}))), "(libpq default)");
  auto p = ConnectParams("host=/tmp", false, Env({}));
  EXPECT_EQ(p[0], (std::pair<std::string, std::string>{"dbname", "host=/tmp"}));
}

TEST(PgTest, ConninfoErrorsNeverEchoThePassword) {
  // libpq's own words for "host=x password=hunter2 secretword" and similar.
  const std::string msg = "missing \"=\" after \"secretword\" in connection info string";
  std::string scrubbed = ScrubConninfoMessage(msg);
  EXPECT_EQ(scrubbed.find("secretword"), std::string::npos) << scrubbed;
  EXPECT_NE(scrubbed.find("missing \"=\" after"), std::string::npos) << scrubbed;
  scrubbed = ScrubConninfoMessage("invalid connection option \"hunter2\"");
  EXPECT_EQ(scrubbed.find("hunter2"), std::string::npos) << scrubbed;
  scrubbed = ScrubConninfoMessage("unterminated quoted string \"hunter2 in connection info");
  EXPECT_EQ(scrubbed.find("hunter2"), std::string::npos) << scrubbed;
  EXPECT_EQ(ScrubConninfoMessage("invalid value for \"sslmode\""), "invalid value for \"sslmode\"");
}

TEST(PgTest, ConnectionFailuresMapToStableExitCodes) {
  auto code = [](const std::string& why, bool needs_password = false) {
    return static_cast<int>(ExitCodeFor(ClassifyConnectFailure(why, needs_password)));
  };
  EXPECT_EQ(code("connection to server on socket \"/tmp/.s.PGSQL.5432\" failed: FATAL:  database "
                 "\"alice\" does not exist"),
            2);
  EXPECT_EQ(code("connection to server at \"127.0.0.1\", port 5432 failed: FATAL:  role \"bob\" "
                 "does not exist"),
            4);
  EXPECT_EQ(code("FATAL:  password authentication failed for user \"bob\""), 4);
  EXPECT_EQ(code("FATAL:  no pg_hba.conf entry for host \"127.0.0.1\""), 4);
  EXPECT_EQ(code("fe_sendauth: no password supplied", true), 4);
  EXPECT_EQ(code("invalid sslmode value: \"bogus\""), 2);
  EXPECT_EQ(code("connection to server at \"127.0.0.1\", port 1 failed: Connection refused"), 3);
  EXPECT_EQ(code("could not translate host name \"nohost\" to address"), 3);
  EXPECT_EQ(code("connection to server on socket \"/x/.s.PGSQL.5432\" failed: No such file or "
                 "directory"),
            3);
}

}  // namespace
}  // namespace walferry::backup
