#include "cmd/quorumctl/exec_command.h"

#include <signal.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cctype>
#include <cerrno>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <map>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_split.h"
#include "cmd/quorumctl/gofmt.h"

extern char** environ;

namespace quorum::ctl {

namespace {

bool Executable(const std::string& path) {
  struct stat st;
  return ::stat(path.c_str(), &st) == 0 && S_ISREG(st.st_mode) && ::access(path.c_str(), X_OK) == 0;
}

// exec.LookPath: the path to run, or Go's error text.
bool LookPath(const std::string& name, std::string* path, std::string* err) {
  if (name.find('/') != std::string::npos) {
    struct stat st;
    if (::stat(name.c_str(), &st) != 0) {
      std::string why = std::strerror(errno);  // Go spells errno texts in lower case
      if (!why.empty()) why[0] = static_cast<char>(std::tolower(static_cast<unsigned char>(why[0])));
      *err = "exec: " + GoQuote(name) + ": stat " + name + ": " + why;
      return false;
    }
    if (!Executable(name)) {
      *err = "exec: " + GoQuote(name) + ": permission denied";
      return false;
    }
    *path = name;
    return true;
  }
  const char* env_path = std::getenv("PATH");
  for (absl::string_view dir : absl::StrSplit(env_path ? env_path : "", ':')) {
    std::string d(dir.empty() ? "." : dir);
    std::string candidate = d + "/" + name;
    if (Executable(candidate)) {
      *path = candidate;
      return true;
    }
  }
  *err = "exec: " + GoQuote(name) + ": executable file not found in $PATH";
  return false;
}

// Go's syscall.Signal.String() for the common signals.
std::string SignalName(int sig) {
  switch (sig) {
    case SIGHUP: return "hangup";
    case SIGINT: return "interrupt";
    case SIGQUIT: return "quit";
    case SIGABRT: return "aborted";
    case SIGKILL: return "killed";
    case SIGSEGV: return "segmentation fault";
    case SIGPIPE: return "broken pipe";
    case SIGTERM: return "terminated";
    default: return absl::StrCat("signal ", sig);
  }
}

}  // namespace

std::string GoQuoteSlice(const std::vector<std::string>& v) {
  std::string out = "[";
  for (size_t i = 0; i < v.size(); ++i) out += (i ? " " : "") + GoQuote(v[i]);
  return out + "]";
}

std::string RunCommand(const std::vector<std::string>& argv, const std::vector<std::string>& extra,
                       bool extra_wins) {
  std::string path, err;
  if (!LookPath(argv[0], &path, &err)) return err;
  // Environment: one entry per name, the winner as described in the header.
  std::vector<std::string> env;
  std::map<std::string, size_t> at;
  auto add = [&](const std::string& kv, bool overwrite) {
    std::string name = kv.substr(0, kv.find('='));
    auto it = at.find(name);
    if (it == at.end()) {
      at[name] = env.size();
      env.push_back(kv);
    } else if (overwrite) {
      env[it->second] = kv;
    }
  };
  for (char** e = environ; *e != nullptr; ++e) add(*e, true);
  for (const std::string& kv : extra) add(kv, extra_wins);
  std::vector<char*> cargv, cenv;
  for (const std::string& a : argv) cargv.push_back(const_cast<char*>(a.c_str()));
  cargv.push_back(nullptr);
  for (const std::string& kv : env) cenv.push_back(const_cast<char*>(kv.c_str()));
  cenv.push_back(nullptr);

  std::fflush(stdout);
  std::fflush(stderr);
  pid_t pid = ::fork();
  if (pid < 0) return absl::StrCat("fork/exec ", path, ": ", std::strerror(errno));
  if (pid == 0) {
    // The parent may block SIGINT for its own handling; the child starts clean.
    sigset_t none;
    sigemptyset(&none);
    ::sigprocmask(SIG_SETMASK, &none, nullptr);
    ::execve(path.c_str(), cargv.data(), cenv.data());
    _exit(127);
  }
  int status = 0;
  while (::waitpid(pid, &status, 0) < 0 && errno == EINTR) {
  }
  if (WIFEXITED(status)) {
    return WEXITSTATUS(status) == 0 ? "" : absl::StrCat("exit status ", WEXITSTATUS(status));
  }
  if (WIFSIGNALED(status)) return "signal: " + SignalName(WTERMSIG(status));
  return "";
}

}  // namespace quorum::ctl
