// mproc::Pipe between real processes: messages both ways, end of file,
// one-way pipes, large messages, and what happens on misuse.
#include "worker/process/pipe.h"

#include <sys/socket.h>
#include <unistd.h>

#include <string>

#include "gtest/gtest.h"
#include "tests/support/status_matchers.h"
#include "worker/process/process.h"

namespace mproc {
namespace {

TEST(PipeTest, RoundTripBothWays) {
  auto [parent, child] = *Pipe();
  Process echo([&parent = parent, &child = child] {
    parent.Close();  // the child's copy of the parent's end
    for (;;) {
      absl::StatusOr<Value> v = child.Recv();
      if (IsEndOfFile(v.status())) return absl::OkStatus();
      if (!v.ok()) return v.status();
      if (absl::Status s = child.Send(List{"echo", *v}); !s.ok()) return s;
    }
  });
  ASSERT_OK(echo.Start());
  child.Close();
  for (const Value& v :
       {Value(1), Value("two"), Value(3.5), Value(Bytes{"\0x"}),
        Value(Map{{"k", List{1, nullptr, true}}})}) {
    ASSERT_OK(parent.Send(v));
    absl::StatusOr<Value> back = parent.Recv();
    ASSERT_OK(back);
    EXPECT_EQ(*back, Value(List{"echo", v}));
  }
  parent.Close();  // the child sees end of file and exits cleanly
  ASSERT_OK(echo.Join());
  EXPECT_EQ(echo.exitcode(), 0);
}

TEST(PipeTest, RecvAfterTheOtherEndClosedIsEndOfFile) {
  auto [parent, child] = *Pipe();
  Process sender([&parent = parent, &child = child] {
    parent.Close();
    return child.Send("last words");
  });
  ASSERT_OK(sender.Start());
  child.Close();
  EXPECT_EQ(*parent.Recv(), Value("last words"));  // sent before closing
  absl::StatusOr<Value> eof = parent.Recv();
  EXPECT_CODE(eof, absl::StatusCode::kOutOfRange);
  EXPECT_TRUE(IsEndOfFile(eof.status()));
  ASSERT_OK(sender.Join());
}

TEST(PipeTest, OneWayPipeHasAReaderAndAWriter) {
  auto [reader, writer] = *Pipe(/*duplex=*/false);
  EXPECT_TRUE(reader.readable());
  EXPECT_FALSE(reader.writable());
  EXPECT_FALSE(writer.readable());
  EXPECT_CODE(reader.Send(1), absl::StatusCode::kFailedPrecondition);
  EXPECT_CODE(writer.Recv(), absl::StatusCode::kFailedPrecondition);
  ASSERT_OK(writer.Send(42));
  EXPECT_EQ(*reader.Recv(), Value(42));
}

TEST(PipeTest, LargeMessagesCrossIntact) {
  auto [parent, child] = *Pipe();
  Process doubler([&child = child] {
    absl::StatusOr<Value> v = child.Recv();
    if (!v.ok()) return v.status();
    std::string s = v->bytes_value();
    return child.Send(Bytes{s + s});
  });
  ASSERT_OK(doubler.Start());
  std::string big(20 << 20, '\0');
  for (size_t i = 0; i < big.size(); ++i) big[i] = static_cast<char>(i * 131);
  ASSERT_OK(parent.Send(Bytes{big}));
  absl::StatusOr<Value> back = parent.Recv();
  ASSERT_OK(back);
  EXPECT_EQ(back->bytes_value(), big + big);
  ASSERT_OK(doubler.Join());
}

TEST(PipeTest, ManyMessagesArriveInOrder) {
  auto [reader, writer] = *Pipe(false);
  Process producer([&writer = writer] {
    for (int i = 0; i < 20000; ++i) {
      if (absl::Status s = writer.Send(i); !s.ok()) return s;
    }
    return absl::OkStatus();
  });
  ASSERT_OK(producer.Start());
  writer.Close();
  for (int i = 0; i < 20000; ++i) {
    absl::StatusOr<Value> v = reader.Recv();
    ASSERT_OK(v);
    ASSERT_EQ(*v, Value(i));
  }
  EXPECT_TRUE(IsEndOfFile(reader.Recv().status()));
  ASSERT_OK(producer.Join());
}

TEST(PipeTest, BytesAndValuesAreDistinctMessages) {
  auto [a, b] = *Pipe();
  ASSERT_OK(a.SendBytes("raw"));
  ASSERT_OK(a.Send("value"));
  ASSERT_OK(a.SendBytes(std::string(200000, 'x')));
  EXPECT_EQ(*b.RecvBytes(), "raw");
  EXPECT_EQ(*b.Recv(), Value("value"));
  EXPECT_CODE(b.Recv(), absl::StatusCode::kInvalidArgument);  // was bytes
  ASSERT_OK(a.SendBytes(""));
  EXPECT_EQ(*b.RecvBytes(), "");
}

TEST(PipeTest, PollWaitsForAMessage) {
  auto [a, b] = *Pipe();
  EXPECT_FALSE(*b.Poll());
  EXPECT_FALSE(*b.Poll(absl::Milliseconds(20)));
  ASSERT_OK(a.Send(1));
  EXPECT_TRUE(*b.Poll(absl::Seconds(10)));
  EXPECT_EQ(*b.Recv(), Value(1));
  a.Close();
  EXPECT_TRUE(*b.Poll()) << "end of file counts as ready";
}

TEST(PipeTest, SendToAClosedPeerIsAnErrorNotSigpipe) {
  auto [a, b] = *Pipe();
  b.Close();
  EXPECT_CODE(a.Send("anyone?"), absl::StatusCode::kFailedPrecondition);
  a.Close();
  EXPECT_CODE(a.Send(1), absl::StatusCode::kFailedPrecondition);
  EXPECT_CODE(a.Poll(), absl::StatusCode::kFailedPrecondition);
}

TEST(PipeTest, CorruptStreamIsDataLoss) {
  auto [a, b] = *Pipe();
  const char garbage[] = "\x07garbage-header";
  ASSERT_EQ(::send(a.fd(), garbage, sizeof garbage, 0),
            static_cast<ssize_t>(sizeof garbage));
  EXPECT_CODE(b.Recv(), absl::StatusCode::kDataLoss);

  auto [c, d] = *Pipe();
  // A value frame announcing 100 bytes, then the writer goes away.
  const char header[8] = {1, 100, 0, 0, 0, 0, 0, 0};
  ASSERT_EQ(::send(c.fd(), header, sizeof header, 0), 8);
  c.Close();
  EXPECT_CODE(d.Recv(), absl::StatusCode::kDataLoss);
}

}  // namespace
}  // namespace mproc
