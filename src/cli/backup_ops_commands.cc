// backup_ops_commands.cc — `walferry delete` (retention) and `walferry verify`.
#include <CLI/CLI.hpp>
#include <ctime>
#include <memory>
#include <optional>

#include "backup/delete.h"
#include "backup/verify.h"
#include "cli/commands.h"

namespace walferry::cli {
namespace {

Result<std::unique_ptr<Storage>> Open(const config::GlobalConfig& cfg) {
  WF_RETURN_IF_ERROR(config::RequireRepo(cfg));
  return OpenStorage(cfg.storage);
}

struct DeleteArgs {
  CLI::Option* retain_full = nullptr;
  CLI::Option* retain_days = nullptr;
  int full = 0, days = 0;
  bool confirm = false, json = false;
};

Status RunDelete(const Context& ctx, const DeleteArgs& args) {
  backup::DeleteConfig dc;
  if (args.retain_full->count() > 0) dc.policy.retain_full = args.full;
  if (args.retain_days->count() > 0) dc.policy.retain_days = args.days;
  WF_RETURN_IF_ERROR(backup::ValidatePolicy(dc.policy));  // before any I/O: a usage error is exit 2
  dc.confirm = args.confirm;
  dc.now = static_cast<int64_t>(std::time(nullptr));
  auto storage = Open(ctx.config);
  if (!storage.ok()) return storage.status();
  auto report = backup::DeleteBackups(**storage, dc);
  if (!report.ok()) return report.status();
  std::string out =
      args.json ? backup::DeleteReportJson(*report) : backup::DeleteReportText(*report);
  std::fputs(out.c_str(), ctx.out);
  return Status::Ok();
}

struct VerifyArgs {
  std::string wal_check = "full";
  bool json = false;
};

Status RunVerify(const Context& ctx, const VerifyArgs& args) {
  auto depth = backup::ParseWalCheck(args.wal_check);
  if (!depth.ok()) return depth.status();
  auto storage = Open(ctx.config);
  if (!storage.ok()) return storage.status();
  auto report = backup::Verify(**storage, backup::VerifyConfig{ctx.config.parallel, *depth});
  if (!report.ok()) return report.status();
  std::string out =
      args.json ? backup::VerifyReportJson(*report) : backup::VerifyReportText(*report);
  std::fputs(out.c_str(), ctx.out);
  return backup::VerifyOutcome(*report);
}

}  // namespace

Handler BindDelete(CLI::App& command) {
  auto args = std::make_shared<DeleteArgs>();
  args->retain_full =
      command.add_option("--retain-full", args->full, "keep the N newest full backups")
          ->type_name("N");
  args->retain_days =
      command
          .add_option("--retain-days", args->days,
                      "keep the backups of the last D days, and the newest one before them")
          ->type_name("D");
  command.add_flag("--confirm", args->confirm,
                   "really delete (without it: a dry run that changes nothing)");
  command.add_flag("--json", args->json, "print the plan and result as JSON");
  return [args](const Context& ctx) { return RunDelete(ctx, *args); };
}

Handler BindVerify(CLI::App& command) {
  auto args = std::make_shared<VerifyArgs>();
  command
      .add_option(
          "--wal-check", args->wal_check,
          "full: read and checksum every WAL object (default); header: read only their headers")
      ->type_name("full|header");
  command.add_flag("--json", args->json, "print the report as JSON");
  return [args](const Context& ctx) { return RunVerify(ctx, *args); };
}

}  // namespace walferry::cli
