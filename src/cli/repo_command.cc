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
#include "common/aead.h"
#include "common/key_source.h"
#include "repo/identity.h"

namespace walferry::cli {
namespace {

struct RepoCreateArgs {
  std::string pg_data;
  bool encryption = false;
};

crypto::KeySourceConfig KeySource(const config::GlobalConfig& c) {
  crypto::KeySourceConfig k;
  k.file = c.encryption_key_file;
  k.env = c.encryption_key_env;
  k.command = c.encryption_key_command;
  return k;
}

// Names the configured source in an authentication error (never its bytes).
std::string SourceName(const crypto::KeySourceConfig& k) {
  if (!k.file.empty()) return "key-encryption key from --encryption-key-file '" + k.file + "'";
  if (!k.env.empty()) return "key-encryption key from variable " + k.env;
  return "key-encryption key from --encryption-key-command";
}

Status RunRepoCreate(const Context& ctx, const RepoCreateArgs& args) {
  WF_RETURN_IF_ERROR(config::RequireRepo(ctx.config));
  auto storage = OpenStorage(ctx.config.storage);
  if (!storage.ok()) return storage.status();
  std::string data_dir = args.pg_data;
  if (data_dir.empty()) {
    char buf[4096];
    data_dir = ::getcwd(buf, sizeof buf) ? buf : ".";
  }
  repo::CreateSpec spec{data_dir, std::nullopt};
  crypto::KeySourceConfig source = KeySource(ctx.config);
  if (args.encryption) {
    if (!source.configured()) {
      return Status::InvalidArgument("repo-create --encryption needs a key-encryption key")
          .WithHint(
              "set one of --encryption-key-file, --encryption-key-env, "
              "--encryption-key-command (see walferry-repository(5))");
    }
    auto kek = crypto::LoadKek(source);  // once per process; never logged
    if (!kek.ok()) return kek.status();
    spec.kek = std::move(*kek);
  } else if (source.configured()) {
    // A configured key and a plaintext repository is a mistake waiting to
    // happen: the operator believes the data is encrypted.
    return Status::InvalidArgument(
               "a key-encryption key is configured but repo-create was not given --encryption")
        .WithHint(
            "pass --encryption to create an encrypted repository, or unset the "
            "encryption-key-* options");
  }
  auto r = repo::CreateRepository(**storage, spec);
  if (spec.kek) crypto::Cleanse(*spec.kek);
  if (!r.ok() && r.status().code() == Status::Code::kAuth)
    return r.status().Annotate(SourceName(source));
  if (!r.ok()) return r.status();
  std::fprintf(ctx.out,
               "repository %s %s the cluster with system identifier %llu (PostgreSQL %s, data "
               "directory '%s')\n",
               (*storage)->Describe().c_str(), r->created ? "created for" : "already belongs to",
               static_cast<unsigned long long>(r->identity.system_identifier),
               r->identity.pg_version.empty() ? "?" : r->identity.pg_version.c_str(),
               data_dir.c_str());
  if (r->identity.encrypted()) {
    std::fprintf(ctx.out, "encrypted (%s), repository id %s, key generation %u\n",
                 r->identity.encryption.c_str(), r->identity.repository_id.c_str(), r->generation);
  }
  return Status::Ok();
}

}  // namespace

Handler BindRepoCreate(CLI::App& command) {
  auto args = std::make_shared<RepoCreateArgs>();
  command.add_option("--pg-data", args->pg_data,
                     "the cluster's data directory (default: the working directory)");
  command.add_flag("--encryption", args->encryption,
                   "create an encrypted repository (format 2) whose keys are wrapped under the "
                   "configured key-encryption key");
  return [args](const Context& ctx) { return RunRepoCreate(ctx, *args); };
}

}  // namespace walferry::cli
