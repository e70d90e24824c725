// Files: atomic writes, the clean-up of interrupted ones, the state-dir lock.
#include <gtest/gtest.h>

#include <filesystem>
#include <fstream>
#include <random>
#include <set>

#include "citadel/bytes.h"
#include "citadel/files.h"

namespace citadel {
namespace {

namespace fs = std::filesystem;

class FilesTest : public ::testing::Test {
 protected:
  void SetUp() override {
    dir_ = fs::temp_directory_path() / ("citadel-files-" + std::to_string(std::random_device{}()));
    fs::create_directories(dir_);
  }
  void TearDown() override { fs::remove_all(dir_); }
  void Touch(const std::string& name) { std::ofstream(dir_ / name) << "x"; }
  std::set<std::string> Names() {
    std::set<std::string> out;
    for (const auto& e : fs::directory_iterator(dir_)) out.insert(e.path().filename().string());
    return out;
  }
  fs::path dir_;
};

TEST_F(FilesTest, AtomicWriteLeavesOnlyTheTarget) {
  const Bytes data = {1, 2, 3};
  ASSERT_TRUE(WriteFileAtomic((dir_ / "m.cmodel").string(), data).ok());
  EXPECT_EQ(Names(), std::set<std::string>{"m.cmodel"});
  auto back = ReadFileBytes((dir_ / "m.cmodel").string());
  ASSERT_TRUE(back.ok());
  EXPECT_EQ(*back, data);
}

TEST_F(FilesTest, RemovesOnlyInterruptedAtomicWrites) {
  // What a kill between mkstemp and rename leaves, for two targets.
  Touch(".m.cmodel.tmpAb12Cd");
  Touch(".versions.sealed.tmpZZZZZZ");
  // Everything else stays, including near misses.
  const std::set<std::string> keep = {"m.cmodel", ".m.cmodel.tmp", ".m.cmodel.tmpAB", "m.cmodel.tmpAb12Cd",
                                      ".hidden", ".m.cmodel.tmpAb_2Cd", "audit.jsonl", ".m.cmodel.tmpAb12Cd.x"};
  for (const auto& n : keep) Touch(n);
  fs::create_directories(dir_ / ".d.tmpABCDEF");  // a directory is never removed
  EXPECT_EQ(RemoveAtomicWriteLeftovers(dir_.string()), 2u);
  std::set<std::string> expected = keep;
  expected.insert(".d.tmpABCDEF");
  EXPECT_EQ(Names(), expected);
  EXPECT_EQ(RemoveAtomicWriteLeftovers(dir_.string()), 0u);
  EXPECT_EQ(RemoveAtomicWriteLeftovers((dir_ / "missing").string()), 0u);
}

TEST_F(FilesTest, DirectoryLockIsExclusiveUntilReleased) {
  {
    auto first = DirectoryLock::Acquire(dir_.string());
    ASSERT_TRUE(first.ok()) << first.status().ToString();
    // flock locks belong to the open file description, so a second
    // acquisition conflicts even inside one process.
    auto second = DirectoryLock::Acquire(dir_.string());
    ASSERT_FALSE(second.ok());
    EXPECT_EQ(second.status().code(), Code::kFailedPrecondition);
    EXPECT_NE(second.status().message().find("in use by another citadel server"), std::string::npos);
  }
  auto again = DirectoryLock::Acquire(dir_.string());
  EXPECT_TRUE(again.ok()) << again.status().ToString();
  auto missing = DirectoryLock::Acquire((dir_ / "missing").string());
  EXPECT_FALSE(missing.ok());
}

}  // namespace
}  // namespace citadel
