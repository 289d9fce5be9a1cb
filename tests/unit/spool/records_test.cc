// The spool's records on disk: err/<name> and state.json store a failure's code by
// its name (Status::CodeId); records of older versions, which stored the enum's
// number, still read.
#include <gtest/gtest.h>

#include <filesystem>
#include <fstream>
#include <nlohmann/json.hpp>

#include "spool/push.h"
#include "support/temp_dir.h"
#include "walferry/exit_codes.h"

namespace walferry::spool {
namespace {

namespace sfs = std::filesystem;
using testing::TempDir;

constexpr char kRepo[] = "memory://records";
constexpr char kName[] = "000000010000000000000001";

class SpoolRecords : public ::testing::Test {
 protected:
  SpoolRecords() {
    data_ = t_.path() + "/data";
    sfs::create_directories(data_ + "/pg_wal/archive_status");
    auto sp = OpenSpool(t_.path() + "/spool", kRepo, data_);
    EXPECT_TRUE(sp.ok()) << sp.status().ToString();
    auto d = OpenPushDirs(*sp);
    EXPECT_TRUE(d.ok());
    dirs_ = *d;
  }
  TempDir t_{"wf-spool-records"};
  std::string data_;
  PushDirs dirs_;
};

// An err record as walferry wrote it before codes were stored by name: "code" is the
// enum's number (6 was kUnavailable, 10 kWrongRepository, 12 kUnsupportedFormat).
TEST_F(SpoolRecords, AnErrRecordOfTheOldFormatWithANumberStillReads) {
  std::ofstream(dirs_.err + "/" + kName)
      << R"({"code":6,"exit_code":3,"hint":"check the network","message":"put: http 503",)"
      << R"("name":")" << kName << R"(","time_ms":1700000000000})"
      << "\n";
  auto err = LoadErr(dirs_, kName);
  ASSERT_TRUE(err.has_value());
  EXPECT_EQ(err->code, Status::Code::kUnavailable);
  EXPECT_EQ(err->exit_code, 3);
  EXPECT_EQ(err->message, "put: http 503");
  Status s = err->ToStatus();
  EXPECT_EQ(s.code(), Status::Code::kUnavailable);
  EXPECT_EQ(s.hint(), "check the network");
  for (auto [number, code] : {std::pair{10, Status::Code::kWrongRepository},
                              std::pair{12, Status::Code::kUnsupportedFormat},
                              std::pair{0, Status::Code::kInternal},  // ok is no failure
                              std::pair{99, Status::Code::kInternal}}) {
    std::ofstream(dirs_.err + "/" + kName)
        << R"({"code":)" << number << R"(,"name":")" << kName << R"("})";
    auto e = LoadErr(dirs_, kName);
    ASSERT_TRUE(e.has_value()) << number;
    EXPECT_EQ(e->code, code) << number;
  }
}

TEST_F(SpoolRecords, AnErrRecordStoresTheCodesName) {
  std::ofstream(dirs_.err + "/" + kName)
      << R"({"code":"wrong_repository","name":")" << kName << R"("})";
  auto e = LoadErr(dirs_, kName);
  ASSERT_TRUE(e.has_value());
  EXPECT_EQ(e->code, Status::Code::kWrongRepository);
  for (const char* other : {"ok", "Unavailable", "", "wrong repository"}) {
    std::ofstream(dirs_.err + "/" + kName)
        << R"({"code":")" << other << R"(","name":")" << kName << R"("})";
    auto o = LoadErr(dirs_, kName);
    ASSERT_TRUE(o.has_value()) << other;
    EXPECT_EQ(o->code, Status::Code::kInternal) << other;
  }
}

TEST(SpoolRecordCodec, NewErrRecordsWriteTheCodesNameNotItsNumber) {
  ErrRecord e{"000000010000000000000001", "put: http 503", "", Status::Code::kUnavailable, 3, 1};
  auto j = nlohmann::json::parse(EncodeErr(e));
  EXPECT_EQ(j["code"], "unavailable") << j.dump();
  auto back = DecodeErr(EncodeErr(e));
  ASSERT_TRUE(back.has_value());
  EXPECT_EQ(back->code, Status::Code::kUnavailable);
  for (const StatusCodeInfo& row : StatusCodes()) {
    if (row.code == Status::Code::kOk) continue;
    e.code = row.code;
    auto again = DecodeErr(EncodeErr(e));
    ASSERT_TRUE(again.has_value());
    EXPECT_EQ(again->code, row.code) << Status::CodeId(row.code);
  }
}

// state.json's last error, written by an older version: status still reports it.
TEST_F(SpoolRecords, AStateFileOfTheOldFormatStillReads) {
  std::ofstream(dirs_.state) << R"({"version":1,"uploaded_segments":3,"uploaded_bytes":48,)"
                             << R"("recent":[],"last_error":{"code":8,"exit_code":8,"hint":"",)"
                             << R"("message":"disk on fire","name":")" << kName
                             << R"(","time_ms":1700000000000}})";
  SpoolStatus s = ComputeStatus(dirs_, kRepo, data_, 1700000001000);
  ASSERT_TRUE(s.last_error.has_value());
  EXPECT_EQ(s.last_error->code, Status::Code::kIo);
  EXPECT_EQ(s.last_error->message, "disk on fire");
  EXPECT_EQ(s.uploaded_segments, 3);
}

}  // namespace
}  // namespace walferry::spool
