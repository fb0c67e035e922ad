// get, put, del, compaction (and the txn entry; its reader is txn_command.cc):
// etcdctl 3.4's argument rules, messages and exit codes
// (etcdctl/ctlv3/command/{get,put,del,compaction}_command.go).
#include <algorithm>
#include <iostream>
#include <iterator>

#include "absl/strings/ascii.h"
#include "absl/strings/str_cat.h"
#include "client/kv.h"
#include "client/txn.h"
#include "cmd/quorumctl/ctl.h"
#include "cmd/quorumctl/gofmt.h"
#include "cmd/quorumctl/kv_ops.h"

namespace quorum::ctl {

using client::DeleteOptions;
using client::GetOptions;
using client::PutOptions;

// ------------------------------------------------------------------ flags
std::vector<FlagSpec> GetFlags() {
  return {
      {"consistency", 0, FlagKind::kString, "l", "Linearizable(l) or Serializable(s)"},
      {"order", 0, FlagKind::kString, "",
       "Order of results; ASCEND or DESCEND (ASCEND by default)"},
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
      {"prev-kv", 0, FlagKind::kBool, "false",
       "return the previous key-value pair before modification"},
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

namespace {

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

}  // namespace

std::vector<CommandSpec> KvCommands() {
  return {
      {"get", "Gets the key or a range of keys", "get [options] <key> [range_end]", "", GetFlags(),
       RunGet},
      {"put", "Puts the given key into the store",
       "put [options] <key> <value> (<value> can also be given from stdin)",
       "\nPuts the given key into the store.\n\nWhen <value> begins with '-', <value> is "
       "interpreted as a flag.\n"
       "Insert '--' for workaround:\n\n$ put <key> -- <value>\n$ put -- <key> <value>\n\n"
       "If <value> isn't given as a command line argument and '--ignore-value' is not specified,\n"
       "this command tries to read the value from standard input.\n\n"
       "If <lease> isn't given as a command line argument and '--ignore-lease' is not specified,\n"
       "this command tries to read the value from standard input.\n\n"
       "For example,\n$ cat file | put <key>\nwill store the content of the file to <key>.\n",
       PutFlags(), RunPut},
      {"del", "Removes the specified key or range of keys [key, range_end)",
       "del [options] <key> [range_end]", "", DelFlags(), RunDel},
      {"txn",
       "Txn processes all the requests in one transaction",
       "txn [options]",
       "",
       {{"interactive", 'i', FlagKind::kBool, "false", "Input transaction in interactive mode"},
        {"help", 'h', FlagKind::kBool, "false", "help for txn"}},
       RunTxn},
      {"compaction",
       "Compacts the event history in etcd",
       "compaction [options] <revision>",
       "",
       {{"physical", 0, FlagKind::kBool, "false",
         "'true' to wait for compaction to physically remove all old revisions"},
        {"help", 'h', FlagKind::kBool, "false", "help for compaction"}},
       RunCompaction},
  };
}

}  // namespace quorum::ctl
