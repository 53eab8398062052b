#include "server/object_factory.h"

#include "absl/strings/str_cat.h"
#include "common/op_table.h"
#include "common/wire.h"
#include "server/array_object.h"
#include "server/barrier_object.h"
#include "server/condition_object.h"
#include "server/deadline_timer.h"
#include "server/dict_object.h"
#include "server/element_type.h"
#include "server/errors.h"
#include "server/event_object.h"
#include "server/list_object.h"
#include "server/lock_object.h"
#include "server/namespace_object.h"
#include "server/pool_object.h"
#include "server/queue_object.h"
#include "server/semaphore_object.h"
#include "server/typed_value_object.h"

namespace mproc {
namespace {

absl::Status BadSpec(pb::Kind kind, const std::string& name,
                     absl::string_view fault) {
  return absl::InvalidArgumentError(
      absl::StrCat("cannot create ", KindName(kind), " '", name, "': ", fault));
}

absl::Status BadSpec(pb::Kind kind, const std::string& name,
                     const absl::Status& cause) {
  return BadSpec(kind, name, cause.message());
}

}  // namespace

absl::StatusOr<std::unique_ptr<SharedObject>> CreateObject(
    const std::string& name, const pb::CreateSpec& spec,
    int64_t max_object_bytes, std::shared_ptr<SharedObject> lock) {
  const pb::Kind kind = spec.kind();
  absl::StatusOr<Value> initial =
      ValueFromProto(spec.initial(), kMaxArgumentDepth);
  if (!initial.ok()) return BadSpec(kind, name, initial.status());
  const bool has_initial = spec.has_initial() && !initial->is_null();

  switch (kind) {
    case pb::DICT: {
      if (has_initial && !initial->is_map()) {
        return BadSpec(kind, name, "initial value must be a map");
      }
      return std::make_unique<DictObject>(
          name, has_initial ? initial->map_value() : Map());
    }
    case pb::LIST: {
      if (has_initial && !initial->is_list()) {
        return BadSpec(kind, name, "initial value must be a list");
      }
      return std::make_unique<ListObject>(
          name, has_initial ? initial->list_value() : List());
    }
    case pb::NAMESPACE: {
      std::map<std::string, Value> attributes;
      if (has_initial) {
        if (!initial->is_map()) {
          return BadSpec(kind, name, "initial value must be a map");
        }
        for (const auto& [k, v] : initial->map_value()) {
          if (!k.is_string()) {
            return BadSpec(kind, name, "attribute names must be strings");
          }
          attributes.emplace(k.string_value(), v);
        }
      }
      return std::make_unique<NamespaceObject>(name, std::move(attributes));
    }
    case pb::VALUE: {
      absl::StatusOr<ElementType> type = ParseElementType(spec.element_type());
      if (!type.ok()) return BadSpec(kind, name, type.status());
      Value v = ZeroValue(*type);
      if (has_initial) {
        absl::StatusOr<Value> coerced = CoerceToElement(*type, *initial);
        if (!coerced.ok()) return BadSpec(kind, name, coerced.status());
        v = *std::move(coerced);
      }
      return std::make_unique<TypedValueObject>(name, *type, std::move(v));
    }
    case pb::ARRAY: {
      absl::StatusOr<ElementType> type = ParseElementType(spec.element_type());
      if (!type.ok()) return BadSpec(kind, name, type.status());
      if (spec.length() < 0) {
        return BadSpec(
            kind, name,
            absl::StrCat("length must be >= 0, got ", spec.length()));
      }
      // Each element is a Value in the manager's memory.
      constexpr int64_t kElementBytes = sizeof(Value);
      if (spec.length() > max_object_bytes / kElementBytes) {
        return absl::ResourceExhaustedError(absl::StrCat(
            "cannot create array '", name, "': ", spec.length(),
            " elements would take about ", spec.length() * kElementBytes,
            " bytes of the manager's memory; the limit is ", max_object_bytes,
            " (the manager's --max-object-bytes)"));
      }
      List elements;
      if (has_initial) {
        if (!initial->is_list()) {
          return BadSpec(kind, name, "initial value must be a list");
        }
        if (spec.length() != 0 &&
            spec.length() !=
                static_cast<int64_t>(initial->list_value().size())) {
          return BadSpec(kind, name, "length and initial list disagree");
        }
        for (const Value& item : initial->list_value()) {
          absl::StatusOr<Value> coerced = CoerceToElement(*type, item);
          if (!coerced.ok()) return BadSpec(kind, name, coerced.status());
          elements.push_back(*std::move(coerced));
        }
      } else {
        elements.assign(spec.length(), ZeroValue(*type));
      }
      return std::make_unique<ArrayObject>(name, *type, std::move(elements));
    }
    case pb::QUEUE: {
      if (spec.maxsize() < 0) {
        return BadSpec(
            kind, name,
            absl::StrCat("maxsize must be >= 0, got ", spec.maxsize()));
      }
      return std::make_unique<QueueObject>(name, spec.maxsize(),
                                           &DeadlineTimer::Default());
    }
    case pb::LOCK:
      return std::make_unique<LockObject>(name, spec.reentrant(),
                                          &DeadlineTimer::Default());
    case pb::SEMAPHORE: {
      int64_t value = 1;
      if (has_initial) {
        if (!initial->is_int() || initial->int_value() < 0) {
          return BadSpec(kind, name, "initial value must be an int >= 0");
        }
        value = initial->int_value();
      }
      return std::make_unique<SemaphoreObject>(name, value, spec.bounded(),
                                               &DeadlineTimer::Default());
    }
    case pb::EVENT:
      return std::make_unique<EventObject>(name, &DeadlineTimer::Default());
    case pb::CONDITION:
      if (lock == nullptr || lock->kind() != pb::LOCK) {
        return BadSpec(kind, name, "needs the name of its lock");
      }
      return std::make_unique<ConditionObject>(
          name, std::static_pointer_cast<LockObject>(lock),
          &DeadlineTimer::Default());
    case pb::BARRIER: {
      if (spec.parties() < 1) {
        return BadSpec(
            kind, name,
            absl::StrCat("parties must be >= 1, got ", spec.parties()));
      }
      if (!(spec.timeout() >= 0)) {
        return BadSpec(kind, name, "timeout must be >= 0 seconds");
      }
      return std::make_unique<BarrierObject>(name, spec.parties(),
                                             spec.timeout() > 0
                                                 ? absl::Seconds(spec.timeout())
                                                 : absl::InfiniteDuration(),
                                             &DeadlineTimer::Default());
    }
    case pb::POOL: {
      if (!(spec.result_ttl() >= 0)) {
        return BadSpec(kind, name, "result_ttl must be >= 0 seconds");
      }
      if (spec.task_records() < 0) {
        return BadSpec(kind, name, "task_records must be >= 0");
      }
      return std::make_unique<PoolObject>(
          name, &DeadlineTimer::Default(),
          spec.result_ttl() > 0 ? absl::Seconds(spec.result_ttl())
                                : kDefaultResultTtl,
          spec.task_records() > 0 ? spec.task_records()
                                  : PoolObject::kDefaultMaxRecords);
    }
    default:
      return absl::InvalidArgumentError(absl::StrCat(
          "cannot create '", name, "': unknown kind ", static_cast<int>(kind)));
  }
}

absl::Status CheckMatchesSpec(const SharedObject& existing,
                              const pb::CreateSpec& spec) {
  if (existing.kind() != spec.kind()) return WrongKind(existing, spec.kind());
  if (spec.kind() == pb::CONDITION &&
      static_cast<const ConditionObject&>(existing).lock_name() !=
          spec.lock()) {
    return absl::FailedPreconditionError(
        absl::StrCat(existing.Describe(), " exists with lock '",
                     static_cast<const ConditionObject&>(existing).lock_name(),
                     "', not '", spec.lock(), "'"));
  }
  if (spec.kind() == pb::BARRIER &&
      static_cast<const BarrierObject&>(existing).parties() != spec.parties()) {
    return absl::FailedPreconditionError(
        absl::StrCat(existing.Describe(), " exists with ",
                     static_cast<const BarrierObject&>(existing).parties(),
                     " parties, not ", spec.parties()));
  }
  if (spec.kind() == pb::LOCK &&
      static_cast<const LockObject&>(existing).reentrant() !=
          spec.reentrant()) {
    return absl::FailedPreconditionError(absl::StrCat(
        existing.Describe(), " exists as ",
        spec.reentrant() ? "a Lock, not an RLock" : "an RLock, not a Lock"));
  }
  if (spec.kind() == pb::SEMAPHORE &&
      static_cast<const SemaphoreObject&>(existing).bounded() !=
          spec.bounded()) {
    return absl::FailedPreconditionError(
        absl::StrCat(existing.Describe(), " exists as ",
                     spec.bounded() ? "a Semaphore, not a BoundedSemaphore"
                                    : "a BoundedSemaphore, not a Semaphore"));
  }
  if (spec.kind() == pb::QUEUE) {
    const int64_t maxsize = static_cast<const QueueObject&>(existing).maxsize();
    if (spec.maxsize() != 0 && spec.maxsize() != maxsize) {
      return absl::FailedPreconditionError(
          absl::StrCat(existing.Describe(), " exists with maxsize ", maxsize,
                       ", not ", spec.maxsize()));
    }
    return absl::OkStatus();
  }
  if (spec.kind() != pb::VALUE && spec.kind() != pb::ARRAY) {
    return absl::OkStatus();
  }
  absl::StatusOr<ElementType> wanted = ParseElementType(spec.element_type());
  if (!wanted.ok())
    return BadSpec(spec.kind(), existing.name(), wanted.status());
  const ElementType actual =
      spec.kind() == pb::VALUE
          ? static_cast<const TypedValueObject&>(existing).type()
          : static_cast<const ArrayObject&>(existing).type();
  if (actual != *wanted) {
    return absl::FailedPreconditionError(absl::StrCat(
        existing.Describe(), " exists with element type ",
        ElementTypeName(actual), ", not ", ElementTypeName(*wanted)));
  }
  if (spec.kind() == pb::ARRAY && spec.length() != 0 &&
      spec.length() != existing.Size()) {
    return absl::FailedPreconditionError(
        absl::StrCat(existing.Describe(), " exists with length ",
                     existing.Size(), ", not ", spec.length()));
  }
  return absl::OkStatus();
}

}  // namespace mproc
