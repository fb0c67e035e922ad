// get, put, del, txn, compaction: etcdctl 3.4's argument rules, messages and
// exit codes (etcdctl/ctlv3/command/{get,put,del,txn,compaction}_command.go).
#include <algorithm>
#include <iostream>
#include <iterator>

#include "absl/strings/ascii.h"
#include "absl/strings/str_cat.h"
#include "client/kv.h"
#include "client/txn.h"
#include "cmd/quorumctl/ctl.h"
#include "cmd/quorumctl/gofmt.h"

namespace quorum::ctl {
namespace {

using client::DeleteOptions;
using client::GetOptions;
using client::PutOptions;

// ------------------------------------------------------------------ flags
std::vector<FlagSpec> GetFlags() {
  return {
      {"consistency", 0, FlagKind::kString, "l", "Linearizable(l) or Serializable(s)"},
      {"order", 0, FlagKind::kString, "", "Order of results; ASCEND or DESCEND (ASCEND by default)"},
      {"sort-by", 0, FlagKind::kString, "", "Sort target; CREATE, KEY, MODIFY, VALUE, or VERSION"},
      {"limit", 0, FlagKind::kInt, "0", "Maximum number of results"},
      {"prefix", 0, FlagKind::kBool, "false", "Get keys with matching prefix"},
      {"from-key", 0, FlagKind::kBool, "false",
       "Get keys that are greater than or equal to the given key using byte compare"},
      {"rev", 0, FlagKind::kInt, "0", "Specify the kv revision"},
      {"keys-only", 0, FlagKind::kBool, "false", "Get only the keys"},
      {"count-only", 0, FlagKind::kBool, "false", "Get only the count"},
      {"print-value-only", 0, FlagKind::kBool, "false",
       "Only write values when using the \"simple\" output format"},
      {"min-mod-rev", 0, FlagKind::kInt, "0", "Minimum modify revision"},
      {"max-mod-rev", 0, FlagKind::kInt, "0", "Maximum modify revision"},
      {"min-create-rev", 0, FlagKind::kInt, "0", "Minimum create revision"},
      {"max-create-rev", 0, FlagKind::kInt, "0", "Maximum create revision"},
      {"help", 'h', FlagKind::kBool, "false", "help for get"},
  };
}

std::vector<FlagSpec> PutFlags() {
  return {
      {"lease", 0, FlagKind::kString, "0", "lease ID (in hexadecimal) to attach to the key"},
      {"prev-kv", 0, FlagKind::kBool, "false", "return the previous key-value pair before modification"},
      {"ignore-value", 0, FlagKind::kBool, "false", "updates the key using its current value"},
      {"ignore-lease", 0, FlagKind::kBool, "false", "updates the key using its current lease"},
      {"help", 'h', FlagKind::kBool, "false", "help for put"},
  };
}

std::vector<FlagSpec> DelFlags() {
  return {
      {"prefix", 0, FlagKind::kBool, "false", "delete keys with matching prefix"},
      {"prev-kv", 0, FlagKind::kBool, "false", "return deleted key-value pairs"},
      {"from-key", 0, FlagKind::kBool, "false",
       "delete keys that are greater than or equal to the given key using byte compare"},
      {"help", 'h', FlagKind::kBool, "false", "help for del"},
  };
}

// ------------------------------------------------------------------ ops
struct GetOp {
  std::string key;
  GetOptions opts;
};

GetOp BuildGetOp(const FlagValues& f, const std::vector<std::string>& args) {
  if (args.empty()) {
    ExitWithError(kExitBadArgs,
                  "get command needs one argument as key and an optional argument as range_end");
  }
  bool prefix = f.Bool("prefix"), from_key = f.Bool("from-key");
  if (prefix && from_key) {
    ExitWithError(kExitBadArgs,
                  "`--prefix` and `--from-key` cannot be set at the same time, choose one");
  }
  GetOp op;
  std::string consistency = f.String("consistency");
  if (consistency == "s") {
    op.opts.serializable = true;
  } else if (consistency != "l") {
    ExitWithError(kExitBadFeature, "unknown consistency flag " + GoQuote(consistency));
  }
  op.key = args[0];
  if (args.size() > 1) {
    if (prefix || from_key) {
      ExitWithError(kExitBadArgs,
                    "too many arguments, only accept one argument when `--prefix` or "
                    "`--from-key` is set");
    }
    op.opts.range_end = args[1];
  }
  op.opts.limit = f.Int("limit");
  if (f.Int("rev") > 0) op.opts.revision = f.Int("rev");
  std::string order = absl::AsciiStrToUpper(f.String("order"));
  if (order == "ASCEND") {
    op.opts.sort_order = client::SortOrder::kAscend;
  } else if (order == "DESCEND") {
    op.opts.sort_order = client::SortOrder::kDescend;
  } else if (!order.empty()) {
    ExitWithError(kExitBadFeature, "bad sort order " + f.String("order"));
  }
  std::string target = absl::AsciiStrToUpper(f.String("sort-by"));
  if (target == "CREATE") {
    op.opts.sort_target = client::SortTarget::kCreate;
  } else if (target == "KEY" || target.empty()) {
    op.opts.sort_target = client::SortTarget::kKey;
  } else if (target == "MODIFY") {
    op.opts.sort_target = client::SortTarget::kMod;
  } else if (target == "VALUE") {
    op.opts.sort_target = client::SortTarget::kValue;
  } else if (target == "VERSION") {
    op.opts.sort_target = client::SortTarget::kVersion;
  } else {
    ExitWithError(kExitBadFeature, "bad sort target " + f.String("sort-by"));
  }
  op.opts.prefix = prefix;
  op.opts.from_key = from_key;
  op.opts.keys_only = f.Bool("keys-only");
  op.opts.count_only = f.Bool("count-only");
  op.opts.min_mod_revision = f.Int("min-mod-rev");
  op.opts.max_mod_revision = f.Int("max-mod-rev");
  op.opts.min_create_revision = f.Int("min-create-rev");
  op.opts.max_create_revision = f.Int("max-create-rev");
  return op;
}

struct PutOp {
  std::string key, value;
  PutOptions opts;
};

PutOp BuildPutOp(const FlagValues& f, const std::vector<std::string>& args, bool stdin_ok) {
  const char* kNeedArgs = "put command needs 1 argument and input from stdin or 2 arguments";
  if (args.empty()) ExitWithError(kExitBadArgs, kNeedArgs);
  PutOp op;
  op.key = args[0];
  op.opts.ignore_value = f.Bool("ignore-value");
  if (op.opts.ignore_value && args.size() > 1) {
    ExitWithError(kExitBadArgs, "put command needs only 1 argument when 'ignore-value' is set");
  }
  if (!op.opts.ignore_value) {
    if (args.size() > 1) {
      op.value = args[1];
    } else {
      std::string in;
      if (stdin_ok) in.assign(std::istreambuf_iterator<char>(std::cin), {});
      if (in.empty()) ExitWithError(kExitBadArgs, kNeedArgs);
      op.value = std::move(in);
    }
  }
  std::string err;
  if (!ParseGoInt(f.String("lease"), 16, &op.opts.lease, &err)) {
    ExitWithError(kExitBadArgs, "bad lease ID (" + err + "), expecting ID in Hex");
  }
  op.opts.prev_kv = f.Bool("prev-kv");
  op.opts.ignore_lease = f.Bool("ignore-lease");
  return op;
}

struct DelOp {
  std::string key;
  DeleteOptions opts;
};

DelOp BuildDelOp(const FlagValues& f, const std::vector<std::string>& args) {
  if (args.empty() || args.size() > 2) {
    ExitWithError(kExitBadArgs,
                  "del command needs one argument as key and an optional argument as range_end");
  }
  bool prefix = f.Bool("prefix"), from_key = f.Bool("from-key");
  if (prefix && from_key) {
    ExitWithError(kExitBadArgs,
                  "`--prefix` and `--from-key` cannot be set at the same time, choose one");
  }
  DelOp op;
  op.key = args[0];
  if (args.size() > 1) {
    if (prefix || from_key) {
      ExitWithError(kExitBadArgs,
                    "too many arguments, only accept one argument when `--prefix` or "
                    "`--from-key` is set");
    }
    op.opts.range_end = args[1];
  }
  op.opts.prefix = prefix;
  op.opts.from_key = from_key;
  op.opts.prev_kv = f.Bool("prev-kv");
  return op;
}

// ------------------------------------------------------------------ commands
void RunGet(Context& ctx, const FlagValues& f, const std::vector<std::string>& args) {
  GetOp op = BuildGetOp(f, args);
  client::KvClient kv(ctx.Client());
  auto resp = kv.Get(op.key, op.opts);
  if (!resp.ok()) ExitWithError(kExitError, ErrorText(resp.status()));
  if (op.opts.count_only && !ctx.printer->is_fields) {
    ExitWithError(kExitBadArgs, "--count-only is only for `--write-out=fields`");
  }
  if (f.Bool("print-value-only")) {
    if (!ctx.printer->is_simple) {
      ExitWithError(kExitBadArgs, "print-value-only is only for `--write-out=simple`");
    }
    ctx.printer->value_only = true;
  }
  ctx.printer->Get(*resp);
}

void RunPut(Context& ctx, const FlagValues& f, const std::vector<std::string>& args) {
  PutOp op = BuildPutOp(f, args, true);
  client::KvClient kv(ctx.Client());
  auto resp = kv.Put(op.key, op.value, op.opts);
  if (!resp.ok()) ExitWithError(kExitError, ErrorText(resp.status()));
  ctx.printer->Put(*resp);
}

void RunDel(Context& ctx, const FlagValues& f, const std::vector<std::string>& args) {
  DelOp op = BuildDelOp(f, args);
  client::KvClient kv(ctx.Client());
  auto resp = kv.Delete(op.key, op.opts);
  if (!resp.ok()) ExitWithError(kExitError, ErrorText(resp.status()));
  ctx.printer->Del(*resp);
}

void RunCompaction(Context& ctx, const FlagValues& f, const std::vector<std::string>& args) {
  if (args.size() != 1) ExitWithError(kExitBadArgs, "compaction command needs 1 argument");
  int64_t rev;
  std::string err;
  if (!ParseGoInt(args[0], 10, &rev, &err)) ExitWithError(kExitError, err);
  client::KvClient kv(ctx.Client());
  client::CompactOptions opts;
  opts.physical = f.Bool("physical");
  auto resp = kv.Compact(rev, opts);
  if (!resp.ok()) ExitWithError(kExitError, ErrorText(resp.status()));
  Out(absl::StrCat("compacted revision ", rev, "\n"));
}

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

std::string TrimSpace(const std::string& s) {
  return std::string(absl::StripAsciiWhitespace(s));
}

// Go's fmt %q scanning of a double-quoted or back-quoted string at s[*i].
bool ScanQuoted(const std::string& s, size_t* i, std::string* out) {
  while (*i < s.size() && (s[*i] == ' ' || s[*i] == '\t' || s[*i] == '\r')) ++*i;
  if (*i >= s.size()) return false;
  out->clear();
  char q = s[*i];
  if (q == '`') {
    size_t end = s.find('`', *i + 1);
    if (end == std::string::npos) return false;
    *out = s.substr(*i + 1, end - *i - 1);
    *i = end + 1;
    return true;
  }
  if (q != '"') return false;
  size_t j = *i + 1;
  while (j < s.size() && s[j] != '"') {
    if (s[j] == '\\' && j + 1 < s.size()) {
      char e = s[j + 1];
      j += 2;
      switch (e) {
        case 'n': out->push_back('\n'); break;
        case 't': out->push_back('\t'); break;
        case 'r': out->push_back('\r'); break;
        case 'a': out->push_back('\a'); break;
        case 'b': out->push_back('\b'); break;
        case 'f': out->push_back('\f'); break;
        case 'v': out->push_back('\v'); break;
        case '\\': out->push_back('\\'); break;
        case '"': out->push_back('"'); break;
        case '\'': out->push_back('\''); break;
        case 'x':
          if (j + 2 > s.size()) return false;
          out->push_back(static_cast<char>(std::stoi(s.substr(j, 2), nullptr, 16)));
          j += 2;
          break;
        default:
          return false;
      }
      continue;
    }
    out->push_back(s[j++]);
  }
  if (j >= s.size()) return false;
  *i = j + 1;
  return true;
}

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
  if (ScanQuoted(line, &i, &key)) {
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
        if (ScanQuoted(line, &i, &val)) ++n;
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
      case etcdserverpb::Compare::EQUAL: *cmp = base.Equal(v); break;
      case etcdserverpb::Compare::NOT_EQUAL: *cmp = base.NotEqual(v); break;
      case etcdserverpb::Compare::GREATER: *cmp = base.Greater(v); break;
      default: *cmp = base.Less(v); break;
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
      case etcdserverpb::Compare::EQUAL: *cmp = base.Equal(val); break;
      case etcdserverpb::Compare::NOT_EQUAL: *cmp = base.NotEqual(val); break;
      case etcdserverpb::Compare::GREATER: *cmp = base.Greater(val); break;
      default: *cmp = base.Less(val); break;
    }
    return true;
  }
  *err = "malformed comparison: " + line + " (unknown target " + target + ")";
  return false;
}

