#include "sbs/signals.hpp"

#include <signal.h>

#include <atomic>

#include "sbs/error.hpp"

namespace sbs {

namespace {

// Written by the handler, read by the program. A lock-free atomic int is async-signal-safe.
std::atomic<int> stop_signal{0};
static_assert(std::atomic<int>::is_always_lock_free);

extern "C" void on_stop_signal(int signum) {
    stop_signal.store(signum);
}

}  // namespace

void install_stop_handlers() {
    struct sigaction action {};
    action.sa_handler = on_stop_signal;
    sigemptyset(&action.sa_mask);
    action.sa_flags = 0;  // no SA_RESTART: interrupt blocking calls with EINTR
    for (const int signum : {SIGINT, SIGTERM}) {
        if (::sigaction(signum, &action, nullptr) == -1) {
            throw_errno("sigaction");
        }
    }
}

bool stop_requested() noexcept {
    return stop_signal.load() != 0;
}

const char* stop_signal_name() noexcept {
    switch (stop_signal.load()) {
        case SIGINT:
            return "SIGINT";
        case SIGTERM:
            return "SIGTERM";
        default:
            return "";
    }
}

}  // namespace sbs
