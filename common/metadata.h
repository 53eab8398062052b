// The contract between client and manager outside the messages: the gRPC
// metadata keys each side sends, and the address both default to. One
// home, so the two ends cannot drift apart.
#ifndef MPROC_COMMON_METADATA_H_
#define MPROC_COMMON_METADATA_H_

namespace mproc {

// Where a manager listens and a client connects when told nothing else.
inline constexpr char kDefaultManagerAddress[] = "127.0.0.1:50051";

// Client → manager, on every call to a manager with an authkey: the proof
// that the client holds it, answering one Hello (common/auth_proof.h). A
// call without a valid, unused proof is refused UNAUTHENTICATED.
inline constexpr char kAuthProofMetadata[] = "mproc-auth-bin";
// Client → manager, with the proof: the user whose key it proves (a
// manager with an ACL knows several; one with a lone key ignores it).
inline constexpr char kUserMetadata[] = "mproc-user";

// Client → manager, on a Session stream: names this client process's
// session, so a reconnect (after a fork, a network blip) resumes it — and
// what it holds — within the manager's session lease.
inline constexpr char kSessionMetadata[] = "mproc-session";

// Manager → client, initial metadata of a Session stream: the id of this
// run of the manager (a change means it restarted).
inline constexpr char kInstanceMetadata[] = "mproc-instance";
// Client to manager, on a Session stream: the manager instance the client
// saw last. Another instance means the manager restarted in between, and
// whatever the client held there (locks, permits) is lost.
inline constexpr char kPreviousInstanceMetadata[] = "mproc-previous-instance";

// Manager → client, initial metadata of a Session stream: the largest
// message it accepts, in bytes, so the client refuses a larger request
// itself instead of having the shared stream torn down.
inline constexpr char kMaxMessageMetadata[] = "mproc-max-message-bytes";

// Manager → client, initial metadata of a Session stream: present when the
// session this stream resumes had expired meanwhile (the client was paused
// or cut off past the lease). Its value lists the locks and semaphores the
// session lost, comma-separated; whatever it held has been passed on.
inline constexpr char kSessionLostMetadata[] = "mproc-session-lost";

// Client → manager, opening a local wire stream over TCP
// (common/local_wire.h): the client's process id and WireHostIdentity(),
// so a manager on the same machine (same boot, same pid namespace) can
// tell a stopped or vanished peer process as it does over a unix socket,
// where the kernel names the peer (SO_PEERCRED).
inline constexpr char kWirePidMetadata[] = "mproc-wire-pid";
inline constexpr char kWireHostMetadata[] = "mproc-wire-host";
// A wire client that keeps an idle connection alive with kPing says so
// (kWirePingsMetadata: "1"); a manager that cannot watch its process
// (another machine, another pid namespace) answers with how often to
// ping (kWirePingEveryMetadata, in milliseconds), and cuts a connection
// silent for four of those, as gRPC's unanswered keepalive pings would.
inline constexpr char kWirePingsMetadata[] = "mproc-wire-pings";
inline constexpr char kWirePingEveryMetadata[] = "mproc-wire-ping-ms";
// A manager that watches the client's process itself answers
// kWireWatchedMetadata ("1") instead. A client that hears neither (a
// manager older than pings) from another machine goes back to gRPC, whose
// keepalive pings the manager answers for it.
inline constexpr char kWireWatchedMetadata[] = "mproc-wire-watched";

}  // namespace mproc

#endif  // MPROC_COMMON_METADATA_H_
