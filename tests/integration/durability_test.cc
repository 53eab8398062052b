// Durability through real managers over a data dir (--data-dir), killed
// with SIGKILL and started again: what a client was told succeeded is
// there afterwards, nothing appears that was never sent, a queue item a
// client received is not handed out again, holdings never survive a
// restart unnoticed, and a data dir that cannot be used is refused at
// start with a message naming it.
#include <arpa/inet.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <signal.h>
#include <stdlib.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <filesystem>
#include <fstream>
#include <map>
#include <random>
#include <set>
#include <string>
#include <thread>
#include <vector>

#include "absl/strings/match.h"
#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_split.h"
#include "absl/time/clock.h"
#include "client/manager.h"
#include "gtest/gtest.h"
#include "rocksdb/db.h"
#include "tests/support/child_process.h"
#include "tests/support/status_matchers.h"

namespace mproc {
namespace {

using testing::CommandResult;
using testing::ManagerProcess;
using testing::MprocBinary;
using testing::RunCommand;

// A short temporary directory (unix socket paths must be short).
std::string TempDir() {
  char dir[] = "/tmp/mproc-durable.XXXXXX";
  return mkdtemp(dir) != nullptr ? dir : "";
}

// A manager on a unix socket over a data dir, killed and started again at
// the same address, so clients reconnect by themselves.
class DurableManager {
 public:
  explicit DurableManager(std::vector<std::string> flags = {})
      : root_(TempDir()), flags_(std::move(flags)) {}
  ~DurableManager() {
    process_.reset();
    std::error_code ec;
    std::filesystem::remove_all(root_, ec);
  }

  const std::string& root() const { return root_; }
  std::string data_dir() const { return root_ + "/data"; }
  std::string address() const { return "unix:" + root_ + "/s"; }
  ManagerProcess* process() const { return process_.get(); }
  // Added to the environment of the managers started from now on.
  void SetEnvironment(std::vector<std::string> env) { env_ = std::move(env); }

  absl::Status Start() {
    std::vector<std::string> args = {"--data-dir", data_dir()};
    args.insert(args.end(), flags_.begin(), flags_.end());
    absl::StatusOr<std::unique_ptr<ManagerProcess>> started =
        ManagerProcess::Start(address(), args, env_);
    if (!started.ok()) return started.status();
    process_ = *std::move(started);
    return absl::OkStatus();
  }
  void Kill() {
    if (process_ != nullptr) process_->KillAndWait(SIGKILL);
    process_.reset();
  }
  absl::Status Restart() {
    Kill();
    return Start();
  }