// etcdctl's argify: "double quoted" (Go escapes), 'single quoted', or bare.
std::vector<std::string> Argify(const std::string& s) {
  std::vector<std::string> raw;
  size_t i = 0;
  auto space = [](char c) { return c == ' ' || c == '\t' || c == '\n' || c == '\r' || c == '\f' || c == '\v'; };
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
      size_t k = 0;
      std::string out;
      if (!ScanQuoted(a, &k, &out)) ExitWithError(kExitInvalidInput, "unexpected EOF");
      a = out;
    }
  }
  return raw;
}

bool ParseRequestOp(const std::string& line, client::Op* op, std::string* err) {
  std::vector<std::string> args = Argify(line);
  if (args.size() < 2) {
    *err = "invalid txn compare request: " + line;
    return false;
  }
  std::vector<FlagSpec> specs;
  const std::string cmd = args[0];
  if (cmd == "get") specs = GetFlags();
  else if (cmd == "put") specs = PutFlags();
  else if (cmd == "del") specs = DelFlags();
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

void RunTxn(Context& ctx, const FlagValues& f, const std::vector<std::string>& args) {
  if (!args.empty()) ExitWithError(kExitBadArgs, "txn command does not accept argument");
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
  client::KvClient kv(ctx.Client());
  auto resp = kv.Commit(txn);
  if (!resp.ok()) ExitWithError(kExitError, ErrorText(resp.status()));
  ctx.printer->Txn(*resp);
}

}  // namespace

