// txn: etcdctl 3.4's transaction reader (txn_command.go): compares, blank
// line, success ops, blank line, failure ops, blank line, from stdin; -i
// prints the prompts. Ops are get/put/del command lines parsed with the same
// flags and rules as the commands themselves.
#include <algorithm>
#include <cstdio>

#include "absl/strings/ascii.h"
#include "client/kv.h"
#include "client/txn.h"
#include "cmd/quorumctl/ctl.h"
#include "cmd/quorumctl/gofmt.h"
#include "cmd/quorumctl/kv_ops.h"

namespace quorum::ctl {
namespace {

// ------------------------------------------------------------------ txn
// bufio.Reader.ReadString('\n'): a line without its newline at EOF is an error.
bool ReadLine(std::string* line) {
  line->clear();
  int c;
  while ((c = std::getchar()) != EOF) {
    line->push_back(static_cast<char>(c));
    if (c == '\n') return true;
  }
  return false;
}

std::string TrimSpace(const std::string& s) { return std::string(absl::StripAsciiWhitespace(s)); }

bool ParseCompare(const std::string& line, client::Cmp* cmp, std::string* err) {
  size_t lp = line.find('(');
  if (lp == std::string::npos) {
    *err = "malformed comparison: " + line;
    return false;
  }
  std::string target = line.substr(0, lp);
  // Sscanf(rest, "%q) %s %q", &key, &op, &val)
  std::string key, op, val;
  int n = 0;
  size_t i = lp + 1;
  if (GoScanQuoted(line, &i, &key)) {
    ++n;
    if (i < line.size() && line[i] == ')') {
      ++i;
      // A space in a Go scan format needs at least one space in the input.
      size_t sp = i;
      while (i < line.size() && (line[i] == ' ' || line[i] == '\t')) ++i;
      size_t st = i == sp ? line.size() : i;
      i = std::max(i, st);
      while (i < line.size() && line[i] != ' ' && line[i] != '\t') ++i;
      if (i > st) {
        op = line.substr(st, i - st);
        ++n;
        if (GoScanQuoted(line, &i, &val)) ++n;
      }
    }
  }
  if (n != 3) {
    *err = "malformed comparison: " + line + "; got " + target + "(" + GoQuote(key) + ") " + op +
           " " + GoQuote(val);
    return false;
  }
  auto result = client::ParseCompareOp(op);
  if (!result.ok()) {
    *err = "malformed comparison: " + line + " (unknown result op " + op + ")";
    return false;
  }
  int64_t v = 0;
  auto num = [&](int base) { return ParseGoInt(val, base, &v, nullptr); };
  auto with = [&](client::Cmp base, bool ok) {
    if (!ok) {
      *err = "invalid txn compare request: " + line;
      return false;
    }
    switch (*result) {
      case etcdserverpb::Compare::EQUAL:
        *cmp = base.Equal(v);
        break;
      case etcdserverpb::Compare::NOT_EQUAL:
        *cmp = base.NotEqual(v);
        break;
      case etcdserverpb::Compare::GREATER:
        *cmp = base.Greater(v);
        break;
      default:
        *cmp = base.Less(v);
        break;
    }
    return true;
  };
  if (target == "ver" || target == "version") return with(client::Cmp::Version(key), num(10));
  if (target == "c" || target == "create") return with(client::Cmp::CreateRevision(key), num(10));
  if (target == "m" || target == "mod") return with(client::Cmp::ModRevision(key), num(10));
  if (target == "lease") return with(client::Cmp::Lease(key), num(16));
  if (target == "val" || target == "value") {
    client::Cmp base = client::Cmp::Value(key);
    switch (*result) {
      case etcdserverpb::Compare::EQUAL:
        *cmp = base.Equal(val);
        break;
      case etcdserverpb::Compare::NOT_EQUAL:
        *cmp = base.NotEqual(val);
        break;
      case etcdserverpb::Compare::GREATER:
        *cmp = base.Greater(val);
        break;
      default:
        *cmp = base.Less(val);
        break;
    }
    return true;
  }
  *err = "malformed comparison: " + line + " (unknown target " + target + ")";
  return false;
}

}  // namespace

// etcdctl's argify: "double quoted" (Go escapes), 'single quoted', or bare.
std::vector<std::string> Argify(const std::string& s) {
  std::vector<std::string> raw;
  size_t i = 0;
  auto space = [](char c) {
    return c == ' ' || c == '\t' || c == '\n' || c == '\r' || c == '\f' || c == '\v';
  };
  while (i < s.size()) {
    char c = s[i];
    if (c == '"') {
      size_t j = i + 1;
      while (j < s.size() && s[j] != '"') j += (s[j] == '\\' && j + 1 < s.size()) ? 2 : 1;
      if (j < s.size()) {
        raw.push_back(s.substr(i, j - i + 1));
        i = j + 1;
        continue;
      }
    } else if (c == '\'') {
      size_t j = s.find('\'', i + 1);
      if (j != std::string::npos) {
        raw.push_back(s.substr(i, j - i + 1));
        i = j + 1;
        continue;
      }
    } else if (!space(c)) {
      size_t j = i;
      while (j < s.size() && !space(s[j])) ++j;
      raw.push_back(s.substr(i, j - i));
      i = j;
      continue;
    }
    ++i;
  }
  for (std::string& a : raw) {
    if (a[0] == '\'') {
      a = a.substr(1, a.size() - 2);
    } else if (a[0] == '"') {
      // fmt.Sscanf(%q) fails only on a bad escape: strconv.ErrSyntax.
      size_t k = 0;
      std::string out;
      if (!GoScanQuoted(a, &k, &out)) ExitWithError(kExitInvalidInput, "invalid syntax");
      a = out;
    }
  }
  return raw;
}

namespace {

bool ParseRequestOp(const std::string& line, client::Op* op, std::string* err) {
  std::vector<std::string> args = Argify(line);
  if (args.size() < 2) {
    *err = "invalid txn compare request: " + line;
    return false;
  }
  std::vector<FlagSpec> specs;
  const std::string cmd = args[0];
  if (cmd == "get")
    specs = GetFlags();
  else if (cmd == "put")
    specs = PutFlags();
  else if (cmd == "del")
    specs = DelFlags();
  else {
    *err = "invalid txn request: " + line;
    return false;
  }
  FlagValues f;
  std::vector<std::string> pos;
  std::string perr;
  if (!ParseFlags({args.begin() + 1, args.end()}, specs, &f, &pos, &perr)) {
    *err = "invalid txn request: " + line;
    return false;
  }
  if (cmd == "get") {
    GetOp g = BuildGetOp(f, pos);
    *op = client::Op::Get(g.key, g.opts);
  } else if (cmd == "put") {
    PutOp p = BuildPutOp(f, pos, false);
    *op = client::Op::Put(p.key, p.value, p.opts);
  } else {
    DelOp d = BuildDelOp(f, pos);
    *op = client::Op::Delete(d.key, d.opts);
  }
  return true;
}

std::vector<client::Op> ReadOps() {
  std::vector<client::Op> ops;
  std::string line;
  for (;;) {
    if (!ReadLine(&line)) ExitWithError(kExitInvalidInput, "EOF");
    line = TrimSpace(line);
    if (line.empty()) break;
    client::Op op = client::Op::Get("");
    std::string err;
    if (!ParseRequestOp(line, &op, &err)) ExitWithError(kExitInvalidInput, err);
    ops.push_back(op);
  }
  return ops;
}

}  // namespace

void RunTxn(Context& ctx, const FlagValues& f, const std::vector<std::string>& args) {
  if (!args.empty()) ExitWithError(kExitBadArgs, "txn command does not accept argument");
  // The client first, as etcdctl: a password prompt takes its line of stdin
  // before the txn is read.
  client::KvClient kv(ctx.Client());
  const bool interactive = f.Bool("interactive");
  auto prompt = [&](const char* s) {
    if (interactive) {
      Out(std::string(s) + "\n");
      std::fflush(stdout);
    }
  };
  client::Txn txn;
  prompt("compares:");
  std::vector<client::Cmp> cmps;
  std::string line;
  for (;;) {
    if (!ReadLine(&line)) ExitWithError(kExitInvalidInput, "EOF");
    line = TrimSpace(line);
    if (line.empty()) break;
    client::Cmp cmp = client::Cmp::Version("");
    std::string err;
    if (!ParseCompare(line, &cmp, &err)) ExitWithError(kExitInvalidInput, err);
    cmps.push_back(cmp);
  }
  txn.If(cmps);
  prompt("success requests (get, put, del):");
  txn.Then(ReadOps());
  prompt("failure requests (get, put, del):");
  txn.Else(ReadOps());
  auto resp = kv.Commit(txn);
  if (!resp.ok()) ExitWithError(kExitError, ErrorText(resp.status()));
  ctx.printer->Txn(*resp);
}

}  // namespace quorum::ctl
