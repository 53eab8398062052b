#include "server/rpc/manager_metrics.h"

#include <arpa/inet.h>

#include <exception>
#include <limits>
#include <map>

#include "absl/strings/escaping.h"
#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "common/auth_proof.h"
#include "common/op_table.h"
#include "prometheus/collectable.h"
#include "prometheus/metric_family.h"
#include "server/rpc/manager_collector.h"
#include "server/rpc/process_facts.h"
#include "server/store/journal_db.h"

namespace mproc {
namespace {

using prometheus::ClientMetric;
using prometheus::MetricFamily;
using prometheus::MetricType;

// Kinds whose objects each get their own rows (few, and watched one by
// one); dicts, lists and the like are summed by kind.
bool WatchedKind(pb::Kind kind) {
  switch (kind) {
    case pb::QUEUE:
    case pb::POOL:
    case pb::LOCK:
    case pb::SEMAPHORE:
    case pb::CONDITION:
    case pb::BARRIER:
    case pb::EVENT:
      return true;
    default:
      return false;
  }
}

const char* CodeName(int code) {
  static const char* const kNames[] = {"OK",
                                       "CANCELLED",
                                       "UNKNOWN",
                                       "INVALID_ARGUMENT",
                                       "DEADLINE_EXCEEDED",
                                       "NOT_FOUND",
                                       "ALREADY_EXISTS",
                                       "PERMISSION_DENIED",
                                       "RESOURCE_EXHAUSTED",
                                       "FAILED_PRECONDITION",
                                       "ABORTED",
                                       "OUT_OF_RANGE",
                                       "UNIMPLEMENTED",
                                       "INTERNAL",
                                       "UNAVAILABLE",
                                       "DATA_LOSS",
                                       "UNAUTHENTICATED",
                                       "PARKED"};
  return code >= 0 && code < OpStats::kCodes ? kNames[code] : "UNKNOWN";
}

MetricFamily Family(const char* name, const char* help, MetricType type) {
  MetricFamily f;
  f.name = name;
  f.help = help;
  f.type = type;
  return f;
}

ClientMetric Gauge(double value, std::vector<ClientMetric::Label> labels = {}) {
  ClientMetric m;
  m.label = std::move(labels);
  m.gauge.value = value;
  return m;
}

ClientMetric Counter(double value,
                     std::vector<ClientMetric::Label> labels = {}) {
  ClientMetric m;
  m.label = std::move(labels);
  m.counter.value = value;
  return m;
}

class ManagerCollector : public prometheus::Collectable {
 public:
  explicit ManagerCollector(MetricsSources sources) : s_(sources) {}

  std::vector<MetricFamily> Collect() const override {
    std::vector<MetricFamily> out;
    Requests(&out);
    Objects(&out);
    Storage(&out);
    Process(&out);
    return out;
  }

 private:
  void Requests(std::vector<MetricFamily>* out) const {
    MetricFamily requests =
        Family("mproc_requests_total",
               "Requests by op and status code of their immediate answer; "
               "PARKED counts calls that waited to be answered later",
               MetricType::Counter);
    for (int op = 0; op < OpStats::kOps; ++op) {
      const OpInfo* info = FindOp(static_cast<pb::Op>(op));
      for (int code = 0; code < OpStats::kCodes; ++code) {
        const uint64_t n = s_.ops->Count(op, code);
        if (n == 0) continue;
        const std::string name =
            info == nullptr
                ? std::to_string(op)
                : absl::StrCat(info->kind == pb::KIND_UNSPECIFIED
                                   ? ""
                                   : absl::StrCat(KindName(info->kind), " "),
                               info->name);
        requests.metric.push_back(Counter(
            static_cast<double>(n), {{"code", CodeName(code)}, {"op", name}}));
      }
    }
    out->push_back(std::move(requests));
    MetricFamily latency = Family(
        "mproc_request_duration_seconds",
        "Time the manager took to answer a request at once (parked calls "
        "excluded)",
        MetricType::Histogram);
    const OpStats::Latency l = s_.ops->GetLatency();
    ClientMetric h;
    h.histogram.sample_count = l.count;
    h.histogram.sample_sum = l.sum_seconds;
    for (size_t i = 0; i < OpStats::kBucketsUs.size(); ++i) {
      h.histogram.bucket.push_back(
          {l.cumulative[i], OpStats::kBucketsUs[i] / 1e6});
    }
    h.histogram.bucket.push_back(
        {l.count, std::numeric_limits<double>::infinity()});
    latency.metric.push_back(std::move(h));
    out->push_back(std::move(latency));
    MetricFamily streams =
        Family("mproc_session_streams", "Client session streams open now",
               MetricType::Gauge);
    streams.metric.push_back(Gauge(
        static_cast<double>(s_.open_streams->load(std::memory_order_relaxed))));
    out->push_back(std::move(streams));
  }

