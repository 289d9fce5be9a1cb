#include "backup/pg.h"

#include <libpq-fe.h>

#include <algorithm>
#include <cstdlib>
#include <cstring>

#include "common/lazy_lib.h"

namespace walferry::backup {
namespace {

std::string Trim(std::string s) {
  while (!s.empty() && (s.back() == '\n' || s.back() == ' ')) s.pop_back();
  return s;
}

bool Has(const std::string& text, const char* what) { return text.find(what) != std::string::npos; }

constexpr const char* kKeywords[] = {"host",
                                     "hostaddr",
                                     "port",
                                     "dbname",
                                     "user",
                                     "password",
                                     "passfile",
                                     "channel_binding",
                                     "connect_timeout",
                                     "client_encoding",
                                     "options",
                                     "application_name",
                                     "fallback_application_name",
                                     "keepalives",
                                     "keepalives_idle",
                                     "keepalives_interval",
                                     "keepalives_count",
                                     "tcp_user_timeout",
                                     "replication",
                                     "gssencmode",
                                     "sslmode",
                                     "requiressl",
                                     "sslcompression",
                                     "sslcert",
                                     "sslkey",
                                     "sslpassword",
                                     "sslcertmode",
                                     "sslrootcert",
                                     "sslcrl",
                                     "sslcrldir",
                                     "sslsni",
                                     "requirepeer",
                                     "ssl_min_protocol_version",
                                     "ssl_max_protocol_version",
                                     "krbsrvname",
                                     "gsslib",
                                     "gssdelegation",
                                     "service",
                                     "target_session_attrs",
                                     "load_balance_hosts",
                                     "require_auth",
                                     "sslnegotiation",
                                     "=",
                                     "&"};

}  // namespace

std::string ScrubConninfoMessage(const std::string& message) {
  std::string out;
  size_t i = 0;
  while (i < message.size()) {
    size_t open = message.find('"', i);
    size_t close = open == std::string::npos ? std::string::npos : message.find('"', open + 1);
    if (close == std::string::npos) {
      // An unpaired quote: everything after it may be the secret.
      out += message.substr(i, open == std::string::npos ? std::string::npos : open - i);
      if (open != std::string::npos) out += "\"...\"";
      break;
    }
    out += message.substr(i, open - i + 1);
    std::string inner = message.substr(open + 1, close - open - 1);
    bool keyword = std::any_of(std::begin(kKeywords), std::end(kKeywords),
                               [&](const char* k) { return inner == k; });
    out += keyword ? inner : "...";
    out += '"';
    i = close + 1;
  }
  return out;
}

std::vector<std::pair<std::string, std::string>> ConnectParams(
    const std::string& conninfo, bool conninfo_names_db,
    const std::function<const char*(const char*)>& env) {
  std::vector<std::pair<std::string, std::string>> params = {
      {"dbname", conninfo}, {"fallback_application_name", "walferry"}};
  auto set = [&](const char* name) {
    const char* v = env(name);
    return v != nullptr && *v != '\0';
  };
  if (!conninfo_names_db && !set("PGDATABASE") && !set("PGSERVICE")) {
    // A later dbname is a plain name that overrides nothing the conninfo set.
    params.emplace_back("dbname", "postgres");
  }
  return params;
}

Status ClassifyConnectFailure(const std::string& why, bool needs_password) {
  std::string m = "cannot connect to PostgreSQL: " + why;
  const char* who =
      "set the PG* variables (PGHOST, PGPORT, PGUSER, PGDATABASE) or --pg-conninfo; the role "
      "needs pg_backup_start/pg_backup_stop (a superuser or a role granted EXECUTE on them)";
  if (Has(why, "role \"") && Has(why, "does not exist")) {
    return Status::Auth(m).WithHint(
        "the role does not exist on the server: set PGUSER or user= in --pg-conninfo");
  }
  if (Has(why, "database \"") && Has(why, "does not exist")) {
    return Status::InvalidArgument(m).WithHint(
        "the database does not exist on the server: set PGDATABASE or dbname= in --pg-conninfo "
        "(without either, backup-push connects to 'postgres')");
  }
  if (needs_password || Has(why, "authentication failed") || Has(why, "no pg_hba.conf entry") ||
      Has(why, "password") || Has(why, "pg_hba.conf rejects") ||
      Has(why, "permission denied for database") || Has(why, "not permitted to log in")) {
    return Status::Auth(m).WithHint(who);
  }
  if (Has(why, "invalid ") || Has(why, "unrecognized") || Has(why, "not compiled in") ||
      Has(why, "server does not support SSL") || Has(why, "missing \"=\"")) {
    return Status::InvalidArgument(m).WithHint(
        "a connection setting is wrong: check --pg-conninfo and the PG* variables (PGSSLMODE, "
        "...)");
  }
  return Status::Unavailable(m).WithHint(who);
}

Result<std::unique_ptr<PgSession>> PgSession::Connect(const std::string& conninfo) {
  // libpq is loaded on first use (common/lazy_lib.h).
  WF_RETURN_IF_ERROR(LibpqAvailable());
  // A conninfo that does not parse is refused before connecting; its text is
  // never echoed (it may hold a password).
  bool names_db = false;
  if (!conninfo.empty()) {
    char* err = nullptr;
    PQconninfoOption* opts = PQconninfoParse(conninfo.c_str(), &err);
    if (opts == nullptr) {
      std::string why = err ? ScrubConninfoMessage(Trim(err)) : "malformed";
      if (err) PQfreemem(err);
      return Status::InvalidArgument("pg-conninfo does not parse: " + why)
          .WithHint(
              "see libpq's connection strings, e.g. 'host=/var/run/postgresql dbname=postgres'");
    }
    for (PQconninfoOption* o = opts; o->keyword != nullptr; ++o) {
      if ((std::strcmp(o->keyword, "dbname") == 0 || std::strcmp(o->keyword, "service") == 0) &&
          o->val != nullptr && *o->val != '\0')
        names_db = true;
    }
    PQconninfoFree(opts);
  }
  // expand_dbname: a dbname that looks like a conninfo is one; an empty one
  // falls back to the PG* variables.
  auto params = ConnectParams(conninfo, names_db, [](const char* n) { return std::getenv(n); });
  std::vector<const char*> keys, values;
  for (const auto& [k, v] : params) {
    keys.push_back(k.c_str());
    values.push_back(v.c_str());
  }
  keys.push_back(nullptr);
  values.push_back(nullptr);
  pg_conn* conn = PQconnectdbParams(keys.data(), values.data(), 1);
  if (PQstatus(conn) != CONNECTION_OK) {
    std::string why = Trim(PQerrorMessage(conn));  // the conninfo parsed: no secret in it
    const bool needs_password = PQconnectionNeedsPassword(conn);
    PQfinish(conn);
    // Exit 4 for rejected credentials, 3 for a server that cannot be reached:
    // the same codes as for the repository, so cron wrappers need one table.
    return ClassifyConnectFailure(why, needs_password);
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
