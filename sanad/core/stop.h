#pragma once
/// StopFlag: a caller's request to stop long work early (Python's Ctrl-C
/// while the GIL is released). The loaders poll it between chunks and the
/// batch evaluator between key partitions and phases; they then return
/// StatusCode::kCancelled and nothing partial. Null means "never stop".

#include <atomic>

namespace sanad {

using StopFlag = std::atomic<bool>;

inline bool StopRequested(const StopFlag* stop) { return stop != nullptr && stop->load(std::memory_order_relaxed); }

}  // namespace sanad