std::vector<CommandSpec> KvCommands() {
  return {
      {"get", "Gets the key or a range of keys", "get [options] <key> [range_end]", "", GetFlags(),
       RunGet},
      {"put", "Puts the given key into the store", "put [options] <key> <value> (<value> can also be given from stdin)",
       "\nPuts the given key into the store.\n\nWhen <value> begins with '-', <value> is interpreted as a flag.\n"
       "Insert '--' for workaround:\n\n$ put <key> -- <value>\n$ put -- <key> <value>\n\n"
       "If <value> isn't given as a command line argument and '--ignore-value' is not specified,\n"
       "this command tries to read the value from standard input.\n\n"
       "If <lease> isn't given as a command line argument and '--ignore-lease' is not specified,\n"
       "this command tries to read the value from standard input.\n\n"
       "For example,\n$ cat file | put <key>\nwill store the content of the file to <key>.\n",
       PutFlags(), RunPut},
      {"del", "Removes the specified key or range of keys [key, range_end)",
       "del [options] <key> [range_end]", "", DelFlags(), RunDel},
      {"txn", "Txn processes all the requests in one transaction", "txn [options]", "",
       {{"interactive", 'i', FlagKind::kBool, "false", "Input transaction in interactive mode"},
        {"help", 'h', FlagKind::kBool, "false", "help for txn"}},
       RunTxn},
      {"compaction", "Compacts the event history in etcd", "compaction [options] <revision>", "",
       {{"physical", 0, FlagKind::kBool, "false",
         "'true' to wait for compaction to physically remove all old revisions"},
        {"help", 'h', FlagKind::kBool, "false", "help for compaction"}},
       RunCompaction},
  };
}

}  // namespace quorum::ctl