  void Objects(std::vector<MetricFamily>* out) const {
    std::map<std::string, std::pair<int64_t, int64_t>> by_kind;  // n, size
    MetricFamily size = Family(
        "mproc_object_size",
        "Items of each queue, pool, lock, semaphore, condition, barrier and "
        "event (a queue's depth)",
        MetricType::Gauge);
    MetricFamily details = Family(
        "mproc_object_detail",
        "The numeric details of those objects: waiters (getters, putters), "
        "a pool's workers, running, failed and dead-lettered tasks, ...",
        MetricType::Gauge);
    std::string after;
    for (;;) {
      const std::vector<std::shared_ptr<SharedObject>> page =
          s_.store->Page(after, 1000);
      for (const std::shared_ptr<SharedObject>& object : page) {
        const std::string kind = KindName(object->kind());
        auto& [count, total] = by_kind[kind];
        ++count;
        total += object->Size();
        if (!WatchedKind(object->kind())) continue;
        size.metric.push_back(
            Gauge(static_cast<double>(object->Size()),
                  {{"kind", kind}, {"name", object->name()}}));
        for (const auto& [key, value] : object->Details()) {
          if (!key.is_string() || !(value.is_int() || value.is_bool()))
            continue;
          details.metric.push_back(
              Gauge(value.is_int() ? static_cast<double>(value.int_value())
                    : value.bool_value() ? 1.0
                                         : 0.0,
                    {{"detail", key.string_value()},
                     {"kind", kind},
                     {"name", object->name()}}));
        }
      }
      if (page.size() < 1000) break;
      after = page.back()->name();
    }
    MetricFamily objects =
        Family("mproc_objects", "Objects by kind", MetricType::Gauge);
    MetricFamily entries =
        Family("mproc_object_entries",
               "Entries, items or elements of all objects of a kind",
               MetricType::Gauge);
    for (const auto& [kind, n] : by_kind) {
      objects.metric.push_back(
          Gauge(static_cast<double>(n.first), {{"kind", kind}}));
      entries.metric.push_back(
          Gauge(static_cast<double>(n.second), {{"kind", kind}}));
    }
    for (MetricFamily* f : {&objects, &entries, &size, &details}) {
      out->push_back(std::move(*f));
    }
  }

  void Storage(std::vector<MetricFamily>* out) const {
    if (s_.journal == nullptr) return;
    const JournalDb::Stats stats = s_.journal->GetStats();
    MetricFamily syncs =
        Family("mproc_fsyncs_total", "Syncs of the data dir's log",
               MetricType::Counter);
    syncs.metric.push_back(Counter(static_cast<double>(stats.syncs)));
    MetricFamily last =
        Family("mproc_last_fsync_duration_seconds",
               "How long the last sync took", MetricType::Gauge);
    last.metric.push_back(Gauge(absl::ToDoubleSeconds(stats.last_sync_took)));
    MetricFamily writes =
        Family("mproc_journal_writes_total", "Changes recorded in the data dir",
               MetricType::Counter);
    writes.metric.push_back(Counter(static_cast<double>(stats.writes)));
    MetricFamily failed =
        Family("mproc_journal_failed_writes_total",
               "Changes the data dir refused", MetricType::Counter);
    failed.metric.push_back(Counter(static_cast<double>(stats.failed_writes)));
    MetricFamily bytes =
        Family("mproc_data_dir_bytes", "Size of the data dir's files",
               MetricType::Gauge);
    bytes.metric.push_back(Gauge(static_cast<double>(stats.disk_bytes)));
    for (MetricFamily* f : {&syncs, &last, &writes, &failed, &bytes}) {
      out->push_back(std::move(*f));
    }
  }

  void Process(std::vector<MetricFamily>* out) const {
    double cpu, rss, fds;
    ProcessFacts(&cpu, &rss, &fds);
    MetricFamily uptime =
        Family("mproc_uptime_seconds", "Seconds since the manager started",
               MetricType::Gauge);
    uptime.metric.push_back(
        Gauge(absl::ToDoubleSeconds(absl::Now() - s_.started)));
    MetricFamily cpu_f =
        Family("process_cpu_seconds_total", "User and system CPU time",
               MetricType::Counter);
    cpu_f.metric.push_back(Counter(cpu));
    MetricFamily rss_f = Family("process_resident_memory_bytes",
                                "Resident memory", MetricType::Gauge);
    rss_f.metric.push_back(Gauge(rss));
    MetricFamily fds_f =
        Family("process_open_fds", "Open file descriptors", MetricType::Gauge);
    fds_f.metric.push_back(Gauge(fds));
    for (MetricFamily* f : {&uptime, &cpu_f, &rss_f, &fds_f}) {
      out->push_back(std::move(*f));
    }
  }

  const MetricsSources s_;
};

}  // namespace

std::string MetricsToken(const std::string& key) {
  return absl::BytesToHexString(
      HmacSha256(key, "mproc metrics token v1").substr(0, 16));
}

std::string DashboardToken(const std::string& key) {
  return absl::BytesToHexString(
      HmacSha256(key, "mproc dashboard token v1").substr(0, 16));
}

absl::StatusOr<std::string> MetricsBindAddress(const std::string& listen) {
  // One numeric loopback address and a port of digits: civetweb would
  // read anything else (a comma list, a bare port) as more listeners,
  // on every interface.
  auto bad = [&](absl::string_view why) {
    return absl::InvalidArgumentError(absl::StrCat(
        "--metrics-listen '", listen, "': ", why,
        " (metrics are served on loopback only: they name every object)"));
  };
  const size_t colon = listen.rfind(':');
  if (colon == std::string::npos || colon == 0) {
    return bad("want 127.0.0.1:PORT");
  }
  const std::string host = listen.substr(0, colon);
  const std::string port = listen.substr(colon + 1);
  if (port.empty() || port.size() > 5 ||
      port.find_first_not_of("0123456789") != std::string::npos) {
    return bad("the port must be a number");
  }
  if (host == "localhost" || host == "127.0.0.1") return "127.0.0.1:" + port;
  in_addr v4;
  if (inet_pton(AF_INET, host.c_str(), &v4) == 1 &&
      (ntohl(v4.s_addr) >> 24) == 127) {
    return listen;
  }
  return bad("the host must be localhost or a 127.x.y.z address");
}

std::shared_ptr<prometheus::Collectable> NewManagerCollector(
    MetricsSources sources) {
  return std::make_shared<ManagerCollector>(std::move(sources));
}

}  // namespace mproc
