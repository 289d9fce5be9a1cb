// Unit tests for what all backends share (key rules, the URL factory) and for
// the file backend's own promises (temp files invisible, stale ones removed).
#include "walferry/storage.h"

#include <gtest/gtest.h>
#include <sys/stat.h>
#include <utime.h>

#include <filesystem>
#include <fstream>

#include "walferry/exit_codes.h"

namespace walferry {
namespace {

TEST(ValidateKey, AcceptsOrdinaryAndUnusualKeys) {
  for (std::string k : {"wal/000000010000000000000001", "a", "sp ace/x+y%z=w", "caf\xc3\xa9",
                        "a.b/..c/d..", ".hidden"}) {
    EXPECT_TRUE(ValidateKey(k).ok()) << k;
  }
}

TEST(ValidateKey, RefusesWithAMessageNamingTheKey) {
  Status s = ValidateKey("a//b");
  EXPECT_EQ(s.code(), Status::Code::kInvalidArgument);
  EXPECT_NE(s.message().find("'a//b'"), std::string::npos) << s.message();
  EXPECT_FALSE(ValidateKey(std::string(1025, 'x')).ok());
  EXPECT_FALSE(ValidateKey("x/.wf-tmp.d").ok());
  EXPECT_FALSE(ValidateGet("k", ByteRange{0, 0}).ok());
}

TEST(OpenStorage, RefusesBadRepositoryUrlsWithAHint) {
  for (std::string url : {"", "file://relative/path", "ftp://x", "s3://", "s3:///prefix",
                          "s3://Upper/x", "s3://bucket/a//b", "/plain/path"}) {
    auto s = OpenStorage(StorageConfig{url, {}});
    ASSERT_FALSE(s.ok()) << url;
    EXPECT_EQ(s.status().code(), Status::Code::kInvalidArgument) << url;
    EXPECT_NE(s.status().message().find("'" + url + "'"), std::string::npos)
        << s.status().message();
    EXPECT_FALSE(s.status().hint().empty());
  }
}

TEST(OpenStorage, S3NeedsCredentialsAndSaneSettings) {
  // No source of the AWS credential chain: no variables, an empty HOME, no
  // instance metadata.
  struct NoAwsSources {
    std::string home =
        std::filesystem::temp_directory_path() / ("walferry-nohome-" + std::to_string(::getpid()));
    std::vector<std::pair<std::string, std::string>> saved;
    NoAwsSources() {
      std::filesystem::create_directories(home);
      Set("HOME", home);
      Set("AWS_EC2_METADATA_DISABLED", "true");
      for (const char* v :
           {"AWS_ACCESS_KEY_ID", "AWS_SECRET_ACCESS_KEY", "AWS_PROFILE", "AWS_CONFIG_FILE",
            "AWS_SHARED_CREDENTIALS_FILE", "AWS_WEB_IDENTITY_TOKEN_FILE",
            "AWS_CONTAINER_CREDENTIALS_FULL_URI", "AWS_CONTAINER_CREDENTIALS_RELATIVE_URI"}) {
        Set(v, "");
      }
    }
    void Set(const std::string& n, const std::string& v) {
      const char* old = ::getenv(n.c_str());
      saved.emplace_back(n, old ? old : "");
      ::setenv(n.c_str(), v.c_str(), 1);
    }
    ~NoAwsSources() {
      for (auto it = saved.rbegin(); it != saved.rend(); ++it)
        ::setenv(it->first.c_str(), it->second.c_str(), 1);
      std::filesystem::remove_all(home);
    }
  } no_sources;
  StorageConfig c{"s3://bucket/prefix", {}};
  EXPECT_EQ(OpenStorage(c).status().code(), Status::Code::kAuth);
  c.s3.access_key_id = "id";
  c.s3.secret_access_key = "secret";
  EXPECT_TRUE(OpenStorage(c).ok());
  EXPECT_EQ((*OpenStorage(c))->Describe(), "s3://bucket/prefix");
  c.s3.endpoint = "127.0.0.1:9000";
  EXPECT_EQ(OpenStorage(c).status().code(), Status::Code::kInvalidArgument);
  c.s3.endpoint = "http://127.0.0.1:9000";
  c.s3.part_size = 1 << 20;
  EXPECT_EQ(OpenStorage(c).status().code(), Status::Code::kInvalidArgument);
  c.s3.part_size = 5 << 20;
  c.s3.uri_style = "sideways";
  EXPECT_EQ(OpenStorage(c).status().code(), Status::Code::kInvalidArgument);
}

class PosixStorageTest : public ::testing::Test {
 protected:
  void SetUp() override {
    root_ = std::filesystem::temp_directory_path() /
            ("walferry-posix-" + std::to_string(::getpid()) + "-" +
             ::testing::UnitTest::GetInstance()->current_test_info()->name());
    std::filesystem::remove_all(root_);
    storage_ = std::move(OpenStorage(StorageConfig{"file://" + root_.string() + "/", {}}).value());
  }
  void TearDown() override { std::filesystem::remove_all(root_); }
  std::filesystem::path root_;
  std::unique_ptr<Storage> storage_;
};

TEST_F(PosixStorageTest, ObjectsArePlainFilesAndDescribeHasNoTrailingSlash) {
  ASSERT_TRUE(PutString(*storage_, "wal/seg", "bytes").ok());
  std::ifstream in(root_ / "wal/seg");
  std::string content((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
  EXPECT_EQ(content, "bytes");
  EXPECT_EQ(storage_->Describe(), "file://" + root_.string());
}

TEST_F(PosixStorageTest, LeftoverTempFilesAreInvisibleAndStaleOnesRemoved) {
  std::filesystem::create_directories(root_ / ".wf-tmp.d");
  std::ofstream(root_ / ".wf-tmp.d" / "crashed-writer") << "partial";
  std::ofstream(root_ / ".wf-tmp.d" / "fresh-writer") << "partial";
  struct utimbuf old_times {
    1000, 1000
  };
  ::utime((root_ / ".wf-tmp.d" / "crashed-writer").c_str(), &old_times);
  EXPECT_TRUE(ListAll(*storage_, "")->empty());
  ASSERT_TRUE(PutString(*storage_, "k", "v").ok());
  EXPECT_FALSE(std::filesystem::exists(root_ / ".wf-tmp.d" / "crashed-writer"));
  EXPECT_TRUE(std::filesystem::exists(root_ / ".wf-tmp.d" / "fresh-writer"))
      << "a live writer's file stays";
  auto all = ListAll(*storage_, "");
  ASSERT_EQ(all->size(), 1u);
  EXPECT_EQ((*all)[0].key, "k");
}

TEST_F(PosixStorageTest, AFileWhereADirectoryIsNeededIsAClearError) {
  ASSERT_TRUE(PutString(*storage_, "a", "file").ok());
  auto r = PutString(*storage_, "a/b", "under a file");
  EXPECT_FALSE(r.ok());
  EXPECT_NE(r.status().message().find("'a/b'"), std::string::npos) << r.status().ToString();
}

TEST(ExitCodes, OneTableInCodeOrderWithinPostgresLimits) {
  int n = 0;
  const ExitCodeInfo* table = ExitCodeTable(&n);
  ASSERT_GT(n, 5);
  for (int i = 0; i < n; ++i) {
    if (table[i].code == ExitCode::kRecoveryMustStop) {
      EXPECT_GT(static_cast<int>(table[i].code), 128)
          << "must read as 'stop recovery' to PostgreSQL";
      EXPECT_EQ(i, n - 1);
      continue;
    }
    EXPECT_EQ(static_cast<int>(table[i].code), i) << table[i].name;
    EXPECT_LE(static_cast<int>(table[i].code), 125)
        << "archive_command failures must stay in 1..125";
  }
  EXPECT_EQ(ExitCodeFor(Status::FailedPrecondition("x")), ExitCode::kWrongRepository);
  EXPECT_EQ(ExitCodeFor(Status::NotFound("x")), ExitCode::kNotFound);
  EXPECT_EQ(static_cast<int>(ExitCodeFor(Status::NotFound("x"))), 1)
      << "restore_command's 'no such file'";
  EXPECT_EQ(ExitCodeFor(Status::Unavailable("x")), ExitCode::kUnreachable);
  EXPECT_EQ(ExitCodeFor(Status::Auth("x")), ExitCode::kAuth);
  EXPECT_EQ(ExitCodeFor(Status::Permission("x")), ExitCode::kPermission);
  EXPECT_EQ(ExitCodeFor(Status::InvalidArgument("x")), ExitCode::kUsage);
  EXPECT_EQ(ExitCodeFor(Status::Ok()), ExitCode::kOk);
}

TEST(StatusTest, FromErrnoMapsInOnePlace) {
  // A local ENOENT is a local error: exit 1 ("not found") is only the repository's answer.
  EXPECT_EQ(Status::FromErrno(ENOENT, "open 'x'").code(), Status::Code::kIo);
  EXPECT_EQ(Status::FromErrno(ENOTDIR, "open 'x/y'").code(), Status::Code::kIo);
  EXPECT_EQ(Status::FromErrno(ENOSPC, "write 'x'").code(), Status::Code::kIo);
  EXPECT_FALSE(Status::FromErrno(ENOSPC, "write 'x'").hint().empty());
  EXPECT_EQ(Status::FromErrno(EACCES, "open 'x'").code(), Status::Code::kPermission);
  EXPECT_EQ(Status::FromErrno(EIO, "read 'x'").message(), "read 'x': Input/output error");
  Status s = Status::Unavailable("inner").WithHint("h").Annotate("outer");
  EXPECT_EQ(s.message(), "outer: inner");
  EXPECT_EQ(s.hint(), "h");
  EXPECT_TRUE(s.Retryable());
}

}  // namespace
}  // namespace walferry
