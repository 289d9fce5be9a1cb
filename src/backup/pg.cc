#include "backup/pg.h"

#include <libpq-fe.h>

#include <cstring>

#include "common/lazy_lib.h"

namespace walferry::backup {
namespace {

std::string Trim(std::string s) {
  while (!s.empty() && (s.back() == '\n' || s.back() == ' ')) s.pop_back();
  return s;
}

}  // namespace

Result<std::unique_ptr<PgSession>> PgSession::Connect(const std::string& conninfo) {
  // libpq is loaded on first use (common/lazy_lib.h).
  WF_RETURN_IF_ERROR(LibpqAvailable());
  // A conninfo that does not parse is refused before connecting; its text is
  // never echoed (it may hold a password).
  if (!conninfo.empty()) {
    char* err = nullptr;
    PQconninfoOption* opts = PQconninfoParse(conninfo.c_str(), &err);
    if (opts == nullptr) {
      std::string why = err ? Trim(err) : "malformed";
      PQfreemem(err);
      return Status::InvalidArgument("pg-conninfo does not parse: " + why)
          .WithHint(
              "see libpq's connection strings, e.g. 'host=/var/run/postgresql dbname=postgres'");
    }
    PQconninfoFree(opts);
  }
  // expand_dbname: a dbname that looks like a conninfo is one; an empty one
  // falls back to the PG* variables.
  const char* keys[] = {"dbname", "fallback_application_name", nullptr};
  const char* values[] = {conninfo.c_str(), "walferry", nullptr};
  pg_conn* conn = PQconnectdbParams(keys, values, 1);
  if (PQstatus(conn) != CONNECTION_OK) {
    std::string why = Trim(PQerrorMessage(conn));
    const bool auth = PQconnectionNeedsPassword(conn) ||
                      why.find("authentication failed") != std::string::npos;
    PQfinish(conn);
    std::string m = "cannot connect to PostgreSQL: " + why;
    // Exit 4 for rejected credentials, 3 for a server that cannot be reached:
    // the same codes as for the repository, so cron wrappers need one table.
    return (auth ? Status::Auth(m) : Status::Unavailable(m))
        .WithHint(
            "set the PG* variables (PGHOST, PGPORT, PGUSER, PGDATABASE) or --pg-conninfo; the role "
            "needs "
            "pg_backup_start/pg_backup_stop (a superuser or a role granted EXECUTE on them)");
  }
  return std::unique_ptr<PgSession>(new PgSession(conn));
}

PgSession::~PgSession() { PQfinish(conn_); }

int PgSession::ServerVersion() const { return PQserverVersion(conn_); }

std::string PgSession::Describe() const {
  std::string host = PQhost(conn_) ? PQhost(conn_) : "";
  std::string port = PQport(conn_) ? PQport(conn_) : "";
  std::string db = PQdb(conn_) ? PQdb(conn_) : "";
  return "PostgreSQL at host=" + host + " port=" + port + " dbname=" + db;
}

Result<std::vector<std::vector<std::string>>> PgSession::Query(
    const std::string& what, const std::string& sql, const std::vector<std::string>& params) {
  std::vector<const char*> p;
  for (const auto& s : params) p.push_back(s.c_str());
  PGresult* r = PQexecParams(conn_, sql.c_str(), static_cast<int>(p.size()), nullptr,
                             p.empty() ? nullptr : p.data(), nullptr, nullptr, 0);
  ExecStatusType st = PQresultStatus(r);
  if (st != PGRES_TUPLES_OK && st != PGRES_COMMAND_OK) {
    std::string why = Trim(PQresultErrorMessage(r));
    const char* state = PQresultErrorField(r, PG_DIAG_SQLSTATE);
    std::string sqlstate = state ? state : "";
    PQclear(r);
    std::string m = what + ": " + why;
    if (PQstatus(conn_) != CONNECTION_OK) {
      return Status::Unavailable(m + " (the connection to PostgreSQL was lost)")
          .WithHint("the backup was abandoned; run backup-push again");
    }
    if (sqlstate == "42501") {
      return Status::Permission(m).WithHint(
          "run backup-push as a superuser, or GRANT EXECUTE ON FUNCTION pg_backup_start, "
          "pg_backup_stop to the role");
    }
    return Status::InvalidArgument(m);
  }
  std::vector<std::vector<std::string>> rows;
  int n = PQntuples(r), cols = PQnfields(r);
  for (int i = 0; i < n; ++i) {
    std::vector<std::string> row;
    for (int c = 0; c < cols; ++c)
      row.emplace_back(PQgetisnull(r, i, c) ? "" : PQgetvalue(r, i, c));
    rows.push_back(std::move(row));
  }
  PQclear(r);
  return rows;
}

Result<std::string> PgSession::Value(const std::string& what, const std::string& sql,
                                     const std::vector<std::string>& params) {
  auto rows = Query(what, sql, params);
  if (!rows.ok()) return rows.status();
  if (rows->empty() || rows->front().empty()) return Status::Internal(what + ": no row returned");
  return rows->front().front();
}

}  // namespace walferry::backup
