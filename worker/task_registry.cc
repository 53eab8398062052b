#include "worker/task_registry.h"

#include "common/task_wire.h"

namespace mproc {

TaskRegistry& TaskRegistry::Global() {
  static TaskRegistry* const registry = new TaskRegistry();
  return *registry;
}

bool TaskRegistry::Add(std::string name, TaskFunction function,
                       bool needs_exec_permission) {
  TaskInfo info{name, std::move(function), needs_exec_permission};
  tasks_[std::move(name)] = std::move(info);
  return true;
}

const TaskInfo* TaskRegistry::Find(const std::string& name) const {
  auto it = tasks_.find(name);
  return it == tasks_.end() ? nullptr : &it->second;
}

std::vector<std::string> TaskRegistry::Names() const {
  std::vector<std::string> names;
  for (const auto& [name, info] : tasks_) names.push_back(name);
  return names;
}

absl::Status TaskArgumentError(std::string message) {
  return WithTaskErrorType(absl::InvalidArgumentError(std::move(message)),
                           "ArgumentError");
}

}  // namespace mproc
