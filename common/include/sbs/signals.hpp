// signals.hpp - stopping a server cleanly on Ctrl-C (SIGINT) or SIGTERM.
//
// Step 02 teaches this inline: a handler that only sets a flag, installed WITHOUT SA_RESTART,
// so that a blocking accept()/recv()/recvfrom() returns -1 with errno EINTR when the signal
// arrives; the loop then sees the flag, stops, closes its sockets and prints a summary. From
// step 03 on, the same two calls come from here.
//
// One gap remains, and the loops must cover it: a signal that lands after the loop has looked
// at the flag but before it enters the blocking call interrupts nothing, and the call blocks
// on. So the blocking calls also get a short receive timeout (SO_RCVTIMEO, 0.5 s in the steps)
// and the loop looks at the flag again whenever one expires: Ctrl-C then takes effect within
// half a second at worst. Closing the gap entirely takes ppoll()/pselect() with the signal
// blocked, signalfd(), or a self-pipe: tools of the multiplexing steps.
#pragma once

namespace sbs {

/// Installs the SIGINT and SIGTERM handlers (no SA_RESTART). Call once, early in main().
void install_stop_handlers();

/// True once SIGINT or SIGTERM has arrived. Safe to call from anywhere, any time.
[[nodiscard]] bool stop_requested() noexcept;

/// "SIGINT" or "SIGTERM": the signal that asked us to stop (or "" if none has yet).
[[nodiscard]] const char* stop_signal_name() noexcept;

}  // namespace sbs
