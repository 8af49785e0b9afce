// Blocking waits from Python: the GIL released, in slices of 100 ms with a
// signal check between them, so Ctrl-C and a close() from another thread end
// them promptly.
#pragma once

#include <nanobind/nanobind.h>

#include <chrono>

namespace net::python {

inline constexpr auto kWaitSlice = std::chrono::milliseconds(100);

// Calls wait(kWaitSlice) without the GIL until it returns true; a pending
// signal (KeyboardInterrupt) is raised between calls.
template <class Wait>
void wait_interruptibly(Wait&& wait) {
  for (;;) {
    bool done;
    {
      nanobind::gil_scoped_release unlocked;
      done = wait(kWaitSlice);
    }
    if (done) return;
    if (PyErr_CheckSignals() != 0) throw nanobind::python_error();
  }
}

}  // namespace net::python
