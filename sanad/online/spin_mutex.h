#pragma once
/// SpinMutex: the online engine's lock (internal to online/).

#include <atomic>
#include <thread>

namespace sanad {

/// The engine's lock: calls hold it for a few microseconds, so waiting
/// threads spin briefly (then yield) instead of sleeping in the kernel,
/// which would cost more than the call itself.
class SpinMutex {
 public:
  void lock() {
    for (int spins = 0; locked_.exchange(true, std::memory_order_acquire); ++spins) {
      while (locked_.load(std::memory_order_relaxed)) {
        if (++spins > 64) std::this_thread::yield();
        else Pause();
      }
    }
  }
  bool try_lock() { return !locked_.exchange(true, std::memory_order_acquire); }
  void unlock() { locked_.store(false, std::memory_order_release); }

 private:
  static void Pause() {
#if defined(__x86_64__) || defined(__i386__)
    __builtin_ia32_pause();
#endif
  }
  std::atomic<bool> locked_{false};
};

}  // namespace sanad