 private:
  const std::string root_;
  const std::vector<std::string> flags_;
  std::vector<std::string> env_;
  std::unique_ptr<ManagerProcess> process_;
};

std::unique_ptr<Manager> Connect(const std::string& address) {
  absl::StatusOr<std::unique_ptr<Manager>> m = Manager::Connect(address);
  EXPECT_OK(m);
  return m.ok() ? *std::move(m) : nullptr;
}

// --- acknowledged writes across SIGKILL -----------------------------------

constexpr int kWriters = 4;
constexpr int kKills = 5;
enum WriterOp { kSet, kAdd, kAppend, kPut, kOps };
constexpr const char* kOpNames[kOps] = {"set", "add", "append", "put"};

// What one writer attempted and what it was told succeeded, per op.
struct WriterLog {
  std::set<int64_t> attempted[kOps];
  std::set<int64_t> acked[kOps];
};

// A writer process: forever, the four writes of step n, each logged before
// ("a") and after success ("k") with one write(2) per line, so the log is
// whole when the process is killed.
int RunWriter(const std::string& address, int writer, const std::string& log) {
  const int fd = open(log.c_str(), O_WRONLY | O_CREAT | O_APPEND, 0600);
  if (fd < 0) return 2;
  auto note = [fd](int op, int64_t n, char what) {
    const std::string line =
        absl::StrCat(op, " ", n, " ", std::string(1, what), "\n");
    return write(fd, line.data(), line.size()) ==
           static_cast<ssize_t>(line.size());
  };
  absl::StatusOr<std::unique_ptr<Manager>> m = Manager::Connect(address);
  if (!m.ok()) return 3;
  const std::string me = absl::StrCat("w", writer);
  for (int64_t n = 0;; ++n) {
    const std::string item = absl::StrCat(me, ":", n);
    for (int op = 0; op < kOps; ++op) {
      if (!note(op, n, 'a')) return 4;
      absl::Status s;
      switch (op) {
        case kSet: {
          auto d = (*m)->Dict("d");
          s = d.ok() ? d->Set(item, n) : d.status();
          break;
        }
        case kAdd: {
          auto d = (*m)->Dict("counters");
          s = d.ok() ? d->Add(me, 1).status() : d.status();
          break;
        }
        case kAppend: {
          auto l = (*m)->List("l");
          s = l.ok() ? l->Append(item).status() : l.status();
          break;
        }
        case kPut: {
          auto q = (*m)->Queue("q");
          s = q.ok() ? q->Put(item) : q.status();
          break;
        }
      }
      if (s.ok() && !note(op, n, 'k')) return 4;
    }
  }
}

WriterLog ReadLog(const std::string& path) {
  WriterLog log;
  std::ifstream in(path);
  std::string line;
  while (std::getline(in, line)) {
    std::vector<std::string> f = absl::StrSplit(line, ' ');
    int op = 0;
    int64_t n = 0;
    if (f.size() != 3 || !absl::SimpleAtoi(f[0], &op) || op < 0 || op >= kOps ||
        !absl::SimpleAtoi(f[1], &n)) {
      continue;
    }
    (f[2] == "k" ? log.acked : log.attempted)[op].insert(n);
  }
  return log;
}

int64_t AckedSoFar(const std::string& root) {
  int64_t total = 0;
  for (int w = 0; w < kWriters; ++w) {
    const WriterLog log = ReadLog(absl::StrCat(root, "/w", w, ".log"));
    for (int op = 0; op < kOps; ++op) total += log.acked[op].size();
  }
  return total;
}

// Waits (up to 30 s) until the writers have been told of `more` successes
// beyond `from`: they are writing to the manager running now.
bool AwaitProgress(const std::string& root, int64_t from, int64_t more) {
  const absl::Time deadline = absl::Now() + absl::Seconds(30);
  while (absl::Now() < deadline) {
    if (AckedSoFar(root) >= from + more) return true;
    absl::SleepFor(absl::Milliseconds(20));
  }
  return false;
}

// The writer and step of an item "w<i>:<n>"; false for anything else.
bool ParseItem(const Value& v, int* writer, int64_t* n) {
  if (!v.is_string()) return false;
  std::vector<std::string> f = absl::StrSplit(v.string_value(), ':');
  return f.size() == 2 && f[0].size() > 1 && f[0][0] == 'w' &&
         absl::SimpleAtoi(f[0].substr(1), writer) && *writer >= 0 &&
         *writer < kWriters && absl::SimpleAtoi(f[1], n);
}

// Checks that a list of items (a list's or a queue's) holds every acked
// one once, nothing unattempted, and each writer's in order.
void CheckItems(const List& items, const std::vector<WriterLog>& logs, int op,
                const char* what) {
  std::vector<std::vector<int64_t>> seen(kWriters);
  for (const Value& v : items) {
    int w = 0;
    int64_t n = 0;
    ASSERT_TRUE(ParseItem(v, &w, &n)) << what << " holds " << v.ToString();
    EXPECT_TRUE(logs[w].attempted[op].count(n))
        << what << " holds " << v.ToString() << ", which was never sent";
    seen[w].push_back(n);
  }
  for (int w = 0; w < kWriters; ++w) {
    EXPECT_TRUE(std::is_sorted(seen[w].begin(), seen[w].end()))
        << what << ": writer " << w << "'s items are out of order";
    EXPECT_EQ(std::adjacent_find(seen[w].begin(), seen[w].end()), seen[w].end())
        << what << ": writer " << w << " has an item twice";
    const std::set<int64_t> present(seen[w].begin(), seen[w].end());
    for (int64_t n : logs[w].acked[op]) {
      EXPECT_TRUE(present.count(n))
          << what << " lost w" << w << ":" << n << ", which was acknowledged";
    }
  }
}

class KillTest : public ::testing::TestWithParam<const char*> {};

TEST_P(KillTest, EveryAcknowledgedWriteSurvivesRepeatedKills) {
  DurableManager manager({"--fsync", GetParam()});
  ASSERT_OK(manager.Start());
  std::vector<pid_t> writers;
  for (int w = 0; w < kWriters; ++w) {
    const std::string log = absl::StrCat(manager.root(), "/w", w, ".log");
    const std::string address = manager.address();
    writers.push_back(testing::ForkChild(
        [address, w, log] { return RunWriter(address, w, log); }));
  }
  std::mt19937 random(GetParam()[0]);
  for (int kill = 0; kill < kKills; ++kill) {
    ASSERT_TRUE(AwaitProgress(manager.root(), AckedSoFar(manager.root()), 200))
        << "the writers made no progress before kill " << kill;
    // A random moment in the middle of the writes.
    absl::SleepFor(absl::Milliseconds(
        std::uniform_int_distribution<int>(20, 300)(random)));
    ASSERT_OK(manager.Restart());
  }
  ASSERT_TRUE(AwaitProgress(manager.root(), AckedSoFar(manager.root()), 200));
  for (pid_t pid : writers) {
    kill(pid, SIGKILL);
    testing::WaitChild(pid);
  }
  // One more kill with nothing in flight: everything is read back from disk.
  ASSERT_OK(manager.Restart());

  std::vector<WriterLog> logs;
  for (int w = 0; w < kWriters; ++w) {
    logs.push_back(ReadLog(absl::StrCat(manager.root(), "/w", w, ".log")));
    for (int op = 0; op < kOps; ++op) {
      ASSERT_GT(logs[w].acked[op].size(), 0u) << kOpNames[op];
    }
  }
  std::unique_ptr<Manager> m = Connect(manager.address());
  ASSERT_NE(m, nullptr);

  // dict set: every acknowledged key with its value, no key never sent.
  absl::StatusOr<Map> d = m->Dict("d")->Items();
  ASSERT_OK(d);
  std::set<std::pair<int, int64_t>> keys;
  for (const auto& [key, value] : *d) {
    int w = 0;
    int64_t n = 0;
    ASSERT_TRUE(ParseItem(key, &w, &n)) << key.ToString();
    EXPECT_EQ(value, Value(n)) << key.ToString();
    EXPECT_TRUE(logs[w].attempted[kSet].count(n))
        << key.ToString() << " was never sent";
    keys.insert({w, n});
  }
  for (int w = 0; w < kWriters; ++w) {
    for (int64_t n : logs[w].acked[kSet]) {
      EXPECT_TRUE(keys.count({w, n}))
          << "lost acknowledged set of w" << w << ":" << n;
    }
  }
  // dict add: each counter counts every acknowledged add, and at most the
  // attempted ones (an add cut off by the kill may or may not have counted).
  absl::StatusOr<Map> counters = m->Dict("counters")->Items();
  ASSERT_OK(counters);
  for (int w = 0; w < kWriters; ++w) {
    const Value count = (*counters)[Value(absl::StrCat("w", w))];
    ASSERT_TRUE(count.is_int()) << count.ToString();
    EXPECT_GE(count.int_value(),
              static_cast<int64_t>(logs[w].acked[kAdd].size()));
    EXPECT_LE(count.int_value(),
              static_cast<int64_t>(logs[w].attempted[kAdd].size()));
  }
  // list append and queue put: every acknowledged item once, in order.
  absl::StatusOr<List> l = m->List("l")->Slice();
  ASSERT_OK(l);
  CheckItems(*l, logs, kAppend, "list 'l'");
  absl::StatusOr<QueueProxy> q = m->Queue("q");
  ASSERT_OK(q);
  List queued;
  for (;;) {
    absl::StatusOr<List> some = q->GetMany(1000, absl::ZeroDuration());
    if (!some.ok()) break;  // empty
    queued.insert(queued.end(), some->begin(), some->end());
  }
  CheckItems(queued, logs, kPut, "queue 'q'");
}

INSTANTIATE_TEST_SUITE_P(Fsync, KillTest,
                         ::testing::Values("always", "everysec"),
                         [](const auto& info) {
                           return std::string(info.param);
                         });

// --- what each kind keeps -------------------------------------------------

TEST(DurabilityTest, EveryKindComesBackAfterAKill) {
  DurableManager manager;
  ASSERT_OK(manager.Start());
  List model;
  {
    std::unique_ptr<Manager> m = Connect(manager.address());
    ASSERT_NE(m, nullptr);
    // A list edited past its snapshot threshold, mirrored in `model`.
    auto l = m->List("list", {Value("seed")});
    ASSERT_OK(l);
    model.push_back("seed");
    for (int i = 0; i < 300; ++i) {
      switch (i % 6) {
        case 0:
        case 1:
          ASSERT_OK(l->Append(i));
          model.push_back(i);
          break;
        case 2:
          ASSERT_OK(l->Insert(1, i));
          model.insert(model.begin() + 1, i);
          break;
        case 3:
          ASSERT_OK(l->Pop(0));
          model.erase(model.begin());
          break;
        case 4:
          ASSERT_OK(l->Set(-1, Value(absl::StrCat("s", i))));
          model.back() = Value(absl::StrCat("s", i));
          break;
        case 5:
          ASSERT_OK(l->Remove(model[model.size() / 2]));
          model.erase(model.begin() + model.size() / 2);
          break;
      }
    }
    ASSERT_OK(l->Extend({Value("x"), Value("y")}));
    model.push_back("x");
    model.push_back("y");
    // The edits recorded as the whole list, then one more edit on top.
    ASSERT_OK(l->SetSlice(0, 2, List{Opaque{"pickle", "(1,)"}}));
    model.erase(model.begin(), model.begin() + 2);
    model.insert(model.begin(), Value(Opaque{"pickle", "(1,)"}));
    ASSERT_OK(l->Reverse());
    std::reverse(model.begin(), model.end());
    ASSERT_OK(l->Append("after"));
    model.push_back("after");

    ASSERT_OK(m->Value("counter", "int", 5)->Add(37));
    auto arr = m->Array("arr", "double", 1000);
    ASSERT_OK(arr);
    ASSERT_OK(arr->Set(0, 1.5));
    ASSERT_OK(arr->Set(999, 2.5));
    ASSERT_OK(arr->Add(300, 4.0));
    auto ns = m->Namespace("ns");
    ASSERT_OK(ns);
    ASSERT_OK(ns->Set("kept", Value(List{1, 2})));
    ASSERT_OK(ns->Set("dropped", 1));
    ASSERT_OK(ns->Delete("dropped"));
    ASSERT_OK(m->Event("on")->Set());
    ASSERT_OK(m->Event("off")->Set());
    ASSERT_OK(m->Event("off")->Clear());
    auto jq = m->JoinableQueue("jobs");
    ASSERT_OK(jq);
    for (int i = 0; i < 3; ++i) ASSERT_OK(jq->Put(i));
    ASSERT_OK(jq->Get());
    ASSERT_OK(jq->TaskDone());
    auto closed = m->Queue("closed");
    ASSERT_OK(closed);
    ASSERT_OK(closed->Put("last"));
    ASSERT_OK(closed->Close());
    ASSERT_OK(m->BoundedSemaphore("sem", 3));
    ASSERT_OK(m->Barrier("bar", 4));
    ASSERT_OK(m->Condition("cond", "cond-lock"));
    auto d = m->Dict("gone", {{Value("k"), Value(1)}});
    ASSERT_OK(d);
    ASSERT_OK(m->DeleteObject("gone"));
    // Deleted and made again: only the new content comes back.
    ASSERT_OK(m->Dict("again", {{Value("old"), Value(1)}}));
    ASSERT_OK(m->DeleteObject("again"));
    ASSERT_OK(m->Dict("again")->Set("new", 2));
    // A dict cleared, then written.
    auto c =
        m->Dict("cleared", {{Value("a"), Value(1)}, {Value("b"), Value(2)}});
    ASSERT_OK(c);
    ASSERT_OK(c->Clear());
    ASSERT_OK(c->Set("c", 3));
    ASSERT_OK(c->Pop("c"));
    ASSERT_OK(c->Set("d", 4));
  }
  ASSERT_OK(manager.Restart());
  EXPECT_TRUE(absl::StrContains(manager.process()->start_output(), "loaded "))
      << manager.process()->start_output();

  std::unique_ptr<Manager> m = Connect(manager.address());
  ASSERT_NE(m, nullptr);
  EXPECT_EQ(*m->List("list")->Slice(), model);
  EXPECT_EQ(*m->Value("counter", "int")->Get(), Value(42));
  auto arr = m->Array("arr", "double", 1000);
  ASSERT_OK(arr);
  EXPECT_EQ(*arr->Get(0), Value(1.5));
  EXPECT_EQ(*arr->Get(300), Value(4.0));
  EXPECT_EQ(*arr->Get(999), Value(2.5));
  EXPECT_EQ(*arr->Get(500), Value(0.0));
  EXPECT_EQ(*m->Namespace("ns")->Items(),
            (Map{{Value("kept"), Value(List{1, 2})}}));
  EXPECT_TRUE(*m->Event("on")->IsSet());
  EXPECT_FALSE(*m->Event("off")->IsSet());
  auto jq = m->JoinableQueue("jobs");
  // Two items queued, both unfinished.
  EXPECT_EQ(*jq->Size(), 2);
  EXPECT_EQ(*jq->Get(), Value(1));
  ASSERT_OK(jq->TaskDone());
  EXPECT_EQ(jq->Join(absl::ZeroDuration()).code(),
            absl::StatusCode::kDeadlineExceeded);
  EXPECT_EQ(*jq->Get(), Value(2));
  ASSERT_OK(jq->TaskDone());
  EXPECT_OK(jq->Join(absl::ZeroDuration()));
  EXPECT_EQ(jq->TaskDone().code(), absl::StatusCode::kFailedPrecondition);
  auto closed = m->Queue("closed");
  EXPECT_EQ(closed->Put("more").code(), absl::StatusCode::kFailedPrecondition);
  EXPECT_EQ(*closed->Get(), Value("last"));
  auto sem = m->BoundedSemaphore("sem", 3);
  ASSERT_OK(sem);
  EXPECT_EQ(*sem->Value(), 3);
  // Still bounded by 3: a release above it is refused.
  EXPECT_EQ(sem->Release().code(), absl::StatusCode::kFailedPrecondition);
  EXPECT_EQ(m->Barrier("bar", 5).status().code(),
            absl::StatusCode::kFailedPrecondition);
  auto cond = m->Condition("cond", "cond-lock");
  ASSERT_OK(cond);
  EXPECT_EQ(m->Condition("cond", "other-lock").status().code(),
            absl::StatusCode::kFailedPrecondition);
  absl::StatusOr<std::vector<ObjectInfo>> objects = m->Objects();
  ASSERT_OK(objects);
  for (const ObjectInfo& o : *objects) EXPECT_NE(o.name, "gone");
  EXPECT_EQ(*m->Dict("again")->Items(), (Map{{Value("new"), Value(2)}}));
  EXPECT_EQ(*m->Dict("cleared")->Items(), (Map{{Value("d"), Value(4)}}));
}

TEST(DurabilityTest, QueueItemsAClientReceivedAreNotHandedOutAgain) {
  DurableManager manager;
  ASSERT_OK(manager.Start());
  {
    std::unique_ptr<Manager> m = Connect(manager.address());
    ASSERT_NE(m, nullptr);
    auto q = m->Queue("q");
    ASSERT_OK(q);
    for (int i = 0; i < 100; ++i) ASSERT_OK(q->Put(i));
    for (int i = 0; i < 50; ++i) EXPECT_EQ(*q->Get(), Value(i));
    // The next frame tells the manager the last answer arrived.
    EXPECT_EQ(*q->Size(), 50);
  }
  ASSERT_OK(manager.Restart());
  std::unique_ptr<Manager> m = Connect(manager.address());
  ASSERT_NE(m, nullptr);
  auto q = m->Queue("q");
  EXPECT_EQ(*q->Size(), 50);
  for (int i = 50; i < 100; ++i) EXPECT_EQ(*q->Get(), Value(i));
}

// --- holdings across a restart --------------------------------------------

TEST(DurabilityTest, LockHolderLearnsItsLockWasLostInARestart) {
  DurableManager manager;
  ASSERT_OK(manager.Start());
  std::unique_ptr<Manager> a = Connect(manager.address());
  ASSERT_NE(a, nullptr);
  auto lock = a->Lock("lk");
  ASSERT_OK(lock);
  ASSERT_TRUE(*lock->Acquire());
  auto sem = a->Semaphore("sem", 1);
  ASSERT_OK(sem);
  ASSERT_TRUE(*sem->Acquire());
  auto cond = a->Condition("cv", "cv-lock");
  ASSERT_OK(cond);
  ASSERT_TRUE(*cond->Acquire());
  const int64_t losses = a->session_losses();

  ASSERT_OK(manager.Restart());
  std::unique_ptr<Manager> b = Connect(manager.address());
  ASSERT_NE(b, nullptr);
  ASSERT_TRUE(*b->Lock("lk")->TryAcquire());
  ASSERT_TRUE(*b->Semaphore("sem", 1)->TryAcquire());

  // A's connection broke with the manager: its first call may fail
  // UNAVAILABLE; the next reconnects.
  absl::StatusOr<bool> locked = lock->Locked();
  if (!locked.ok()) locked = lock->Locked();
  ASSERT_OK(locked);
  EXPECT_TRUE(*locked);  // by B
  // A never succeeds in a release, nor in using the condition's lock.
  for (int round = 0; round < 3; ++round) {
    absl::Status released = lock->Release();
    EXPECT_EQ(released.code(), absl::StatusCode::kAborted) << released;
    EXPECT_TRUE(absl::StrContains(released.message(), "manager restarted"))
        << released;
    EXPECT_EQ(sem->Release().code(), absl::StatusCode::kAborted);
    EXPECT_EQ(cond->Notify().status().code(), absl::StatusCode::kAborted);
  }
  EXPECT_GT(a->session_losses(), losses);
  EXPECT_TRUE(*b->Lock("lk")->Locked());
  EXPECT_EQ(*b->Semaphore("sem", 1)->Value(), 0);  // no permit minted
  ASSERT_OK(b->Lock("lk")->Release());
  ASSERT_OK(b->Semaphore("sem", 1)->Release());
  // Taken again, the lock is A's as before.
  ASSERT_TRUE(*lock->Acquire());
  EXPECT_OK(lock->Release());
}

TEST(DurabilityTest, FencingTokensKeepIncreasingAcrossRestarts) {
  DurableManager manager;
  ASSERT_OK(manager.Start());
  int64_t last = 0;
  for (int run = 0; run < 3; ++run) {
    std::unique_ptr<Manager> m = Connect(manager.address());
    ASSERT_NE(m, nullptr);
    auto lock = m->Lock("fenced");
    ASSERT_OK(lock);
    for (int i = 0; i < 5; ++i) {
      absl::StatusOr<int64_t> token = lock->AcquireToken();
      ASSERT_OK(token);
      EXPECT_GT(*token, last) << "run " << run;
      last = *token;
      ASSERT_OK(lock->Release());
    }
    ASSERT_OK(manager.Restart());
  }
}

// --- a data dir that cannot be used ---------------------------------------

CommandResult StartExpectingFailure(const std::vector<std::string>& args) {
  std::vector<std::string> argv = {MprocBinary(), "manager", "--listen",
                                   "127.0.0.1:0"};
  argv.insert(argv.end(), args.begin(), args.end());
  return RunCommand(argv, {}, absl::Seconds(20));
}

TEST(DurabilityTest, UnusableDataDirsAreRefusedAtStart) {
  const std::string root = TempDir();
  // Missing parent.
  CommandResult r = StartExpectingFailure({"--data-dir", root + "/no/dir"});
  EXPECT_EQ(r.exit_code, 2) << r.err;
  EXPECT_TRUE(absl::StrContains(r.err, root + "/no/dir")) << r.err;
  EXPECT_TRUE(absl::StrContains(r.err, "does not exist")) << r.err;
  // A file, not a directory.
  std::ofstream(root + "/file") << "x";
  r = StartExpectingFailure({"--data-dir", root + "/file"});
  EXPECT_EQ(r.exit_code, 2) << r.err;
  EXPECT_TRUE(absl::StrContains(r.err, "not a directory")) << r.err;
  // A directory of something else.
  std::filesystem::create_directories(root + "/other");
  std::ofstream(root + "/other/CURRENT") << "garbage\n";
  r = StartExpectingFailure({"--data-dir", root + "/other"});
  EXPECT_EQ(r.exit_code, 2) << r.err;
  EXPECT_TRUE(absl::StrContains(r.err, root + "/other")) << r.err;
  // A bad policy.
  r = StartExpectingFailure(
      {"--data-dir", root + "/d", "--fsync", "sometimes"});
  EXPECT_EQ(r.exit_code, 2) << r.err;
  std::error_code ec;
  std::filesystem::remove_all(root, ec);
}

TEST(DurabilityTest, UnknownFormatVersionIsRefused) {
  DurableManager manager;
  ASSERT_OK(manager.Start());
  manager.Kill();
  {
    // A data dir from some other version of mproc.
    rocksdb::DB* db = nullptr;
    ASSERT_TRUE(
        rocksdb::DB::Open(rocksdb::Options(), manager.data_dir(), &db).ok());
    ASSERT_TRUE(
        db->Put(rocksdb::WriteOptions(), rocksdb::Slice("\0format", 7), "9")
            .ok());
    delete db;
  }
  CommandResult r = StartExpectingFailure({"--data-dir", manager.data_dir()});
  EXPECT_EQ(r.exit_code, 2) << r.err;
  EXPECT_TRUE(absl::StrContains(r.err, "format version 9")) << r.err;
  EXPECT_TRUE(absl::StrContains(r.err, manager.data_dir())) << r.err;
}

// A port nobody listens on now.
int FreePort() {
  const int fd = socket(AF_INET, SOCK_STREAM, 0);
  sockaddr_in addr{};
  addr.sin_family = AF_INET;
  addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  socklen_t len = sizeof(addr);
  bind(fd, reinterpret_cast<sockaddr*>(&addr), sizeof(addr));
  getsockname(fd, reinterpret_cast<sockaddr*>(&addr), &len);
  close(fd);
  return ntohs(addr.sin_port);
}

TEST(DurabilityTest, SidecarKeepsItsObjectsInTheStateDirByDefault) {
  const std::string state = TempDir();
  // A fixed address: the default data dir is one per address.
  const std::string listen = absl::StrCat("127.0.0.1:", FreePort());
  auto up = ManagerProcess::StartSidecar(listen, {"--processes", "1"},
                                         {"XDG_STATE_HOME=" + state},
                                         /*default_data_dir=*/true);
  ASSERT_OK(up);
  EXPECT_TRUE(
      absl::StrContains((*up)->start_output(), state + "/mproc/127.0.0.1-"))
      << (*up)->start_output();
  {
    std::unique_ptr<Manager> m = Connect((*up)->address());
    ASSERT_NE(m, nullptr);
    ASSERT_OK(m->Dict("kept")->Set("k", 1));
  }
  up->reset();  // SIGTERM: workers, then the manager
  auto again = ManagerProcess::StartSidecar(listen, {"--processes", "1"},
                                            {"XDG_STATE_HOME=" + state},
                                            /*default_data_dir=*/true);
  ASSERT_OK(again);
  std::unique_ptr<Manager> m = Connect((*again)->address());
  ASSERT_NE(m, nullptr);
  EXPECT_EQ(*m->Dict("kept")->Get("k"), Value(1));
  again->reset();
  // --in-memory keeps nothing, and says so.
  auto in_memory = ManagerProcess::StartSidecar(
      "127.0.0.1:0", {"--processes", "1", "--in-memory"},
      {"XDG_STATE_HOME=" + state}, /*default_data_dir=*/true);
  ASSERT_OK(in_memory);
  EXPECT_TRUE(absl::StrContains((*in_memory)->start_output(),
                                "nothing survives a restart"))
      << (*in_memory)->start_output();
  in_memory->reset();
  std::error_code ec;
  std::filesystem::remove_all(state, ec);
}

TEST(DurabilityTest, DataDirInUseByAnotherManagerIsRefused) {
  DurableManager manager;
  ASSERT_OK(manager.Start());
  CommandResult r = StartExpectingFailure({"--data-dir", manager.data_dir()});
  EXPECT_EQ(r.exit_code, 2) << r.err;
  EXPECT_TRUE(absl::StrContains(r.err, "in use by another manager")) << r.err;
  EXPECT_TRUE(absl::StrContains(r.err, manager.data_dir())) << r.err;
  // The first one is unharmed.
  std::unique_ptr<Manager> m = Connect(manager.address());
  ASSERT_NE(m, nullptr);
  EXPECT_OK(m->Dict("d")->Set("k", 1));
}

TEST(DurabilityTest, DamagedLogIsRefusedUnlessRepaired) {
  // With `always` every acknowledged write is synced: damage to it cannot
  // be a crash's mark.
  DurableManager manager({"--fsync", "always"});
  ASSERT_OK(manager.Start());
  {
    std::unique_ptr<Manager> m = Connect(manager.address());
    ASSERT_NE(m, nullptr);
    auto d = m->Dict("d");
    for (int i = 0; i < 2000; ++i) ASSERT_OK(d->Set(i, std::string(100, 'v')));
  }
  manager.Kill();  // everything is in the manager's log
  std::string log;
  for (const auto& entry :
       std::filesystem::directory_iterator(manager.data_dir())) {
    if (entry.path().extension() == ".mlog") log = entry.path().string();
  }
  ASSERT_FALSE(log.empty());
  {
    // Scribble over records in the middle: not a torn tail but damage.
    std::fstream f(log, std::ios::in | std::ios::out | std::ios::binary);
    f.seekp(100000);
    f << std::string(64, '\x5a');
  }
  CommandResult r = StartExpectingFailure({"--data-dir", manager.data_dir()});
  EXPECT_EQ(r.exit_code, 2) << r.err;
  EXPECT_TRUE(absl::StrContains(r.err, "damaged")) << r.err;
  EXPECT_TRUE(absl::StrContains(r.err, "--repair")) << r.err;
  EXPECT_TRUE(absl::StrContains(r.err, log)) << r.err;

  DurableManager repaired;  // same files, started with --repair
  std::filesystem::copy(manager.data_dir(), repaired.data_dir());
  auto started = ManagerProcess::Start(
      repaired.address(), {"--data-dir", repaired.data_dir(), "--repair"});
  ASSERT_OK(started);
  std::unique_ptr<Manager> m = Connect(repaired.address());
  ASSERT_NE(m, nullptr);
  absl::StatusOr<int64_t> kept = m->Dict("d")->Len();
  ASSERT_OK(kept);
  EXPECT_GT(*kept, 0);  // what comes before the damage
  EXPECT_LT(*kept, 2000);
}

TEST(DurabilityTest, WritesFailWhileTheDiskIsFullAndWorkAgainAfter) {
  DurableManager manager;
  ASSERT_OK(manager.Start());
  std::unique_ptr<Manager> m = Connect(manager.address());
  ASSERT_NE(m, nullptr);
  auto d = m->Dict("d");
  ASSERT_OK(d->Set("before", 1));
  // The manager's files may grow no further than 64 KiB, as on a full
  // disk: writes fill the log segment already reserved, and then fail.
  const pid_t pid = manager.process()->pid();
  rlimit full{64 << 10, RLIM_INFINITY};
  ASSERT_EQ(prlimit(pid, RLIMIT_FSIZE, &full, nullptr), 0);
  const std::string big(100 << 10, 'x');
  std::vector<Value> accepted = {Value("before")};
  absl::Status refused;
  // A segment holds 8 MiB: about 80 of these.
  for (int i = 0; i < 200 && refused.ok(); ++i) {
    refused = d->Set(absl::StrCat("big", i), big);
    if (refused.ok()) accepted.push_back(Value(absl::StrCat("big", i)));
  }
  EXPECT_EQ(refused.code(), absl::StatusCode::kUnavailable) << refused;
  for (int i = 0; i < 5; ++i) {
    refused = d->Set(absl::StrCat("refused", i), big);
    EXPECT_EQ(refused.code(), absl::StatusCode::kUnavailable) << refused;
    EXPECT_TRUE(absl::StrContains(refused.message(), "dict 'd'")) << refused;
    EXPECT_TRUE(absl::StrContains(refused.message(), manager.data_dir()))
        << refused;
  }
  // Reads go on, and nothing refused is there.
  EXPECT_EQ(*d->Get("before"), Value(1));
  EXPECT_EQ(*d->Len(), static_cast<int64_t>(accepted.size()));
  absl::StatusOr<ServerInfo> info = m->Info();
  ASSERT_OK(info);
  // The cause is reported, as the current error and as the last one.
  EXPECT_EQ(info->storage.at(Value("failed_writes")), Value(6));
  EXPECT_TRUE(info->storage.count(Value("write_error")))
      << Value(info->storage).ToString();
  EXPECT_TRUE(info->storage.count(Value("last_write_error")))
      << Value(info->storage).ToString();

  rlimit room{RLIM_INFINITY, RLIM_INFINITY};
  ASSERT_EQ(prlimit(pid, RLIMIT_FSIZE, &room, nullptr), 0);
  // Space is back: writes succeed again within moments.
  absl::Status after = absl::UnknownError("not tried");
  const absl::Time deadline = absl::Now() + absl::Seconds(20);
  while (!after.ok() && absl::Now() < deadline) {
    after = d->Set("after", big);
    if (!after.ok()) absl::SleepFor(absl::Milliseconds(50));
  }
  ASSERT_OK(after);
  ASSERT_OK(manager.Restart());
  std::unique_ptr<Manager> again = Connect(manager.address());
  ASSERT_NE(again, nullptr);
  absl::StatusOr<List> keys = again->Dict("d")->Keys();
  ASSERT_OK(keys);
  std::sort(keys->begin(), keys->end());
  accepted.push_back(Value("after"));
  std::sort(accepted.begin(), accepted.end());
  EXPECT_EQ(*keys, List(accepted.begin(), accepted.end()));
}

// --- a failed fsync ---------------------------------------------------------

// A manager whose log's fsyncs fail (tests/support/fail_log_sync.cc) while
// the file trigger() names exists.
class FailingSyncManager : public DurableManager {
 public:
  explicit FailingSyncManager(const std::string& policy)
      : DurableManager({"--fsync", policy}) {
    const char* srcdir = std::getenv("TEST_SRCDIR");
    SetEnvironment(
        {absl::StrCat("LD_PRELOAD=", srcdir == nullptr ? "." : srcdir,
                      "/mproc/tests/support/libfail_log_sync.so"),
         "MPROC_FAIL_LOG_SYNC_WHILE=" + trigger()});
  }
  void FailSyncs(bool fail) {
    if (fail) {
      std::ofstream(trigger()).put('x');
    } else {
      std::filesystem::remove(trigger());
    }
  }

