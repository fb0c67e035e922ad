#include "cmd/quorumctl/password_prompt.h"

#include <termios.h>
#include <unistd.h>

#include <cstdio>

namespace quorum::ctl {

std::string AskPassword() {
  std::fputs("Password: ", stdout);
  std::fflush(stdout);
  termios saved{};
  const bool tty = ::tcgetattr(STDIN_FILENO, &saved) == 0;
  if (tty) {
    termios quiet = saved;
    quiet.c_lflag &= ~static_cast<tcflag_t>(ECHO);
    ::tcsetattr(STDIN_FILENO, TCSAFLUSH, &quiet);
  }
  // Byte by byte from the descriptor: nothing past the line is consumed
  // (a command reading stdin afterwards, e.g. txn, gets the rest).
  std::string line;
  char c;
  while (::read(STDIN_FILENO, &c, 1) == 1 && c != '\n') line.push_back(c);
  if (!line.empty() && line.back() == '\r') line.pop_back();
  if (tty) ::tcsetattr(STDIN_FILENO, TCSAFLUSH, &saved);
  std::fputs("\n", stdout);
  std::fflush(stdout);
  return line;
}

}  // namespace quorum::ctl
