// The manager's Prometheus collector: what /metrics shows (see
// manager_metrics.h), read from `sources` when scraped.
#ifndef MPROC_SERVER_RPC_MANAGER_COLLECTOR_H_
#define MPROC_SERVER_RPC_MANAGER_COLLECTOR_H_

#include <memory>

#include "prometheus/collectable.h"
#include "server/rpc/manager_metrics.h"

namespace mproc {

std::shared_ptr<prometheus::Collectable> NewManagerCollector(
    MetricsSources sources);

}  // namespace mproc

#endif  // MPROC_SERVER_RPC_MANAGER_COLLECTOR_H_
