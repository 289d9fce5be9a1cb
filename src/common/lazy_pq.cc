// The PQ* functions walferry calls, with the exact signatures of
// <libpq-fe.h>, forwarding to libpq.so.5 loaded on first use (see lazy_lib.h).
// If libpq cannot be loaded, each returns libpq's own failure value
// (nullptr, CONNECTION_BAD, ...) and LibpqAvailable() says why.

#include <libpq-fe.h>

#include "common/lazy_lib.h"

// clang-format does not settle on one layout for this list: left as written.
// clang-format off
#define WALFERRY_PQ_FUNCTIONS(X)                                                              \
  X(PQlibVersion)                                                                             \
  X(PQconninfoParse) X(PQconninfoFree) X(PQfreemem) X(PQconnectdbParams) X(PQstatus)          \
      X(PQerrorMessage) X(PQconnectionNeedsPassword) X(PQfinish) X(PQserverVersion) X(PQhost) \
          X(PQport) X(PQdb) X(PQexecParams) X(PQresultStatus) X(PQresultErrorMessage)         \
              X(PQresultErrorField) X(PQntuples) X(PQnfields) X(PQgetvalue) X(PQgetisnull)    \
                  X(PQclear)
// clang-format on

namespace walferry {
namespace {

#define WALFERRY_NAME(f) #f,
constexpr const char* kNames[] = {WALFERRY_PQ_FUNCTIONS(WALFERRY_NAME)};
#undef WALFERRY_NAME
#define WALFERRY_INDEX(f) k_##f,
enum : size_t { WALFERRY_PQ_FUNCTIONS(WALFERRY_INDEX) kCount };
#undef WALFERRY_INDEX
static_assert(sizeof(kNames) / sizeof(kNames[0]) == kCount);

LazyLibrary& Libpq() {
  static LazyLibrary lib("libpq.so.5", "libpq5", kNames, kCount);
  return lib;
}

char kUnavailable[] = "libpq.so.5 could not be loaded\n";

}  // namespace

Status LibpqAvailable() { return Libpq().Available(); }

}  // namespace walferry

// Defines `ret f params` forwarding `args` to the real f, or returning
// `fallback` when libpq is not loaded.
#define WALFERRY_FORWARD(ret, f, params, args, fallback)                                     \
  ret f params {                                                                             \
    auto real = reinterpret_cast<decltype(&::f)>(walferry::Libpq().Symbol(walferry::k_##f)); \
    if (real == nullptr) return fallback;                                                    \
    return real args;                                                                        \
  }

extern "C" {

WALFERRY_FORWARD(int, PQlibVersion, (void), (), 0)
PQconninfoOption* PQconninfoParse(const char* conninfo, char** errmsg) {
  auto real = reinterpret_cast<decltype(&::PQconninfoParse)>(
      walferry::Libpq().Symbol(walferry::k_PQconninfoParse));
  if (real != nullptr) return real(conninfo, errmsg);
  if (errmsg != nullptr) *errmsg = nullptr;  // as libpq does when out of memory
  return nullptr;
}
WALFERRY_FORWARD(void, PQconninfoFree, (PQconninfoOption * connOptions), (connOptions), void())
WALFERRY_FORWARD(void, PQfreemem, (void* ptr), (ptr), void())
WALFERRY_FORWARD(PGconn*, PQconnectdbParams,
                 (const char* const* keywords, const char* const* values, int expand_dbname),
                 (keywords, values, expand_dbname), nullptr)
WALFERRY_FORWARD(ConnStatusType, PQstatus, (const PGconn* conn), (conn), CONNECTION_BAD)
WALFERRY_FORWARD(char*, PQerrorMessage, (const PGconn* conn), (conn), walferry::kUnavailable)
WALFERRY_FORWARD(int, PQconnectionNeedsPassword, (const PGconn* conn), (conn), 0)
WALFERRY_FORWARD(void, PQfinish, (PGconn * conn), (conn), void())
WALFERRY_FORWARD(int, PQserverVersion, (const PGconn* conn), (conn), 0)
WALFERRY_FORWARD(char*, PQhost, (const PGconn* conn), (conn), nullptr)
WALFERRY_FORWARD(char*, PQport, (const PGconn* conn), (conn), nullptr)
WALFERRY_FORWARD(char*, PQdb, (const PGconn* conn), (conn), nullptr)
WALFERRY_FORWARD(PGresult*, PQexecParams,
                 (PGconn * conn, const char* command, int nParams, const Oid* paramTypes,
                  const char* const* paramValues, const int* paramLengths, const int* paramFormats,
                  int resultFormat),
                 (conn, command, nParams, paramTypes, paramValues, paramLengths, paramFormats,
                  resultFormat),
                 nullptr)
WALFERRY_FORWARD(ExecStatusType, PQresultStatus, (const PGresult* res), (res), PGRES_FATAL_ERROR)
WALFERRY_FORWARD(char*, PQresultErrorMessage, (const PGresult* res), (res), walferry::kUnavailable)
WALFERRY_FORWARD(char*, PQresultErrorField, (const PGresult* res, int fieldcode), (res, fieldcode),
                 nullptr)
WALFERRY_FORWARD(int, PQntuples, (const PGresult* res), (res), 0)
WALFERRY_FORWARD(int, PQnfields, (const PGresult* res), (res), 0)
WALFERRY_FORWARD(char*, PQgetvalue, (const PGresult* res, int tup_num, int field_num),
                 (res, tup_num, field_num), walferry::kUnavailable)
WALFERRY_FORWARD(int, PQgetisnull, (const PGresult* res, int tup_num, int field_num),
                 (res, tup_num, field_num), 1)
WALFERRY_FORWARD(void, PQclear, (PGresult * res), (res), void())

}  // extern "C"
