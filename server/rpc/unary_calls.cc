#include "server/rpc/manager_calls.h"

namespace mproc {
namespace {

// One unary RPC: awaited, answered at once on the polling thread, then
// finished. `Serve` computes the answer; `Request` asks gRPC for the call.
template <typename RequestT, typename ResponseT>
class UnaryCall : public AsyncCall {
 public:
  using Serve = grpc::Status (ManagerService::*)(grpc::ServerContext*,
                                                 const RequestT&,
                                                 ResponseT*) const;
  using Request = void (ManagerService::*)(
      grpc::ServerContext*, RequestT*,
      grpc::ServerAsyncResponseWriter<ResponseT>*, grpc::CompletionQueue*,
      grpc::ServerCompletionQueue*, void*);

  static void Await(ManagerService* service, RpcThreads* threads,
                    grpc::ServerCompletionQueue* cq, Request request,
                    Serve serve) {
    new UnaryCall(service, threads, cq, request, serve);
  }

  void OnEvent(int event, bool ok) override {
    if (event == kFinished || !ok) {  // answered, or the server stopped
      delete this;
      return;
    }
    Await(service_, threads_, cq_, request_, serve_);
    status_ = (service_->*serve_)(&context_, request_message_, &response_);
    // With fsync "always" the answer waits until what it changed is on
    // disk (a sync shared with every call made meanwhile).
    if (Journal* journal = service_->journal();
        journal != nullptr &&
        !journal->AwaitDurable(journal->AnswerTicket(), [this] { Finish(); })) {
      return;
    }
    Finish();
  }

 private:
  enum Event { kArrived, kFinished };

  void Finish() { responder_.Finish(response_, status_, &finished_tag_); }

  UnaryCall(ManagerService* service, RpcThreads* threads,
            grpc::ServerCompletionQueue* cq, Request request, Serve serve)
      : AsyncCall(threads),
        service_(service),
        threads_(threads),
        cq_(cq),
        request_(request),
        serve_(serve),
        responder_(&context_) {
    (service_->*request_)(&context_, &request_message_, &responder_, cq_, cq_,
                          &arrived_tag_);
  }

  ManagerService* const service_;
  RpcThreads* const threads_;
  grpc::ServerCompletionQueue* const cq_;
  const Request request_;
  const Serve serve_;
  grpc::ServerContext context_;
  RequestT request_message_;
  ResponseT response_;
  grpc::Status status_;
  grpc::ServerAsyncResponseWriter<ResponseT> responder_;
  CallTag arrived_tag_{this, kArrived};
  CallTag finished_tag_{this, kFinished};
};

}  // namespace

void AwaitUnaryCalls(ManagerService* service, RpcThreads* threads,
                     grpc::ServerCompletionQueue* cq) {
  UnaryCall<pb::HelloRequest, pb::HelloResponse>::Await(
      service, threads, cq, &ManagerService::RequestHello,
      &ManagerService::RunHello);
  UnaryCall<pb::Request, pb::Response>::Await(service, threads, cq,
                                              &ManagerService::RequestCall,
                                              &ManagerService::RunCall);
  UnaryCall<pb::RequestFrame, pb::ResponseFrame>::Await(
      service, threads, cq, &ManagerService::RequestBatch,
      &ManagerService::RunBatch);
}

}  // namespace mproc
