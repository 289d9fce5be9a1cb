// Tests of the rules behind `walferry check` through PostgreSQL: the server's
// archiving settings, judged against check's own configuration (no server).
#include "check/pg_settings.h"

#include <gtest/gtest.h>

namespace walferry::check {
namespace {

// The settings of examples/postgresql.conf, as check with /etc/walferry.conf sees them.
PgSettings Example() {
  PgSettings pg;
  pg.server_version = 150004;
  pg.wal_level = "replica";
  pg.archive_mode = "on";
  pg.archive_command = "walferry --config /etc/walferry.conf archive-push %p";
  pg.restore_command = "walferry --config /etc/walferry.conf archive-get %f %p";
  pg.data_directory = "/var/lib/postgresql/15/main";
  return pg;
}

CheckSide Self(std::string config = "/etc/walferry.conf") {
  CheckSide self;
  self.config_file = std::move(config);
  self.repo = "s3://bucket/pg/main";
  return self;
}

const Finding* For(const std::vector<Finding>& findings, const std::string& setting) {
  const Finding* last = nullptr;
  for (const Finding& f : findings) {
    if (f.setting == setting && (last == nullptr || f.severity > last->severity)) last = &f;
  }
  return last;
}

Severity SeverityOf(const PgSettings& pg, const CheckSide& self, const std::string& setting) {
  const std::vector<Finding> findings = AnalyzeSettings(pg, self);  // outlives `f`
  const Finding* f = For(findings, setting);
  return f == nullptr ? Severity::kOk : f->severity;
}

TEST(PgSettings, TheExampleIsRight) {
  std::vector<Finding> findings = AnalyzeSettings(Example(), Self());
  EXPECT_FALSE(HasErrors(findings));
  for (const Finding& f : findings) {
    EXPECT_EQ(f.severity, Severity::kOk) << f.setting << ": " << f.message;
  }
  for (const char* s : {"wal_level", "archive_mode", "archive_command", "restore_command"}) {
    EXPECT_NE(For(findings, s), nullptr) << s;
  }
}

TEST(PgSettings, WalLevelMinimal) {
  PgSettings pg = Example();
  pg.wal_level = "minimal";
  auto findings = AnalyzeSettings(pg, Self());
  ASSERT_TRUE(HasErrors(findings));
  const Finding* f = For(findings, "wal_level");
  EXPECT_EQ(f->severity, Severity::kError);
  EXPECT_NE(f->message.find("'minimal'"), std::string::npos) << f->message;
  EXPECT_NE(f->hint.find("wal_level = replica"), std::string::npos) << f->hint;
  pg.wal_level = "logical";
  EXPECT_EQ(SeverityOf(pg, Self(), "wal_level"), Severity::kOk);
}

TEST(PgSettings, ArchiveModeOff) {
  PgSettings pg = Example();
  pg.archive_mode = "off";
  auto findings = AnalyzeSettings(pg, Self());
  const Finding* f = For(findings, "archive_mode");
  ASSERT_NE(f, nullptr);
  EXPECT_EQ(f->severity, Severity::kError);
  EXPECT_NE(f->message.find("archive_mode is off"), std::string::npos) << f->message;
  EXPECT_NE(f->hint.find("restart"), std::string::npos) << f->hint;
  pg.archive_mode = "always";
  EXPECT_EQ(SeverityOf(pg, Self(), "archive_mode"), Severity::kOk);
}

TEST(PgSettings, ArchiveModeOnOnAStandbyIsANote) {
  PgSettings pg = Example();
  pg.in_recovery = true;
  EXPECT_EQ(SeverityOf(pg, Self(), "archive_mode"), Severity::kNote);
  pg.archive_mode = "always";
  EXPECT_EQ(SeverityOf(pg, Self(), "archive_mode"), Severity::kOk);
}

TEST(PgSettings, ArchiveCommandThatIsNotWalferry) {
  for (const char* cmd : {"false", "cp %p /mnt/archive/%f", "/usr/bin/pgbackrest archive-push %p",
                          "walferry-old archive-push %p"}) {
    PgSettings pg = Example();
    pg.archive_command = cmd;
    auto findings = AnalyzeSettings(pg, Self());
    const Finding* f = For(findings, "archive_command");
    ASSERT_NE(f, nullptr) << cmd;
    EXPECT_EQ(f->severity, Severity::kError) << cmd;
    EXPECT_NE(f->message.find("does not call walferry"), std::string::npos) << f->message;
    EXPECT_NE(f->hint.find("'walferry --config /etc/walferry.conf archive-push %p'"),
              std::string::npos)
        << f->hint;
  }
}

TEST(PgSettings, ArchiveCommandEmptyOrReplacedByALibrary) {
  PgSettings pg = Example();
  pg.archive_command = "";
  auto findings = AnalyzeSettings(pg, Self());
  const Finding* f = For(findings, "archive_command");
  EXPECT_EQ(f->severity, Severity::kError);
  EXPECT_NE(f->message.find("archive_command is empty"), std::string::npos) << f->message;
  pg = Example();
  pg.archive_library = "basic_archive";
  findings = AnalyzeSettings(pg, Self());
  f = For(findings, "archive_command");
  EXPECT_EQ(f->severity, Severity::kError);
  EXPECT_NE(f->message.find("archive_library = 'basic_archive'"), std::string::npos) << f->message;
}

TEST(PgSettings, ArchiveCommandCallsWalferryWrongly) {
  for (const char* cmd : {"walferry --config /etc/walferry.conf archive-get %f %p",
                          "walferry --config /etc/walferry.conf archive-push %f",
                          "walferry --config /etc/walferry.conf archive-push",
                          "walferry --config /etc/walferry.conf"}) {
    PgSettings pg = Example();
    pg.archive_command = cmd;
    EXPECT_EQ(SeverityOf(pg, Self(), "archive_command"), Severity::kError) << cmd;
  }
}

TEST(PgSettings, ArchiveCommandWithAnotherConfigOrRepo) {
  PgSettings pg = Example();
  pg.archive_command = "/usr/bin/walferry --config /etc/walferry-other.conf archive-push %p";
  auto findings = AnalyzeSettings(pg, Self());
  const Finding* f = For(findings, "archive_command");
  EXPECT_EQ(f->severity, Severity::kError);
  EXPECT_NE(f->message.find("--config '/etc/walferry-other.conf', check read config file "
                            "'/etc/walferry.conf'"),
            std::string::npos)
      << f->message;
  pg.archive_command = "walferry --repo s3://bucket/pg/other archive-push %p";
  findings = AnalyzeSettings(pg, Self());
  f = For(findings, "archive_command");
  EXPECT_EQ(f->severity, Severity::kError);
  EXPECT_NE(f->message.find("'s3://bucket/pg/other'"), std::string::npos) << f->message;
  pg.archive_command = "walferry archive-push --repo=s3://bucket/pg/main %p";  // same repo
  EXPECT_EQ(SeverityOf(pg, Self("/etc/x.conf"), "archive_command"), Severity::kOk);
}

TEST(PgSettings, ConfigPathsCompareAsTheArchiverResolvesThem) {
  PgSettings pg = Example();
  // Relative to the data directory, where PostgreSQL runs archive_command.
  pg.archive_command = "walferry --config=walferry.conf archive-push %p";
  EXPECT_EQ(SeverityOf(pg, Self("/var/lib/postgresql/15/main/walferry.conf"), "archive_command"),
            Severity::kOk);
  pg.archive_command = "walferry --config /etc/./walferry.conf archive-push %p";
  EXPECT_EQ(SeverityOf(pg, Self(), "archive_command"), Severity::kOk);
  // The environment variable counts as --config; a flag wins over it.
  pg.archive_command = "WALFERRY_CONFIG=/etc/walferry.conf walferry archive-push %p";
  EXPECT_EQ(SeverityOf(pg, Self(), "archive_command"), Severity::kOk);
  pg.archive_command =
      "env WALFERRY_CONFIG=/etc/a.conf walferry --config /etc/walferry.conf "
      "archive-push %p";
  EXPECT_EQ(SeverityOf(pg, Self(), "archive_command"), Severity::kOk);
}

TEST(PgSettings, NoConfigInArchiveCommand) {
  PgSettings pg = Example();
  pg.archive_command = "walferry archive-push %p";
  // It reads /etc/walferry.conf, as check did: fine.
  EXPECT_EQ(SeverityOf(pg, Self(), "archive_command"), Severity::kOk);
  // Check read another file: cannot be told, a warning (the round trip will tell).
  auto findings = AnalyzeSettings(pg, Self("/srv/walferry.conf"));
  const Finding* f = For(findings, "archive_command");
  EXPECT_EQ(f->severity, Severity::kWarning);
  EXPECT_NE(f->message.find("no --config"), std::string::npos) << f->message;
}

TEST(PgSettings, RepoFromCheckCommandLineIsAWarning) {
  CheckSide self = Self();
  self.repo_from_file = false;
  EXPECT_EQ(SeverityOf(Example(), self, "archive_command"), Severity::kWarning);
  EXPECT_FALSE(HasErrors(AnalyzeSettings(Example(), self)));
}

TEST(PgSettings, RestoreCommand) {
  PgSettings pg = Example();
  pg.restore_command = "";
  EXPECT_EQ(SeverityOf(pg, Self(), "restore_command"), Severity::kNote);
  pg.in_recovery = true;
  EXPECT_EQ(SeverityOf(pg, Self(), "restore_command"), Severity::kWarning);
  pg = Example();
  pg.restore_command = "cp /mnt/archive/%f %p";
  EXPECT_EQ(SeverityOf(pg, Self(), "restore_command"), Severity::kWarning);
  pg.restore_command = "walferry --config /etc/walferry.conf archive-get %p %f";
  EXPECT_EQ(SeverityOf(pg, Self(), "restore_command"), Severity::kError);
  pg.restore_command = "walferry --config /etc/other.conf archive-get %f %p";
  EXPECT_EQ(SeverityOf(pg, Self(), "restore_command"), Severity::kError);
}

TEST(PgSettings, FindWalferryCallSplitsLikeTheShell) {
  auto c = FindWalferryCall(
      "test ! -f /x && '/opt/wal ferry/bin/walferry' --log-level debug --config \"/etc/w f.conf\" "
      "archive-push --json %p; echo done");
  ASSERT_TRUE(c.has_value());
  EXPECT_EQ(c->program, "/opt/wal ferry/bin/walferry");
  EXPECT_EQ(c->command, "archive-push");
  ASSERT_TRUE(c->config.has_value());
  EXPECT_EQ(*c->config, "/etc/w f.conf");
  EXPECT_FALSE(c->repo.has_value());
  EXPECT_EQ(c->args, std::vector<std::string>{"%p"});  // a command's own flag is not an argument
  EXPECT_FALSE(FindWalferryCall("echo walferry-is-not-here").has_value());
  EXPECT_FALSE(FindWalferryCall("").has_value());
  auto d = FindWalferryCall("walferry archive-get %f %p");
  ASSERT_TRUE(d.has_value());
  EXPECT_EQ(d->args, (std::vector<std::string>{"%f", "%p"}));
}

}  // namespace
}  // namespace walferry::check
