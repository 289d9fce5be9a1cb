// repo_command.cc — `walferry repo-create`: make a repository, once, for one cluster.
//
// Archiving never creates a repository by itself: with file:// on an
// unmounted filesystem it would confirm WAL onto the wrong disk, and an empty
// place must never look like "no such WAL file" to a recovery.
#include <unistd.h>

#include <CLI/CLI.hpp>
#include <memory>

#include "archive/repository.h"
#include "cli/commands.h"

namespace walferry::cli {
namespace {

struct RepoCreateArgs {
  std::string pg_data;
};

Status RunRepoCreate(const Context& ctx, const RepoCreateArgs& args) {
  WF_RETURN_IF_ERROR(config::RequireRepo(ctx.config));
  auto storage = OpenStorage(ctx.config.storage);
  if (!storage.ok()) return storage.status();
  std::string data_dir = args.pg_data;
  if (data_dir.empty()) {
    char buf[4096];
    data_dir = ::getcwd(buf, sizeof buf) ? buf : ".";
  }
  auto r = archive::CreateRepository(**storage, data_dir);
  if (!r.ok()) return r.status();
  std::fprintf(ctx.out,
               "repository %s %s the cluster with system identifier %llu (PostgreSQL %s, data "
               "directory '%s')\n",
               (*storage)->Describe().c_str(), r->created ? "created for" : "already belongs to",
               static_cast<unsigned long long>(r->identity.system_identifier),
               r->identity.pg_version.empty() ? "?" : r->identity.pg_version.c_str(),
               data_dir.c_str());
  return Status::Ok();
}

}  // namespace

Handler BindRepoCreate(CLI::App& command) {
  auto args = std::make_shared<RepoCreateArgs>();
  command.add_option("--pg-data", args->pg_data,
                     "the cluster's data directory (default: the working directory)");
  return [args](const Context& ctx) { return RunRepoCreate(ctx, *args); };
}

}  // namespace walferry::cli
