// What a client sets in its environment for gRPC, and what a manager
// started from it takes away: only the client's own settings.
#include "common/client_grpc_env.h"

#include <cstdlib>
#include <string>

#include "gtest/gtest.h"

namespace mproc {
namespace {

std::string Env(const char* name) {
  const char* value = std::getenv(name);
  return value == nullptr ? "<unset>" : value;
}

class ClientGrpcEnvTest : public ::testing::Test {
 protected:
  void SetUp() override {
    for (const char* name : {"GRPC_ENABLE_FORK_SUPPORT", "GRPC_POLL_STRATEGY",
                             "GRPC_CLIENT_CHANNEL_BACKUP_POLL_INTERVAL_MS",
                             kClientGrpcEnvMarker}) {
      unsetenv(name);
    }
  }
};

TEST_F(ClientGrpcEnvTest, ClientSettingsAreDroppedAgain) {
  SetClientGrpcEnv();
  EXPECT_EQ(Env("GRPC_POLL_STRATEGY"), "poll");
  EXPECT_EQ(Env("GRPC_ENABLE_FORK_SUPPORT"), "1");
  EXPECT_EQ(Env("GRPC_CLIENT_CHANNEL_BACKUP_POLL_INTERVAL_MS"), "200");
  SetClientGrpcEnv();  // a second client in the same process: no change
  DropClientGrpcEnv();
  EXPECT_EQ(Env("GRPC_POLL_STRATEGY"), "<unset>");
  EXPECT_EQ(Env("GRPC_ENABLE_FORK_SUPPORT"), "<unset>");
  EXPECT_EQ(Env("GRPC_CLIENT_CHANNEL_BACKUP_POLL_INTERVAL_MS"), "<unset>");
  EXPECT_EQ(Env(kClientGrpcEnvMarker), "<unset>");
}

TEST_F(ClientGrpcEnvTest, TheMarkerNamesWhatTheClientSetOnce) {
  setenv("GRPC_POLL_STRATEGY", "poll", 1);  // the user's, before the client
  SetClientGrpcEnv();
  EXPECT_EQ(Env(kClientGrpcEnvMarker),
            "GRPC_ENABLE_FORK_SUPPORT,GRPC_CLIENT_CHANNEL_BACKUP_POLL_"
            "INTERVAL_MS");
  // A child whose parent's variable was removed but not the marker.
  unsetenv("GRPC_ENABLE_FORK_SUPPORT");
  SetClientGrpcEnv();
  EXPECT_EQ(Env(kClientGrpcEnvMarker),
            "GRPC_ENABLE_FORK_SUPPORT,GRPC_CLIENT_CHANNEL_BACKUP_POLL_"
            "INTERVAL_MS");
  DropClientGrpcEnv();
  EXPECT_EQ(Env("GRPC_POLL_STRATEGY"), "poll");  // never the client's
  EXPECT_EQ(Env("GRPC_ENABLE_FORK_SUPPORT"), "<unset>");
}

TEST_F(ClientGrpcEnvTest, TheUsersOwnSettingsStay) {
  setenv("GRPC_POLL_STRATEGY", "epoll1", 1);
  SetClientGrpcEnv();
  EXPECT_EQ(Env("GRPC_POLL_STRATEGY"), "epoll1");
  // Changed after the client set it: the user's now.
  setenv("GRPC_CLIENT_CHANNEL_BACKUP_POLL_INTERVAL_MS", "1000", 1);
  DropClientGrpcEnv();
  EXPECT_EQ(Env("GRPC_POLL_STRATEGY"), "epoll1");
  EXPECT_EQ(Env("GRPC_CLIENT_CHANNEL_BACKUP_POLL_INTERVAL_MS"), "1000");
  EXPECT_EQ(Env("GRPC_ENABLE_FORK_SUPPORT"), "<unset>");
}

TEST_F(ClientGrpcEnvTest, NothingToDropWithoutTheMarker) {
  setenv("GRPC_POLL_STRATEGY", "poll", 1);  // the user's, no marker
  DropClientGrpcEnv();
  EXPECT_EQ(Env("GRPC_POLL_STRATEGY"), "poll");
}

}  // namespace
}  // namespace mproc
