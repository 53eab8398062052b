// The Session stream at its edges, driven by raw gRPC streams that behave
// as a hostile or unlucky client would: pipelining and dying before
// reading, flooding without reading, asking for answers over the limit.
// A real manager serves them; the promises are that no queued item is
// lost, memory stays bounded, frames stay under the limit, and the
// manager keeps serving everyone else.
#include <grpcpp/grpcpp.h>
#include <signal.h>

#include <algorithm>
#include <iostream>
#include <string>
#include <thread>
#include <vector>

#include "absl/strings/match.h"
#include "absl/time/clock.h"
#include "common/metadata.h"
#include "common/wire.h"
#include "proto/mproc.grpc.pb.h"
#include "tests/support/manager_fixture.h"
#include "tests/support/os_probes.h"
#include "tests/support/raw_calls.h"
#include "tests/support/wire_requests.h"
#include "worker/process/pipe.h"
#include "worker/process/process.h"

namespace mproc {
namespace {

using testing::ManagerProcess;

using testing::MakeRequest;

// A raw Session stream: what a client library does, minus the reading.
struct RawSession {
  explicit RawSession(const std::string& address)
      : stub(testing::RawStub(address)) {
    EXPECT_OK(testing::AuthenticateRawCall(stub.get(), address, &context));
    context.AddMetadata(kSessionMetadata, "raw-session");
    stream = stub->Session(&context);
  }
  // Sends `n` requests made by `make(i)`, `per_frame` to a frame.
  bool Send(int n, int per_frame, const std::function<pb::Request(int)>& make) {
    for (int i = 0; i < n;) {
      pb::RequestFrame frame;
      for (int j = 0; j < per_frame && i < n; ++j, ++i) {
        pb::Request r = make(i);
        r.set_id(i + 1);
        *frame.add_requests() = std::move(r);
      }
      if (!stream->Write(frame)) return false;
    }
    return true;
  }
  std::unique_ptr<pb::Manager::Stub> stub;
  grpc::ClientContext context;
  std::unique_ptr<grpc::ClientReaderWriter<pb::RequestFrame, pb::ResponseFrame>>
      stream;
};

// Waits until `probe()` is true; false after 30 s.
bool AwaitTrue(const std::function<bool()>& probe) {
  const absl::Time deadline = absl::Now() + absl::Seconds(30);
  while (absl::Now() < deadline) {
    if (probe()) return true;
    absl::SleepFor(absl::Milliseconds(5));
  }
  return false;
}

TEST(SessionStreamTest,
     PipelinedGetsOfAConsumerThatDiesBeforeReadingLoseNoItem) {
  auto server = ManagerProcess::Start();
  ASSERT_OK(server);
  const std::string address = (*server)->address();
  auto manager = Manager::Connect(address);
  ASSERT_OK(manager);
  absl::StatusOr<QueueProxy> queue = (*manager)->Queue("jobs");
  ASSERT_OK(queue);
  constexpr int kItems = 20000;
  List items;
  for (int i = 0; i < kItems; ++i) items.push_back(Value(i));
  ASSERT_OK(queue->PutMany(items));

  auto [parent, child] = *Pipe();
  Process consumer([&, &child = child] {
    RawSession session(address);
    const bool sent = session.Send(kItems, 500, [](int) {
      return MakeRequest(pb::QUEUE_GET, "jobs", {false});
    });
    if (!child.Send(sent).ok()) return 2;
    for (;;) pause();  // killed before reading a single answer
  });
  ASSERT_OK(consumer.Start());
  ASSERT_EQ(*parent.Recv(), Value(true));
  // Every get has run once the queue is empty.
  ASSERT_TRUE(AwaitTrue([&] { return *queue->Size() == 0; }));
  ASSERT_OK(consumer.Kill());
  ASSERT_OK(consumer.Join());
  // All of them come back, in their order.
  ASSERT_TRUE(AwaitTrue([&] { return *queue->Size() == kItems; }))
      << *queue->Size() << " of " << kItems << " items came back";
  absl::StatusOr<List> back = queue->GetMany(kItems);
  ASSERT_OK(back);
  EXPECT_EQ(*back, items);
}

TEST(SessionStreamTest, ItemsAConsumerReceivedAreNotGivenBackWhenItLeaves) {
  auto server = ManagerProcess::Start();
  ASSERT_OK(server);
  const std::string address = (*server)->address();
  auto manager = Manager::Connect(address);
  ASSERT_OK(manager);
  absl::StatusOr<QueueProxy> queue = (*manager)->Queue("once");
  ASSERT_OK(queue);
  for (int i = 0; i < 100; ++i) ASSERT_OK(queue->Put(i));
  // A real client takes them and goes away cleanly, and another is killed
  // after taking its share: what each received is delivered exactly once.
  Process polite([&] {
    auto m = Manager::Connect(address);
    if (!m.ok()) return 2;
    absl::StatusOr<QueueProxy> q = (*m)->Queue("once");
    for (int i = 0; i < 50; ++i) {
      if (!q.ok() || !q->GetNowait().ok()) return 3;
    }
    return 0;
  });
  ASSERT_OK(polite.Start());
  ASSERT_OK(polite.Join());
  EXPECT_EQ(*polite.exitcode(), 0);
  Process killed([&] {
    auto m = Manager::Connect(address);
    if (!m.ok()) return 2;
    absl::StatusOr<QueueProxy> q = (*m)->Queue("once");
    absl::StatusOr<QueueProxy> marker = (*m)->Queue("marker");
    for (int i = 0; i < 49; ++i) {
      if (!q.ok() || !q->GetNowait().ok()) return 3;
    }
    // Parks forever; its frame acknowledges the answers before it.
    if (!marker.ok()) return 4;
    marker->Get().IgnoreError();
    return 5;
  });
  ASSERT_OK(killed.Start());
  ASSERT_TRUE(testing::AwaitDetail(**manager, "marker", "getters", Value(1)));
  ASSERT_OK(killed.Kill());
  ASSERT_OK(killed.Join());
  // Its stream's end has been handled once its parked get is withdrawn
  // (after the give-backs): nothing it received came back.
  ASSERT_TRUE(testing::AwaitDetail(**manager, "marker", "getters", Value(0)));
  EXPECT_EQ(*queue->Size(), 1);
}

TEST(SessionStreamTest,
     NonReadingFloodKeepsManagerMemoryBoundedAndOthersServed) {
  auto server = ManagerProcess::Start(
      "127.0.0.1:0", {"--max-unsent-bytes", std::to_string(16 << 20)});
  ASSERT_OK(server);
  const std::string address = (*server)->address();
  auto manager = Manager::Connect(address);
  ASSERT_OK(manager);
  absl::StatusOr<DictProxy> dict = (*manager)->Dict("big");
  ASSERT_OK(dict);
  ASSERT_OK(dict->Set("blob", std::string(1 << 20, 'x')));
  const int64_t before = testing::ResidentBytes((*server)->pid());
  ASSERT_GT(before, 0);

  // 2,000 gets of a 1 MiB value: 2 GB of answers if the manager kept
  // reading, sent from ~60 KB of requests.
  auto [parent, child] = *Pipe();
  Process flood([&, &child = child] {
    RawSession session(address);
    const bool sent = session.Send(2000, 10, [](int) {
      return MakeRequest(pb::DICT_GET, "big", {"blob"});
    });
    if (!child.Send(sent).ok()) return 2;
    for (;;) pause();
  });
  ASSERT_OK(flood.Start());
  ASSERT_EQ(*parent.Recv(), Value(true));  // in the transport's buffers
  // Unbounded, the manager would grow by 2 GB within a second or two.
  int64_t during = 0;
  for (const absl::Time end = absl::Now() + absl::Seconds(3);
       absl::Now() < end;) {
    during = std::max(during, testing::ResidentBytes((*server)->pid()));
    absl::SleepFor(absl::Milliseconds(20));
  }
  EXPECT_LT(during - before, int64_t{300} << 20)
      << "manager grew from " << before << " to " << during << " bytes";
  // And everyone else is served.
  for (int i = 0; i < 100; ++i) {
    const absl::Time start = absl::Now();
    ASSERT_OK(dict->Set("n", i));
    EXPECT_LT(absl::Now() - start, absl::Seconds(1));
  }
  ASSERT_OK(flood.Kill());
  ASSERT_OK(flood.Join());
  EXPECT_TRUE(*dict->Contains("blob"));
  // What its answers held goes back to the system once it is gone.
  if (testing::kSanitizerAllocator) return;
  int64_t after = 0;
  const bool returned = AwaitTrue([&] {
    after = testing::ResidentBytes((*server)->pid());
    return after - before < int64_t{8} << 20;
  });
  std::cout << "manager RSS " << before << " before the flood, " << during
            << " during, " << after << " after the client went\n";
  EXPECT_TRUE(returned) << "manager kept " << after - before << " bytes";
}

TEST(SessionStreamTest, AnswersPiledUpForAClientAreSplitUnderTheMessageLimit) {
  constexpr int64_t kLimit = 4 << 20;
  auto server = ManagerProcess::Start(
      "127.0.0.1:0", {"--max-message-bytes", std::to_string(kLimit)});
  ASSERT_OK(server);
  const std::string address = (*server)->address();
  auto manager = Manager::Connect(address);
  ASSERT_OK(manager);
  absl::StatusOr<DictProxy> dict = (*manager)->Dict("blobs");
  ASSERT_OK(dict);
  ASSERT_OK(dict->Set("blob", std::string(1 << 20, 'y')));
  RawSession session(address);
  constexpr int kGets = 60;
  ASSERT_TRUE(session.Send(kGets, kGets, [](int) {
    return MakeRequest(pb::DICT_GET, "blobs", {"blob"});
  }));
  // Read nothing for a while, so the answers pile up on the manager.
  absl::SleepFor(absl::Milliseconds(500));
  int answers = 0;
  pb::ResponseFrame frame;
  while (answers < kGets && session.stream->Read(&frame)) {
    EXPECT_LE(static_cast<int64_t>(frame.ByteSizeLong()), kLimit);
    for (const pb::Response& r : frame.responses()) {
      EXPECT_EQ(r.code(), 0) << r.message();
      ++answers;
    }
  }
  EXPECT_EQ(answers, kGets);
}

TEST(SessionStreamTest, GetManyTakesNoMoreThanFitsInOneAnswer) {
  auto server = ManagerProcess::Start(
      "127.0.0.1:0", {"--max-message-bytes", std::to_string(1 << 20)});
  ASSERT_OK(server);
  auto manager = Manager::Connect((*server)->address());
  ASSERT_OK(manager);
  absl::StatusOr<QueueProxy> queue = (*manager)->Queue("q");
  ASSERT_OK(queue);
  for (int i = 0; i < 20; ++i) {
    ASSERT_OK(queue->Put(std::string(100 << 10, 'a' + i)));
  }
  // 20 items of 100 KiB do not fit in 1 MiB: the first ones that do come
  // back, in order, and the rest stay queued.
  absl::StatusOr<List> first = queue->GetMany(20);
  ASSERT_OK(first);
  ASSERT_GT(first->size(), 1u);
  ASSERT_LT(first->size(), 11u);
  for (size_t i = 0; i < first->size(); ++i) {
    EXPECT_EQ((*first)[i], Value(std::string(100 << 10, 'a' + i)));
  }
  EXPECT_EQ(*queue->Size(), static_cast<int64_t>(20 - first->size()));
  absl::StatusOr<List> next = queue->GetMany(1);
  ASSERT_OK(next);
  EXPECT_EQ((*next)[0], Value(std::string(100 << 10, 'a' + first->size())));
}

TEST(SessionStreamTest, AnswerOverTheLimitIsRefusedAndTheSessionLives) {
  auto server = ManagerProcess::Start(
      "127.0.0.1:0", {"--max-message-bytes", std::to_string(1 << 20)});
  ASSERT_OK(server);
  auto manager = Manager::Connect((*server)->address());
  ASSERT_OK(manager);
  absl::StatusOr<DictProxy> dict = (*manager)->Dict("wide");
  ASSERT_OK(dict);
  for (int i = 0; i < 12; ++i) {
    ASSERT_OK(dict->Set(i, std::string(100 << 10, 'z')));
  }
  for (const absl::Status& refused :
       {dict->Items().status(), dict->Values().status()}) {
    EXPECT_CODE(refused, absl::StatusCode::kResourceExhausted);
    EXPECT_TRUE(absl::StrContains(refused.message(), "dict 'wide'")) << refused;
  }
  ASSERT_OK(dict->Keys());  // small: fits
  absl::StatusOr<ListProxy> list = (*manager)->List("long");
  ASSERT_OK(list);
  for (int i = 0; i < 12; ++i)
    ASSERT_OK(list->Append(std::string(100 << 10, 'y')));
  EXPECT_CODE(list->Slice(0, 12).status(),
              absl::StatusCode::kResourceExhausted);
  ASSERT_OK(list->Slice(0, 5));
  EXPECT_EQ(*dict->Len(), 12);
  EXPECT_EQ((*manager)->streams_opened(), 1);
}

TEST(SessionStreamTest, OpenOfAHugeArrayIsRefusedAtOnce) {
  auto server = ManagerProcess::Start();
  ASSERT_OK(server);
  auto manager = Manager::Connect((*server)->address());
  ASSERT_OK(manager);
  const int64_t before = testing::ResidentBytes((*server)->pid());
  const absl::Time start = absl::Now();
  absl::StatusOr<ArrayProxy> huge =
      (*manager)->Array("huge", "d", int64_t{1} << 27);
  EXPECT_CODE(huge.status(), absl::StatusCode::kResourceExhausted);
  EXPECT_TRUE(absl::StrContains(huge.status().message(), "--max-object-bytes"))
      << huge.status();
  EXPECT_LT(absl::Now() - start, absl::Seconds(1));
  EXPECT_LT(testing::ResidentBytes((*server)->pid()) - before,
            int64_t{64} << 20);
  // One that fits is made.
  EXPECT_OK((*manager)->Array("fits", "d", 1 << 20));
}

TEST(SessionStreamTest, HundredThousandParkedWaitersAreWithdrawnQuickly) {
  auto server = ManagerProcess::Start();
  ASSERT_OK(server);
  const std::string address = (*server)->address();
  auto manager = Manager::Connect(address);
  ASSERT_OK(manager);
  ASSERT_OK((*manager)->Queue("empty"));
  absl::StatusOr<DictProxy> dict = (*manager)->Dict("other");
  ASSERT_OK(dict);
  constexpr int kWaiters = 100000;
  Process waiters([&] {
    RawSession session(address);
    session.Send(kWaiters, 1000, [](int) {
      return MakeRequest(pb::QUEUE_GET, "empty", {true, 60.0});
    });
    for (;;) pause();
  });
  ASSERT_OK(waiters.Start());
  ASSERT_TRUE(AwaitTrue([&] {
    return testing::DetailOf(**manager, "empty", "getters") == Value(kWaiters);
  }));
  const int64_t timers_parked = (*manager)->Info()->timers;
  EXPECT_GE(timers_parked, kWaiters);  // each has its timeout
  ASSERT_OK(waiters.Kill());
  const absl::Time killed = absl::Now();
  // Another client keeps working while they are withdrawn.
  std::vector<absl::Duration> latencies;
  while (testing::DetailOf(**manager, "empty", "getters") != Value(0)) {
    const absl::Time start = absl::Now();
    ASSERT_OK(dict->Set("k", 1));
    latencies.push_back(absl::Now() - start);
    ASSERT_LT(absl::Now() - killed, absl::Seconds(30));
  }
  const absl::Duration withdrawn = absl::Now() - killed;
  ASSERT_OK(waiters.Join());
  std::sort(latencies.begin(), latencies.end());
  const absl::Duration p99 = latencies[latencies.size() * 99 / 100];
  std::cout << "withdrew " << kWaiters << " parked gets in "
            << absl::FormatDuration(withdrawn) << "; another client's p99 "
            << absl::FormatDuration(p99) << " over " << latencies.size()
            << " calls\n";
  EXPECT_LT(withdrawn, absl::Milliseconds(1500));
  EXPECT_LT(p99, absl::Milliseconds(500));
  // Their timeouts went with them.
  EXPECT_LT((*manager)->Info()->timers, 100);
}

TEST(SessionStreamTest, AskingForAllOfAHugeDictStallsNoOtherClient) {
  // A two-second lease: the manager pings a silent client after a second
  // and drops it if the ping's answer has not been read a second later —
  // as happened when one turn of its event loop built all of a 90 MB dict
  // before finding it too large (and everyone else waited as long).
  auto server = ManagerProcess::Start(
      "127.0.0.1:0",
      {"--max-message-bytes", std::to_string(1 << 20), "--session-lease", "2"});
  ASSERT_OK(server);
  const std::string address = (*server)->address();
  auto manager = Manager::Connect(address);
  ASSERT_OK(manager);
  absl::StatusOr<DictProxy> huge = (*manager)->Dict("huge");
  ASSERT_OK(huge);
  constexpr int kEntries = 800000;
  for (int base = 0; base < kEntries; base += 4000) {
    Map batch;
    for (int i = base; i < base + 4000; ++i) batch[i] = std::string(100, 'v');
    ASSERT_OK(huge->Update(batch));
  }
  absl::StatusOr<DictProxy> other = (*manager)->Dict("other");
  ASSERT_OK(other);
  ASSERT_OK(other->Set("k", 0));
  auto idle = Manager::Connect(address);  // says nothing from here on
  ASSERT_OK(idle);

  constexpr int kAsks = 100;
  RawSession greedy(address);
  int too_large = 0;
  std::thread reader([&] {
    int answers = 0;
    pb::ResponseFrame frame;
    while (answers < kAsks && greedy.stream->Read(&frame)) {
      for (const pb::Response& r : frame.responses()) {
        ++answers;
        too_large +=
            r.code() == static_cast<int>(absl::StatusCode::kResourceExhausted);
      }
    }
  });
  ASSERT_TRUE(greedy.Send(kAsks, 1, [](int i) {
    return MakeRequest(i % 2 == 0 ? pb::DICT_ITEMS : pb::DICT_VALUES, "huge",
                       {});
  }));
  // Meanwhile another client works.
  std::vector<absl::Duration> latencies;
  const absl::Time start = absl::Now();
  while (absl::Now() - start < absl::Seconds(3)) {
    const absl::Time call = absl::Now();
    ASSERT_OK(other->Set("k", 1));
    latencies.push_back(absl::Now() - call);
  }
  reader.join();
  EXPECT_EQ(too_large, kAsks);
  std::sort(latencies.begin(), latencies.end());
  const absl::Duration p99 = latencies[latencies.size() * 99 / 100];
  std::cout << "while " << kAsks << " asks for all of a " << kEntries
            << "-entry dict were refused, another client's p99 was "
            << absl::FormatDuration(p99) << " and its slowest call "
            << absl::FormatDuration(latencies.back()) << " over "
            << latencies.size() << " calls\n";
  EXPECT_LT(latencies.back(), absl::Milliseconds(500));
  ASSERT_OK((*idle)->Info());
  EXPECT_EQ((*idle)->streams_opened(), 1);  // never dropped
  EXPECT_EQ((*manager)->streams_opened(), 1);
}

TEST(SessionStreamTest, AnsweredTimedWaitsDropTheirTimerEntries) {
  auto server = ManagerProcess::Start();
  ASSERT_OK(server);
  auto manager = Manager::Connect((*server)->address());
  ASSERT_OK(manager);
  absl::StatusOr<QueueProxy> queue = (*manager)->Queue("q");
  ASSERT_OK(queue);
  RawSession session((*server)->address());
  constexpr int kGets = 10000;
  ASSERT_TRUE(session.Send(kGets, 1000, [](int) {
    return MakeRequest(pb::QUEUE_GET, "q", {true, 600.0});
  }));
  ASSERT_TRUE(AwaitTrue([&] {
    return testing::DetailOf(**manager, "q", "getters") == Value(kGets);
  }));
  EXPECT_GE((*manager)->Info()->timers, kGets);
  List items(kGets, Value(1));
  ASSERT_OK(queue->PutMany(items));
  // All answered: none of their ten-minute timeouts stays behind.
  EXPECT_EQ(testing::DetailOf(**manager, "q", "getters"), Value(0));
  EXPECT_LT((*manager)->Info()->timers, 100);
  int answers = 0;
  pb::ResponseFrame frame;
  while (answers < kGets && session.stream->Read(&frame)) {
    answers += frame.responses_size();
  }
  EXPECT_EQ(answers, kGets);
}

}  // namespace
}  // namespace mproc