 private:
  std::string trigger() const { return root() + "/fail-sync"; }
};

// Linux may drop the pages an fsync could not write and report the next
// fsync as done: a failed sync is final, never retried into a success.
TEST(DurabilityTest, AFailedSyncRefusesWritesUntilTheManagerRestarts) {
  FailingSyncManager manager("everysec");
  ASSERT_OK(manager.Start());
  std::unique_ptr<Manager> m = Connect(manager.address());
  ASSERT_NE(m, nullptr);
  auto d = m->Dict("d");
  ASSERT_OK(d->Set("before", 1));

  manager.FailSyncs(true);
  // The next sync (within a second) fails; writes are refused from then.
  std::vector<Value> accepted = {Value("before")};
  absl::Status refused;
  const absl::Time deadline = absl::Now() + absl::Seconds(20);
  for (int i = 0; refused.ok() && absl::Now() < deadline; ++i) {
    refused = d->Set(absl::StrCat("while", i), i);
    if (refused.ok()) accepted.push_back(Value(absl::StrCat("while", i)));
    absl::SleepFor(absl::Milliseconds(20));
  }
  ASSERT_EQ(refused.code(), absl::StatusCode::kUnavailable) << refused;
  EXPECT_TRUE(absl::StrContains(refused.message(), "dict 'd'")) << refused;
  EXPECT_TRUE(absl::StrContains(refused.message(), "cannot sync")) << refused;
  EXPECT_TRUE(absl::StrContains(refused.message(), "restart the manager"))
      << refused;

  // The disk "works" again, but what the failed sync did not write may
  // never be written: writes stay refused through many periodic syncs
  // (a retry would have come every 200 ms), and reads go on.
  manager.FailSyncs(false);
  const absl::Time watch = absl::Now() + absl::Seconds(3);
  int tries = 0;
  while (absl::Now() < watch) {
    const absl::Status again = d->Set("after the failure", tries++);
    ASSERT_EQ(again.code(), absl::StatusCode::kUnavailable) << again;
    absl::SleepFor(absl::Milliseconds(100));
  }
  EXPECT_EQ(*d->Get("before"), Value(1));
  EXPECT_EQ(*d->Len(), static_cast<int64_t>(accepted.size()));
  absl::StatusOr<ServerInfo> info = m->Info();
  ASSERT_OK(info);
  ASSERT_TRUE(info->storage.count(Value("write_error")))
      << Value(info->storage).ToString();
  EXPECT_TRUE(absl::StrContains(
      info->storage.at(Value("write_error")).ToString(), "cannot sync"));

  // A restart reads back what the disk holds and takes writes again.
  ASSERT_OK(manager.Restart());
  std::unique_ptr<Manager> after = Connect(manager.address());
  ASSERT_NE(after, nullptr);
  ASSERT_OK(after->Dict("d")->Set("after the restart", 1));
  absl::StatusOr<List> keys = after->Dict("d")->Keys();
  ASSERT_OK(keys);
  for (const Value& key : accepted) {
    EXPECT_NE(std::find(keys->begin(), keys->end(), key), keys->end())
        << key.ToString();
  }
}

// With `always` every answer waits for a sync, so after one fails none can
// be sent truthfully: the manager says why and exits without answering.
TEST(DurabilityTest, AFailedSyncUnderAlwaysStopsTheManagerUnanswered) {
  FailingSyncManager manager("always");
  ASSERT_OK(manager.Start());
  {
    std::unique_ptr<Manager> m = Connect(manager.address());
    ASSERT_NE(m, nullptr);
    auto d = m->Dict("d");
    ASSERT_OK(d->Set("before", 1));
    manager.FailSyncs(true);
    // (On its own thread: a manager that waited for the disk for ever
    // would hold the answer for ever; it is killed then.)
    absl::Status lost;
    std::thread writer([&] { lost = d->Set("unanswered", 1); });
    const bool said = manager.process()->AwaitOutput("cannot sync");
    const int code = manager.process()->KillAndWait(said ? 0 : SIGKILL);
    writer.join();
    EXPECT_TRUE(said) << manager.process()->output();
    EXPECT_EQ(code, 1) << manager.process()->output();
    EXPECT_TRUE(absl::StrContains(manager.process()->output(), "sync_lost"))
        << manager.process()->output();
    EXPECT_FALSE(lost.ok());
  }
  manager.FailSyncs(false);
  ASSERT_OK(manager.Start());
  std::unique_ptr<Manager> again = Connect(manager.address());
  ASSERT_NE(again, nullptr);
  EXPECT_EQ(*again->Dict("d")->Get("before"), Value(1));
  ASSERT_OK(again->Dict("d")->Set("after", 1));
}

TEST(DurabilityTest, BackupTakenWhileServingStartsAManager) {
  DurableManager manager;
  ASSERT_OK(manager.Start());
  std::unique_ptr<Manager> m = Connect(manager.address());
  ASSERT_NE(m, nullptr);
  auto d = m->Dict("d");
  for (int i = 0; i < 1000; ++i) ASSERT_OK(d->Set(i, i * i));
  ASSERT_OK(m->Queue("q")->Put("queued"));
  DurableManager copy;
  ASSERT_OK(m->Backup(copy.data_dir()));
  ASSERT_OK(d->Set("later", 1));  // after the backup: not in it
  EXPECT_EQ(m->Backup(copy.data_dir()).code(),
            absl::StatusCode::kFailedPrecondition);  // exists now

  ASSERT_OK(copy.Start());
  std::unique_ptr<Manager> from_copy = Connect(copy.address());
  ASSERT_NE(from_copy, nullptr);
  EXPECT_EQ(*from_copy->Dict("d")->Len(), 1000);
  EXPECT_EQ(*from_copy->Dict("d")->Get(30), Value(900));
  EXPECT_EQ(*from_copy->Queue("q")->Get(), Value("queued"));
  // The original serves on, with everything.
  EXPECT_EQ(*d->Len(), 1001);
}

TEST(DurabilityTest, ManagerWithoutDataDirSaysItKeepsNothing) {
  auto in_memory = ManagerProcess::Start();
  ASSERT_OK(in_memory);
  EXPECT_TRUE(absl::StrContains((*in_memory)->start_output(),
                                "nothing survives a restart"))
      << (*in_memory)->start_output();
  std::unique_ptr<Manager> m = Connect((*in_memory)->address());
  ASSERT_NE(m, nullptr);
  EXPECT_EQ(m->Backup("/tmp/x").code(), absl::StatusCode::kFailedPrecondition);
  absl::StatusOr<ServerInfo> info = m->Info();
  ASSERT_OK(info);
  EXPECT_EQ(info->storage[Value("persistence")], Value("memory"));
}

TEST(DurabilityTest, ManyEntriesAndItemsAreLoadedBack) {
  constexpr int kEntries = 100000;
  DurableManager manager;
  ASSERT_OK(manager.Start());
  {
    std::unique_ptr<Manager> m = Connect(manager.address());
    ASSERT_NE(m, nullptr);
    auto d = m->Dict("d");
    auto q = m->Queue("q");
    for (int start = 0; start < kEntries; start += 1000) {
      Map entries;
      List items;
      for (int i = start; i < start + 1000; ++i) {
        entries[Value(i)] = Value(absl::StrCat("value-", i));
        items.push_back(i);
      }
      ASSERT_OK(d->Update(entries));
      ASSERT_OK(q->PutMany(items));
    }
  }
  ASSERT_OK(manager.Restart());
  std::cout << manager.process()->start_output();
  std::unique_ptr<Manager> m = Connect(manager.address());
  ASSERT_NE(m, nullptr);
  EXPECT_EQ(*m->Dict("d")->Len(), kEntries);
  EXPECT_EQ(*m->Dict("d")->Get(77777), Value("value-77777"));
  auto q = m->Queue("q");
  EXPECT_EQ(*q->Size(), kEntries);
  EXPECT_EQ(*q->Get(), Value(0));
}

}  // namespace
}  // namespace mproc
