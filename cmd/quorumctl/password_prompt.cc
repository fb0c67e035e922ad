#include "cmd/quorumctl/password_prompt.h"

#include <errno.h>
#include <signal.h>
#include <termios.h>
#include <unistd.h>

#include <cstdio>

#include "absl/strings/ascii.h"

namespace quorum::ctl {
namespace {

// The terminal state to put back if a signal ends the prompt (as speakeasy
// does: echo restored, exit 255).
termios g_saved;

void RestoreAndExit(int) {
  ::tcsetattr(STDIN_FILENO, TCSANOW, &g_saved);
  ::_exit(255);
}

}  // namespace

std::string AskPassword() {
  std::fputs("Password: ", stdout);
  std::fflush(stdout);
  const bool tty = ::tcgetattr(STDIN_FILENO, &g_saved) == 0;
  constexpr int kSignals[] = {SIGINT, SIGTERM, SIGHUP, SIGQUIT};
  struct sigaction previous[4];
  if (tty) {
    struct sigaction sa {};
    sa.sa_handler = RestoreAndExit;
    sigemptyset(&sa.sa_mask);
    for (int i = 0; i < 4; ++i) ::sigaction(kSignals[i], &sa, &previous[i]);
    termios quiet = g_saved;
    quiet.c_lflag &= ~static_cast<tcflag_t>(ECHO);
    // TCSANOW: what was typed ahead stays in the input (TCSAFLUSH drops it).
    ::tcsetattr(STDIN_FILENO, TCSANOW, &quiet);
  }
  // Byte by byte from the descriptor: nothing past the line is consumed
  // (a command reading stdin afterwards, e.g. txn, gets the rest).
  std::string line;
  for (;;) {
    char c;
    const ssize_t n = ::read(STDIN_FILENO, &c, 1);
    if (n < 0 && errno == EINTR) continue;
    if (n != 1 || c == '\n') break;
    line.push_back(c);
  }
  if (tty) {
    ::tcsetattr(STDIN_FILENO, TCSANOW, &g_saved);
    for (int i = 0; i < 4; ++i) ::sigaction(kSignals[i], &previous[i], nullptr);
  }
  std::fputs("\n", stdout);
  std::fflush(stdout);
  return std::string(absl::StripAsciiWhitespace(line));  // speakeasy trims too
}

}  // namespace quorum::ctl
