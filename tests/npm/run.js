#!/usr/bin/env node
// Differential compatibility suite: the npm `etcd3` client (microsoft/etcd3, pinned in
// package-lock.json) against Debian's etcd 3.4 and against quorum.
//
// For each server kind in turn (etcd first, then quorum) every group of cases gets a
// fresh single-member server on free 127.0.0.1 ports and a fresh data dir; the cases of
// the group run in order against it, each with its own etcd3 client, and record a
// transcript of what the client returned. The quorum transcript of each case must be
// identical to etcd's. etcd's transcript is the expectation: it is never edited.
//
// Normalised (only what legitimately differs): header cluster_id / member_id /
// raft_term (a zero stays 0), lease ids (L1, L2... in order of first appearance,
// also inside election keys and error messages), remaining lease TTLs (recorded as
// range checks), and the capitalisation of the gRPC library's own "received message
// larger than max" text (grpc-go vs gRPC C++). Revisions are compared exactly.
//
// Usage: node run.js [--quorum-bin PATH] [--etcd-bin PATH] [--etcd-only] [-k FILTER]
//                    [-v] [--list] [--keep]
// The last line is always "N passed, M failed"; the exit status is non-zero when M > 0.
// See docs/testing-e2e.md ("npm etcd3 client").
'use strict';

// Cases on which quorum is known to differ from etcd 3.4: name -> what differs.
// They still run and print their diff, but are counted apart so CI stays green.
// Remove an entry as soon as the server is fixed (the run says when it matches).
const KNOWN_DIFFERENCES = {
};

const childProcess = require('child_process');
const fs = require('fs');
const net = require('net');
const os = require('os');
const path = require('path');

const HERE = __dirname;
const REPO_ROOT = path.resolve(HERE, '..', '..');

let etcd3;
try {
  etcd3 = require(path.join(HERE, 'node_modules', 'etcd3'));
} catch (e) {
  console.error('etcd3 is not installed: run tests/npm/run.sh (npm ci) first\n' + e.message);
  console.log('0 passed, 1 failed');
  process.exit(1);
}
const {Etcd3} = etcd3;

// ---------------------------------------------------------------------------
// options
// ---------------------------------------------------------------------------

const opts = {
  quorumBin: process.env.QUORUM_BIN || path.join(REPO_ROOT, 'build', 'bin', 'quorum'),
  etcdBin: process.env.ETCD_BIN || '/usr/bin/etcd',
  etcdOnly: false,
  filter: null,
  verbose: false,
  list: false,
  keep: process.env.E2E_KEEP === '1',
};
for (let i = 2; i < process.argv.length; i++) {
  const a = process.argv[i];
  const next = () => {
    if (i + 1 >= process.argv.length) usage(`${a} needs a value`);
    return process.argv[++i];
  };
  if (a === '--quorum-bin') opts.quorumBin = next();
  else if (a.startsWith('--quorum-bin=')) opts.quorumBin = a.slice(13);
  else if (a === '--etcd-bin') opts.etcdBin = next();
  else if (a === '--etcd-only') opts.etcdOnly = true;
  else if (a === '-k') opts.filter = next();
  else if (a === '-v') opts.verbose = true;
  else if (a === '--list') opts.list = true;
  else if (a === '--keep') opts.keep = true;
  else usage(`unknown argument ${a}`);
}

function usage(msg) {
  console.error(`run.js: ${msg}\nusage: node run.js [--quorum-bin PATH] [--etcd-bin PATH] ` +
                '[--etcd-only] [-k FILTER] [-v] [--list] [--keep]');
  process.exit(2);
}

const CASE_TIMEOUT_MS = 15000;      // default per case
const START_TIMEOUT_MS = 25000;     // server start until healthy
const RUN_TIMEOUT_MS = 170000;      // the whole run
const QUIET_MS = 300;               // extra wait for stray events after the expected ones

// ---------------------------------------------------------------------------
// small helpers
// ---------------------------------------------------------------------------

const sleep = ms => new Promise(resolve => setTimeout(resolve, ms));

function withTimeout(promise, ms, what) {
  let timer;
  const t = new Promise((_, reject) => {
    timer = setTimeout(() => reject(new TimeoutError(`${what}: no result within ${ms} ms`)), ms);
  });
  return Promise.race([promise, t]).finally(() => clearTimeout(timer));
}

class TimeoutError extends Error {}

/** Polls cond() every 20 ms until it is true; throws TimeoutError after ms. */
async function until(cond, ms, what) {
  const deadline = Date.now() + ms;
  while (!cond()) {
    if (Date.now() > deadline) throw new TimeoutError(`waiting for ${what}: gave up after ${ms} ms`);
    await sleep(20);
  }
}

/** The first `event` emitted by emitter, bounded by ms. */
function once(emitter, event, ms) {
  return withTimeout(new Promise(resolve => emitter.once(event, (...args) => resolve(args[0]))),
                     ms, `event '${event}'`);
}

function freePort() {
  return new Promise((resolve, reject) => {
    const srv = net.createServer();
    srv.unref();
    srv.on('error', reject);
    srv.listen(0, '127.0.0.1', () => {
      const port = srv.address().port;
      srv.close(() => resolve(port));
    });
  });
}

function tcpReady(port) {
  return new Promise(resolve => {
    const sock = net.connect({host: '127.0.0.1', port});
    const done = ok => { sock.destroy(); resolve(ok); };
    sock.setTimeout(500, () => done(false));
    sock.on('connect', () => done(true));
    sock.on('error', () => done(false));
  });
}

// etcd 3.4 refuses to start on arches other than amd64/arm64/ppc64le unless
// ETCD_UNSUPPORTED_ARCH names the Go arch (same rule as tests/e2e/harness.py).
function etcdUnsupportedArch() {
  const m = os.arch();
  if (['x64', 'arm64', 'ppc64'].includes(m)) return null;
  return {ia32: '386', arm: 'arm', s390x: 's390x', riscv64: 'riscv64', mips64el: 'mips64le'}[m] || m;
}

// ---------------------------------------------------------------------------
// servers: started by us, tracked by pid, stopped by pid
// ---------------------------------------------------------------------------

const LIVE = new Map();  // pid -> Server

class ServerStartError extends Error {}

class Server {
  constructor(kind, binary) {
    this.kind = kind;
    this.binary = binary;
    this.proc = null;
    this.exited = false;
    this.tmp = null;
  }

  get endpoint() { return `127.0.0.1:${this.clientPort}`; }

  logTail(n = 20) {
    try {
      return fs.readFileSync(this.logPath, 'utf8').split('\n').slice(-n).join('\n');
    } catch (e) {
      return '(no log)';
    }
  }

  async start() {
    try {
      fs.accessSync(this.binary, fs.constants.X_OK);
    } catch (e) {
      throw new ServerStartError(`${this.kind} binary not found or not executable: ${this.binary}`);
    }
    this.tmp = fs.mkdtempSync(path.join(os.tmpdir(), `quorum-npm-${this.kind}-`));
    this.logPath = path.join(this.tmp, 'server.log');
    this.clientPort = await freePort();
    do { this.peerPort = await freePort(); } while (this.peerPort === this.clientPort);
    const client = `http://127.0.0.1:${this.clientPort}`;
    const peer = `http://127.0.0.1:${this.peerPort}`;
    // The same flags as tests/e2e/harness.py gives both servers.
    const args = ['--name', 'n1', '--data-dir', path.join(this.tmp, 'data'),
                  '--listen-client-urls', client, '--advertise-client-urls', client,
                  '--listen-peer-urls', peer, '--initial-advertise-peer-urls', peer,
                  '--initial-cluster', `n1=${peer}`];
    const env = {};
    for (const [k, v] of Object.entries(process.env)) {
      if (!k.startsWith('ETCD_') && !k.startsWith('ETCDCTL_')) env[k] = v;
    }
    if (this.kind === 'etcd' && etcdUnsupportedArch()) env.ETCD_UNSUPPORTED_ARCH = etcdUnsupportedArch();
    const log = fs.openSync(this.logPath, 'a');
    fs.writeSync(log, `==== npm suite: ${this.binary} ${args.join(' ')}\n`);
    this.proc = childProcess.spawn(this.binary, args, {
      cwd: this.tmp, env, stdio: ['ignore', log, log], detached: true,
    });
    fs.closeSync(log);
    this.exited = false;
    this.exitPromise = new Promise(resolve => this.proc.once('exit', (code, sig) => {
      this.exited = true;
      resolve(sig || code);
    }));
    this.proc.once('error', () => { this.exited = true; });
    if (this.proc.pid) LIVE.set(this.proc.pid, this);

    const deadline = Date.now() + START_TIMEOUT_MS;
    while (Date.now() < deadline) {
      if (this.exited) {
        throw new ServerStartError(`${this.kind} exited during startup:\n${this.logTail()}`);
      }
      if (await tcpReady(this.clientPort) && await this.healthy()) return this;
      await sleep(100);
    }
    await this.stop();
    throw new ServerStartError(`${this.kind} not healthy within ${START_TIMEOUT_MS} ms`);
  }

  /** A linearizable read answered (it needs a leader). Reads do not move the revision. */
  async healthy() {
    const client = new Etcd3({hosts: this.endpoint, dialTimeout: 2000});
    try {
      await client.get('health').options({deadline: Date.now() + 2000}).exec();
      return true;
    } catch (e) {
      return false;
    } finally {
      client.close();
    }
  }

  /** SIGTERM by pid, SIGKILL after 5 s; removes the data dir. */
  async stop() {
    if (this.proc && this.proc.pid) {
      const pid = this.proc.pid;
      if (!this.exited) {
        try { process.kill(pid, 'SIGTERM'); } catch (e) { /* already gone */ }
        try {
          await withTimeout(this.exitPromise, 5000, `${this.kind} SIGTERM`);
        } catch (e) {
          try { process.kill(pid, 'SIGKILL'); } catch (e2) { /* already gone */ }
          await withTimeout(this.exitPromise, 3000, `${this.kind} SIGKILL`).catch(() => {});
        }
      }
      LIVE.delete(pid);
    }
    if (this.tmp && !opts.keep) fs.rmSync(this.tmp, {recursive: true, force: true});
    else if (this.tmp) console.log(`kept ${this.tmp}`);
    this.tmp = null;
  }
}

function killAllSync() {
  for (const [pid, srv] of LIVE) {
    try { process.kill(pid, 'SIGKILL'); } catch (e) { /* gone */ }
    LIVE.delete(pid);
    if (srv.tmp && !opts.keep) {
      try { fs.rmSync(srv.tmp, {recursive: true, force: true}); } catch (e) { /* best effort */ }
    }
  }
}
process.on('exit', killAllSync);
for (const sig of ['SIGINT', 'SIGTERM', 'SIGHUP']) {
  process.on(sig, () => {
    killAllSync();
    process.exit(128 + os.constants.signals[sig]);
  });
}

// ---------------------------------------------------------------------------
// transcript + normalisation
// ---------------------------------------------------------------------------

const HEADER_IDS = new Set(['cluster_id', 'member_id', 'raft_term']);

function maskId(v) {
  return (v === 0 || v === '0' || v === null || v === undefined || v === '') ? v : '<set>';
}

function bufText(b) {
  const s = b.toString('utf8');
  // Printable UTF-8 is shown as text, anything else as hex.
  if (Buffer.from(s, 'utf8').equals(b) && !/[\x00-\x08\x0e-\x1f\x7f\ufffd]/.test(s)) return s;
  return 'hex:' + b.toString('hex');
}

class Ctx {
  constructor(server) {
    this.server = server;
    this.lines = [];
    this.leases = new Map();   // lease id (decimal string) -> 'L<n>'
    this.clients = [];
    this.closers = [];
    this.unexpected = null;    // set when the case threw something it did not expect
  }

  /** A new etcd3 client on this server; closed when the case ends. */
  newClient() {
    const c = new Etcd3({hosts: this.server.endpoint, dialTimeout: 3000});
    this.clients.push(c);
    return c;
  }

  get client() {
    if (!this.mainClient) this.mainClient = this.newClient();
    return this.mainClient;
  }

  /** Registers a lease id: it is shown as L1, L2, ... in order of registration. */
  lease(id) {
    id = String(id);
    if (id === '0' || id === '') return id;
    if (!this.leases.has(id)) this.leases.set(id, `L${this.leases.size + 1}`);
    return this.leases.get(id);
  }

  /** Replaces registered lease ids that stand as a whole number (key segments, messages). */
  maskLeaseIds(s) {
    return s.replace(/-?\d+/g, m => this.leases.get(m) || m);
  }

  norm(v, key) {
    if (Buffer.isBuffer(v)) {
      const s = bufText(v);
      return key === 'key' ? this.maskLeaseIds(s) : s;
    }
    if (v instanceof Error) return this.err(v);
    if (Array.isArray(v)) return v.map(x => this.norm(x));
    if (v && typeof v === 'object') {
      const out = {};
      for (const k of Object.keys(v)) {
        if (HEADER_IDS.has(k)) out[k] = maskId(v[k]);
        else if ((k === 'lease' || k === 'ID') && /^-?\d+$/.test(String(v[k]))) {
          out[k] = this.lease(v[k]);
        } else out[k] = this.norm(v[k], k);
      }
      return out;
    }
    if (typeof v === 'string' && key === 'key') return this.maskLeaseIds(v);
    return v;
  }

  err(e) {
    let msg = this.maskLeaseIds(String(e.message));
    // The gRPC library's own text: grpc-go "grpc: received message larger than max",
    // gRPC C++ "Received message larger than max". Code and sizes stay compared.
    msg = msg.replace(/(grpc: )?[Rr]eceived message larger than max/, 'received message larger than max');
    return {error: e.constructor.name, message: msg};
  }

  rec(label, value) {
    const shown = value === undefined ? 'undefined' : JSON.stringify(this.norm(value));
    this.lines.push(`${label}: ${shown}`);
  }

  /** Runs fn, which must fail: records the error (class and message). */
  async recError(label, fn) {
    try {
      const v = await fn();
      this.rec(label, {unexpectedSuccess: v});
    } catch (e) {
      if (e instanceof TimeoutError) throw e;
      this.rec(label, e);
    }
  }

  onClose(fn) { this.closers.push(fn); }

  async cleanup() {
    for (const fn of this.closers.reverse()) {
      try { await withTimeout(Promise.resolve().then(fn), 3000, 'cleanup'); } catch (e) { /* best effort */ }
    }
    for (const c of this.clients) {
      try { c.close(); } catch (e) { /* best effort */ }
    }
  }
}

/** Collects a watcher's put/delete events into an array of plain records. */
function collect(w) {
  const events = [];
  w.on('put', (kv, prev) => events.push({type: 'put', kv, prev_kv: prev || null}));
  w.on('delete', (kv, prev) => events.push({type: 'delete', kv, prev_kv: prev || null}));
  return events;
}

/** Waits for n events, then QUIET_MS more so that extra events would show up too. */
async function waitEvents(events, n, ms = 5000) {
  await until(() => events.length >= n, ms, `${n} watch events (have ${events.length})`);
  await sleep(QUIET_MS);
}

// ---------------------------------------------------------------------------
// cases
// ---------------------------------------------------------------------------

const GROUPS = [];
function group(name, cases) { GROUPS.push({name, cases}); }

const kv = {
  async put_get_types(t) {
    const c = t.client;
    t.rec('put string', (await c.put('t/str').value('hello')).header);
    t.rec('put buffer', (await c.put('t/buf').value(Buffer.from([0, 1, 2, 255]))).header);
    t.rec('put number', (await c.put('t/num').value(42)).header);
    t.rec('put json', (await c.put('t/json').value(JSON.stringify({a: 1, b: [true, null]}))).header);
    t.rec('string()', await c.get('t/str').string());
    t.rec('buffer()', (await c.get('t/buf').buffer()).toString('hex'));
    t.rec('number()', await c.get('t/num').number());
    t.rec('json()', await c.get('t/json').json());
    t.rec('missing string()', await c.get('t/none').string());
    t.rec('exists()', [await c.get('t/str').exists(), await c.get('t/none').exists()]);
    t.rec('exec()', await c.get('t/str').exec());
    t.rec('overwrite', (await c.put('t/str').value('again')).header);
    t.rec('exec() after overwrite', await c.get('t/str').exec());
    t.rec('serializable', await c.get('t/str').serializable(true).string());
  },

  async get_all(t) {
    const c = t.client;
    const revs = [];
    for (const [k, v] of [['p/c', '3'], ['p/a', '1'], ['p/e', '5'], ['p/b', '2'], ['p/d', '4'],
                          ['q/x', 'x'], ['p', 'root'], ['p/c', '33']]) {
      revs.push(Number((await c.put(k).value(v)).header.revision));
    }
    t.rec('put revisions', revs);
    t.rec('keys()', await c.getAll().prefix('p/').keys());
    t.rec('strings()', await c.getAll().prefix('p/').strings());
    t.rec('numbers()', await c.getAll().prefix('p/').numbers());
    t.rec('count()', await c.getAll().prefix('p/').count());
    t.rec('count() of nothing', await c.getAll().prefix('nothing/').count());
    t.rec('inRange keys()', await c.getAll().inRange({start: 'p/b', end: 'p/d'}).keys());
    t.rec('all() keys()', await c.getAll().all().keys());
    t.rec('all() count()', await c.getAll().all().count());
    t.rec('exec()', await c.getAll().prefix('p/').limit(2).exec());
    t.rec('min/max mod revision', await c.getAll().prefix('p/').minModRevision(revs[1]).maxModRevision(revs[3]).keys());
    t.rec('min mod revision', await c.getAll().prefix('p/').minModRevision(revs[4]).strings());
    t.rec('min/max create revision',
          await c.getAll().prefix('p/').minCreateRevision(revs[0]).maxCreateRevision(revs[2]).keys());
  },

  async sort_limit(t) {
    const c = t.client;
    for (const [k, v] of [['s/b', 'zz'], ['s/a', 'mm'], ['s/c', 'aa'], ['s/b', 'yy'], ['s/d', 'bb'],
                          ['s/b', 'xx'], ['s/a', 'nn']]) {
      await c.put(k).value(v);
    }
    for (const target of ['Key', 'Value', 'Create', 'Mod', 'Version']) {
      for (const order of ['Ascend', 'Descend']) {
        t.rec(`sort ${target} ${order}`, await c.getAll().prefix('s/').sort(target, order).keys());
        t.rec(`sort ${target} ${order} limit 2`,
              await c.getAll().prefix('s/').sort(target, order).limit(2).keys());
      }
    }
    const r = await c.getAll().prefix('s/').sort('Mod', 'Descend').limit(3).exec();
    t.rec('limit 3 exec()', {more: r.more, count: r.count, kvs: r.kvs});
    t.rec('limit 0 means all', await c.getAll().prefix('s/').limit(0).count());
  },

  async delete_prefix(t) {
    const c = t.client;
    for (const k of ['d/a', 'd/b', 'd/c', 'dx']) await c.put(k).value(k.toUpperCase());
    t.rec('delete prefix getPrevious()', await c.delete().prefix('d/').getPrevious());
    t.rec('delete again exec()', await c.delete().prefix('d/').exec());
    t.rec('delete one key', await c.delete().key('dx').exec());
    t.rec('delete missing key', await c.delete().key('dx').exec());
    await c.put('d/r1').value('1');
    await c.put('d/r2').value('2');
    await c.put('d/r3').value('3');
    t.rec('delete range', await c.delete().range(c.range({start: 'd/r1', end: 'd/r3'})).exec());
    t.rec('left', await c.getAll().prefix('d/').strings());
  },

  async put_prev_ignore_lease(t) {
    const c = t.client;
    const lease = c.lease(60, {autoKeepAlive: false});
    t.onClose(() => lease.revoke());
    t.rec('grant', t.lease(await lease.grant()));
    t.rec('put with lease', (await lease.put('pl/k').value('v1')).header);
    t.rec('get', await c.get('pl/k').exec());
    t.rec('ignoreLease getPrevious()', await c.put('pl/k').value('v2').ignoreLease().getPrevious());
    t.rec('get after ignoreLease', (await c.get('pl/k').exec()).kvs);
    t.rec('touch()', (await c.put('pl/k').touch()).header);
    t.rec('get after touch', (await c.get('pl/k').exec()).kvs);
    t.rec('plain put getPrevious()', await c.put('pl/k').value('v3').getPrevious());
    t.rec('get after plain put (lease dropped)', (await c.get('pl/k').exec()).kvs);
    t.rec('getPrevious() of a new key', await c.put('pl/new').value('n').getPrevious());
    await t.recError('touch() of a missing key', () => c.put('pl/none').touch());
    await t.recError('ignoreLease of a missing key', () => c.put('pl/none2').value('x').ignoreLease().exec());
    t.rec('lease compare in txn', (await c.if('pl/k', 'Lease', '==', 0).then(c.get('pl/k')).commit()).succeeded);
  },

  async past_revision(t) {
    const c = t.client;
    const r1 = await c.put('h/k').value('one');
    const rev1 = r1.header.revision;
    t.rec('rev1', rev1);
    await c.put('h/k').value('two');
    await c.put('h/k2').value('x');
    await c.delete().key('h/k');
    t.rec('get at rev1', await c.get('h/k').revision(rev1).string());
    t.rec('getAll at rev1', await c.getAll().prefix('h/').revision(rev1).strings());
    t.rec('getAll at rev1+2', await c.getAll().prefix('h/').revision(Number(rev1) + 2).strings());
    t.rec('get now', await c.get('h/k').string());
    t.rec('exec at rev1', await c.get('h/k').revision(rev1).exec());
    await t.recError('get at a future revision', () => c.get('h/k').revision(Number(rev1) + 100).string());
  },

  async compaction(t) {
    const c = t.client;
    const a = (await c.put('c/k').value('v1')).header.revision;
    const b = (await c.put('c/k').value('v2')).header.revision;
    await c.put('c/k').value('v3');
    t.rec('revisions', [a, b]);
    t.rec('compact', await c.kv.compact({revision: b, physical: true}));
    await t.recError('get below the compaction', () => c.get('c/k').revision(a).string());
    await t.recError('getAll below the compaction', () => c.getAll().prefix('c/').revision(a).keys());
    t.rec('get at the compaction revision', await c.get('c/k').revision(b).string());
    await t.recError('compact again', () => c.kv.compact({revision: b}));
    await t.recError('compact lower', () => c.kv.compact({revision: a}));
    await t.recError('compact future', () => c.kv.compact({revision: Number(b) + 100}));
    t.rec('get now', await c.get('c/k').exec());
  },

  async namespace(t) {
    const c = t.client;
    const ns = c.namespace('app1/');
    t.rec('ns put', (await ns.put('k').value('v')).header);
    t.rec('ns get', await ns.get('k').string());
    t.rec('root view', await c.getAll().prefix('app1/').strings());
    t.rec('ns getAll', await ns.getAll().strings());
    t.rec('ns txn', (await ns.if('k', 'Value', '==', 'v').then(ns.put('k2').value('w')).commit()).succeeded);
    t.rec('ns delete all', await ns.delete().all().exec());
    t.rec('root after', await c.getAll().prefix('app1').count());
  },
};

group('kv', kv);

const txn = {
  async value_branches(t) {
    const c = t.client;
    await c.put('x/k').value('v');
    t.rec('== then', await c.if('x/k', 'Value', '==', 'v')
      .then(c.put('x/k').value('w'), c.get('x/other'))
      .else(c.get('x/k'))
      .commit());
    t.rec('== else', await c.if('x/k', 'Value', '==', 'v')
      .then(c.put('x/k').value('nope'))
      .else(c.get('x/k'), c.delete().key('x/zz'))
      .commit());
    for (const [cmp, v] of [['!=', 'v'], ['>', 'a'], ['<', 'a'], ['===', 'w'], ['!==', 'w']]) {
      t.rec(`Value ${cmp} ${v}`, (await c.if('x/k', 'Value', cmp, v).then(c.get('x/k')).commit()).succeeded);
    }
    t.rec('value compare on a missing key',
          (await c.if('x/missing', 'Value', '==', '').then(c.get('x/k')).commit()).succeeded);
    t.rec('empty then', await c.if('x/k', 'Value', '==', 'w').commit());
  },

  async revision_compares(t) {
    const c = t.client;
    const ra = (await c.put('y/a').value('1')).header.revision;
    const rb = (await c.put('y/b').value('1')).header.revision;
    const ra2 = (await c.put('y/a').value('2')).header.revision;
    t.rec('revisions', [ra, rb, ra2]);
    const cases = [
      ['y/a', 'Version', '==', 2], ['y/a', 'Version', '>', 2], ['y/a', 'Version', '<', 3],
      ['y/a', 'Mod', '==', ra2], ['y/a', 'Mod', '>', rb], ['y/a', 'Mod', '<', rb],
      ['y/a', 'Create', '==', ra], ['y/b', 'Create', '>', ra], ['y/b', 'Create', '!=', rb],
      ['y/missing', 'Create', '==', 0], ['y/missing', 'Version', '==', 0], ['y/missing', 'Mod', '<', 1],
    ];
    for (const [k, col, cmp, v] of cases) {
      t.rec(`${k} ${col} ${cmp} ${v}`, (await c.if(k, col, cmp, v).then(c.get(k)).commit()).succeeded);
    }
    const r = await c.if('y/a', 'Version', '==', 2).and('y/b', 'Mod', '==', rb).and('y/c', 'Create', '==', 0)
      .then(c.put('y/c').value('created'), c.get('y/c'))
      .else(c.get('y/a'))
      .commit();
    t.rec('three compares', r);
    const r2 = await c.if('y/a', 'Version', '==', 2).and('y/b', 'Mod', '==', 0)
      .then(c.put('y/d').value('no'))
      .else(c.delete().prefix('y/'), c.getAll().prefix('y/'))
      .commit();
    t.rec('one false compare', r2);
  },

  async nested(t) {
    const c = t.client;
    await c.put('n/a').value('1');
    const inner = {
      request_txn: {
        compare: [{key: Buffer.from('n/a'), target: 'VALUE', result: 'EQUAL', value: Buffer.from('1')}],
        success: [{request_put: {key: Buffer.from('n/inner'), value: Buffer.from('yes')}},
                  {request_range: {key: Buffer.from('n/inner')}}],
        failure: [{request_put: {key: Buffer.from('n/inner'), value: Buffer.from('no')}}],
      },
    };
    t.rec('outer then inner', await c.if('n/a', 'Version', '>', 0).then(inner, c.get('n/inner')).commit());
    t.rec('put then read in one txn',
          await c.if('n/a', 'Value', '==', '1').then(c.put('n/b').value('B'), c.getAll().prefix('n/')).commit());
    t.rec('delete then read in one txn',
          await c.if('n/a', 'Value', '==', '1').then(c.delete().key('n/b'), c.get('n/b')).commit());
    t.rec('final', await c.getAll().prefix('n/').strings());
  },
};

group('txn', txn);

const lease = {
  async grant_ttl(t) {
    const c = t.client;
    const l = c.lease(10, {autoKeepAlive: false});
    t.onClose(() => l.revoke());
    const id = await l.grant();
    t.rec('grant', t.lease(id));
    t.rec('put a', (await l.put('l/a').value('1')).header);
    t.rec('put b', (await l.put('l/b').value('2')).header);
    t.rec('get', (await c.get('l/a').exec()).kvs);
    const ttl = await c.leaseClient.leaseTimeToLive({ID: id, keys: true});
    // etcd 3.4 lists the keys in Go map order (unspecified), so they are sorted.
    t.rec('timeToLive', {header: ttl.header, ID: ttl.ID, grantedTTL: ttl.grantedTTL,
                         keys: ttl.keys.map(String).sort(), TTLin8to10: Number(ttl.TTL) >= 8 && Number(ttl.TTL) <= 10});
    const l2 = c.lease(1, {autoKeepAlive: false});
    t.onClose(() => l2.revoke());
    t.lease(await l2.grant());
    const ttl2 = await c.leaseClient.leaseTimeToLive({ID: await l2.grant()});
    // etcd raises a TTL under its minimum (2 s with the default election timeout).
    t.rec('ttl 1 granted as', ttl2.grantedTTL);
  },

  async keepalive(t) {
    const c = t.client;
    const l = c.lease(3);
    t.onClose(() => l.revoke());
    const first = once(l, 'keepaliveSucceeded', 5000);
    t.lease(await l.grant());
    const r = await first;
    t.rec('keepaliveSucceeded', {ID: r.ID, TTL: r.TTL, header: r.header});
    let n = 0;
    l.on('keepaliveSucceeded', () => n++);
    await until(() => n >= 2, 5000, 'two more keepalives (every ttl/3)');
    t.rec('more keepalives', true);
    const once1 = await l.keepaliveOnce();
    t.rec('keepaliveOnce', {ID: once1.ID, TTL: once1.TTL});
    await l.revoke();
    t.rec('revoked()', l.revoked());
  },

  async revoke_deletes_keys(t) {
    const c = t.client;
    const l = c.lease(60, {autoKeepAlive: false});
    const id = await l.grant();
    t.rec('grant', t.lease(id));
    await l.put('lr/1').value('a');
    await l.put('lr/2').value('b');
    await c.put('lr/3').value('no lease');
    t.rec('before', await c.getAll().prefix('lr/').exec());
    await l.revoke();
    t.rec('after revoke', await c.getAll().prefix('lr/').exec());
    const ttl = await c.leaseClient.leaseTimeToLive({ID: id, keys: true});
    t.rec('timeToLive after revoke', {ID: ttl.ID, TTL: ttl.TTL, grantedTTL: ttl.grantedTTL, keys: ttl.keys});
    await t.recError('raw revoke again', () => c.leaseClient.leaseRevoke({ID: id}));
    await t.recError('keepaliveOnce after revoke', () => l.keepaliveOnce());
  },

  async expires_after_release(t) {
    const c = t.client;
    const l = c.lease(2);
    const ka = once(l, 'keepaliveSucceeded', 5000);
    const id = await l.grant();
    t.rec('grant', t.lease(id));
    await ka;
    t.rec('put', (await l.put('le/k').value('temp')).header);
    const w = await c.watch().key('le/k').create();
    t.onClose(() => w.cancel());
    const events = collect(w);
    l.release();  // stops the keepalive, leaves the lease to expire on the server
    t.rec('released, state', l.state);
    const start = Date.now();
    await sleep(1000);
    t.rec('still there after 1 s', await c.get('le/k').exists());
    let gone = false;
    while (!gone && Date.now() - start < 10000) {
      gone = !(await c.get('le/k').exists());
      if (!gone) await sleep(100);
    }
    t.rec('gone within 10 s', gone);
    t.rec('get after expiry', await c.get('le/k').exec());
    await waitEvents(events, 1);
    t.rec('watch saw the expiry', events);
    const ttl = await c.leaseClient.leaseTimeToLive({ID: id});
    t.rec('timeToLive after expiry', {ID: ttl.ID, TTL: ttl.TTL});
  },

  async lost_event(t) {
    const c = t.client;
    const l = c.lease(3);
    const ka = once(l, 'keepaliveSucceeded', 5000);
    const id = await l.grant();
    t.lease(id);
    await ka;
    const lost = once(l, 'lost', 6000);
    const failed = [];
    l.on('keepaliveFailed', e => failed.push(e));
    await t.newClient().leaseClient.leaseRevoke({ID: id});
    t.rec('lost', await lost);
    t.rec('keepaliveFailed', failed);
    t.rec('revoked()', l.revoked());
    await t.recError('put on the lost lease', () => l.put('ll/k').value('x').exec());
  },
};

group('lease', lease);

const watch = {
  async prefix_events(t) {
    const c = t.client;
    const w = c.watch().prefix('w/').watcher();
    const connected = await once(w, 'connected', 5000);
    t.rec('connected', {created: connected.created, header: connected.header, events: connected.events});
    const events = collect(w);
    await c.put('w/a').value('1');
    await c.put('w/b').value('2');
    await c.put('z/x').value('outside');
    await c.put('w/a').value('3');
    await c.delete().key('w/b');
    await c.delete().prefix('w/');
    await waitEvents(events, 5);
    t.rec('events', events);
    t.rec('lastRevision()', w.lastRevision());
    const ended = once(w, 'end', 5000);
    await w.cancel();
    await ended;
    t.rec('cancelled', true);
    await c.put('w/c').value('after cancel');
    await sleep(QUIET_MS);
    t.rec('events after cancel', events.length);
  },

  async prev_kv(t) {
    const c = t.client;
    await c.put('wp/k').value('before');
    const w = await c.watch().key('wp/k').withPreviousKV().create();
    t.onClose(() => w.cancel());
    const events = collect(w);
    await c.put('wp/k').value('a');
    await c.put('wp/k').value('b');
    await c.delete().key('wp/k');
    await c.put('wp/k').value('c');
    await waitEvents(events, 4);
    t.rec('events', events);
  },

  async history(t) {
    const c = t.client;
    const first = (await c.put('wh/a').value('1')).header.revision;
    await c.put('wh/b').value('2');
    await c.put('wh/a').value('3');
    await c.delete().key('wh/b');
    const w = await c.watch().prefix('wh/').startRevision(first).withPreviousKV().create();
    t.onClose(() => w.cancel());
    const events = collect(w);
    await waitEvents(events, 4);
    t.rec('replayed', events.splice(0));
    await c.put('wh/c').value('live');
    await waitEvents(events, 1);
    t.rec('live', events);
    const w2 = await c.watch().key('wh/a').startRevision(Number(first) + 1).create();
    t.onClose(() => w2.cancel());
    const e2 = collect(w2);
    await waitEvents(e2, 1);
    t.rec('from first+1, key wh/a', e2);
  },

  async filters(t) {
    const c = t.client;
    const onlyPut = await c.watch().prefix('wf/').only('put').create();
    const onlyDel = await c.watch().prefix('wf/').only('delete').create();
    t.onClose(() => onlyPut.cancel());
    t.onClose(() => onlyDel.cancel());
    const puts = collect(onlyPut);
    const dels = collect(onlyDel);
    await c.put('wf/a').value('1');
    await c.delete().key('wf/a');
    await c.put('wf/b').value('2');
    await c.delete().key('wf/b');
    await waitEvents(puts, 2);
    await waitEvents(dels, 2);
    t.rec('only put', puts);
    t.rec('only delete', dels);
  },

  async many_watchers(t) {
    const c = t.client;
    const ws = [];
    for (const k of ['wm/a', 'wm/b', 'wm/a']) {
      const w = await c.watch().key(k).create();
      t.onClose(() => w.cancel());
      ws.push(collect(w));
    }
    const all = await c.watch().prefix('wm/').create();
    t.onClose(() => all.cancel());
    const allEvents = collect(all);
    await c.put('wm/a').value('1');
    await c.put('wm/b').value('2');
    await c.put('wm/a').value('3');
    await waitEvents(allEvents, 3);
    await until(() => ws[0].length >= 2 && ws[1].length >= 1 && ws[2].length >= 2, 3000, 'key watchers');
    t.rec('per watcher', ws.map(e => e.map(x => `${x.type} ${x.kv.key} ${x.kv.value} ${x.kv.mod_revision}`)));
    t.rec('prefix watcher', allEvents.map(x => `${x.type} ${x.kv.key} ${x.kv.value} ${x.kv.mod_revision}`));
  },

  async compacted(t) {
    const c = t.client;
    const first = (await c.put('wc/k').value('1')).header.revision;
    await c.put('wc/k').value('2');
    const last = (await c.put('wc/k').value('3')).header.revision;
    await c.kv.compact({revision: last, physical: true});
    const w = c.watch().key('wc/k').startRevision(first).watcher();
    const seen = [];
    w.on('connected', r => seen.push({connected: {created: r.created, canceled: r.canceled,
                                                   compact_revision: r.compact_revision}}));
    w.on('data', r => seen.push({data: r}));
    const error = once(w, 'error', 5000);
    t.rec('error', await error);
    await sleep(QUIET_MS);
    t.rec('before the error', seen);
    // A watch at the compaction revision itself still works.
    const w2 = await c.watch().key('wc/k').startRevision(last).create();
    t.onClose(() => w2.cancel());
    const e2 = collect(w2);
    await waitEvents(e2, 1);
    t.rec('at the compaction revision', e2);
  },
};

group('watch', watch);

const recipes = {
  async lock_serialised(t) {
    const c1 = t.client;
    const c2 = t.newClient();
    const a = c1.lock('locks/l').ttl(10);
    await a.acquire();
    t.lease(await a.leaseId());
    t.rec('A acquired', (await c1.get('locks/l').exec()).kvs);
    const b = c2.lock('locks/l').ttl(10);
    await t.recError('B acquire while A holds it', () => b.acquire());
    t.rec('lock keys', await c1.getAll().prefix('locks/').keys());
    await a.release();
    t.rec('after A release', await c1.getAll().prefix('locks/').count());
    await b.acquire();
    t.lease(await b.leaseId());
    t.rec('B acquired', (await c1.get('locks/l').exec()).kvs);
    await b.release();

    // do(): A holds the lock while B tries, fails, waits for the key's delete, retries.
    const order = [];
    let releaseA;
    const aHolds = new Promise(resolve => { releaseA = resolve; });
    let aIn;
    const aEntered = new Promise(resolve => { aIn = resolve; });
    const pa = c1.lock('locks/d').ttl(10).do(async () => {
      order.push('A enter');
      aIn();
      await aHolds;
      order.push('A leave');
      return 'A result';
    });
    await withTimeout(aEntered, 5000, 'A entering');
    const w = await c2.watch().key('locks/d').only('delete').create();
    t.onClose(() => w.cancel());
    const deleted = once(w, 'delete', 8000);
    try {
      await c2.lock('locks/d').ttl(10).do(() => order.push('B enter (wrong)'));
    } catch (e) {
      order.push(`B failed: ${e.constructor.name}`);
    }
    releaseA();
    t.rec('A do() result', await pa);
    const del = await deleted;
    t.rec('lock key deleted at', del.mod_revision);
    t.rec('B do() result', await c2.lock('locks/d').ttl(10).do(async () => {
      order.push('B enter');
      await sleep(50);
      order.push('B leave');
      return 'B result';
    }));
    t.rec('order', order);
    t.rec('locks left', await c1.getAll().prefix('locks/').count());
  },

  async election(t) {
    const c1 = t.client;
    const c2 = t.newClient();
    const e1 = c1.election('el', 10);
    const e2 = c2.election('el', 10);
    const obs = await withTimeout(e1.observe(), 5000, 'observe()');
    t.onClose(() => obs.cancel());
    const changes = [];
    obs.on('change', v => changes.push(v === undefined ? '<none>' : v));
    t.rec('initial leader', obs.leader() === undefined ? '<none>' : obs.leader());
    t.rec('leader() with no candidates', await e1.leader());

    const alpha = e1.campaign('alpha');
    t.onClose(() => alpha.resign());
    await withTimeout(alpha.wait(), 5000, 'alpha elected');
    const alphaKey = await alpha.getCampaignKey();
    t.lease(alphaKey.split('/').pop());
    t.rec('alpha elected', {key: alphaKey});
    await until(() => changes.includes('alpha'), 5000, 'observer sees alpha');

    const beta = e2.campaign('beta');
    t.onClose(() => beta.resign());
    const betaElected = withTimeout(beta.wait(), 10000, 'beta elected');
    let elected = false;
    betaElected.then(() => { elected = true; }, () => {});
    await once(beta, '_isWaiting', 5000);
    const betaKey = await beta.getCampaignKey();
    t.lease(betaKey.split('/').pop());
    t.rec('beta waiting', {key: betaKey, elected});

    await alpha.proclaim('alpha2');
    await until(() => changes.includes('alpha2'), 5000, 'observer sees alpha2');
    t.rec('leader() after proclaim', await e2.leader());
    t.rec('candidates by create revision',
          (await c1.getAll().prefix('election/el/').sort('Create', 'Ascend').exec()).kvs);

    await alpha.resign();
    await betaElected;
    t.rec('beta elected after alpha resigned', elected);
    await until(() => changes.includes('beta'), 5000, 'observer sees beta');
    t.rec('leader()', await e1.leader());
    await beta.resign();
    await until(() => changes[changes.length - 1] === '<none>', 5000, `observer sees no leader (changes ${changes})`);
    await sleep(QUIET_MS);
    t.rec('observer changes', changes);
    t.rec('keys left', await c1.getAll().prefix('election/').count());
    await t.recError('proclaim after resign', () => alpha.proclaim('late'));
  },

  async stm_conflict(t) {
    const c = t.client;
    const other = t.newClient();
    await c.put('stm/k').value('0');
    let attempts = 0;
    const res = await c.stm({retries: 3}).transact(async tx => {
      attempts++;
      const v = await tx.get('stm/k').string();
      if (attempts === 1) await other.put('stm/k').value('100');
      tx.put('stm/k').value(String(Number(v) + 1));
      return v;
    });
    t.rec('result', res);
    t.rec('attempts', attempts);
    t.rec('after', await c.get('stm/k').exec());
    let tries = 0;
    await t.recError('conflict every time, retries 1', () => c.stm({retries: 1}).transact(async tx => {
      tries++;
      const v = await tx.get('stm/k').string();
      await other.put('stm/k').value(`bump${tries}`);
      tx.put('stm/k').value(v + '!');
    }));
    t.rec('tries', tries);
    t.rec('final', await c.get('stm/k').exec());
    const ro = await c.stm().transact(tx => tx.get('stm/k').string());
    t.rec('read-only transact', ro);
  },
};

group('recipes', recipes);

const errors = {
  async request_too_large(t) {
    const c = t.client;
    await t.recError('put 1.6 MiB', () => c.put('big').value(Buffer.alloc(1.6 * 1024 * 1024, 'a')).exec());
    t.rec('put 1.4 MiB', (await c.put('big').value(Buffer.alloc(1.4 * 1024 * 1024, 'b'))).header);
    // Past the 2 MiB gRPC receive limit (max-request-bytes + 512 KiB). The client
    // retries RESOURCE_EXHAUSTED itself, so a fresh client follows.
    await t.recError('put 2.5 MiB', () => t.newClient().put('big2').value(Buffer.alloc(2.5 * 1024 * 1024, 'c')).exec());
    t.rec('count', await c.getAll().prefix('big').count());
  },

  async unknown_lease(t) {
    const c = t.client;
    await t.recError('put with an unknown lease', () => c.put('e/k').value('v').lease('123456789').exec());
    await t.recError('txn put with an unknown lease',
                     () => c.if('e/k', 'Create', '==', 0).then(c.put('e/k').value('v').lease('123456789')).commit());
    await t.recError('revoke an unknown lease', () => c.leaseClient.leaseRevoke({ID: '123456789'}));
    const ttl = await c.leaseClient.leaseTimeToLive({ID: '123456789'});
    t.rec('timeToLive of an unknown lease', {ID: ttl.ID, TTL: ttl.TTL, grantedTTL: ttl.grantedTTL});
    await t.recError('grant a too large TTL', () => c.lease(9000000001, {autoKeepAlive: false}).grant());
    t.rec('nothing written', await c.getAll().all().count());
  },

  async txn_ops_limit(t) {
    const c = t.client;
    const ops = n => Array.from({length: n}, (_, i) => c.put(`ops/${String(i).padStart(3, '0')}`).value('v'));
    const ok = await c.if('ops/000', 'Create', '==', 0).then(...ops(128)).commit();
    t.rec('128 ops', {succeeded: ok.succeeded, header: ok.header, responses: ok.responses.length});
    await t.recError('129 ops', () => c.if('ops/000', 'Create', '==', 0).then(...ops(129)).commit());
    await t.recError('129 ops in else', () => c.if('ops/000', 'Create', '==', 0).else(...ops(129)).commit());
    await t.recError('duplicate put in txn',
                     () => c.if('ops/000', 'Version', '>', 0).then(c.put('dup').value('1'), c.put('dup').value('2')).commit());
    t.rec('count', await c.getAll().prefix('ops/').count());
  },

  async empty_key(t) {
    const c = t.client;
    await t.recError('put empty key', () => c.put('').value('v').exec());
    await t.recError('get empty key', () => c.get('').string());
    await t.recError('delete empty key', () => c.delete().key('').exec());
    await t.recError('txn compare on empty key', () => c.if('', 'Version', '==', 0).then(c.put('k').value('v')).commit());
    t.rec('nothing written', await c.getAll().all().count());
  },
};

group('errors', errors);

const cluster = {
  // What npm users call for health checks and dashboards. Ids, versions, sizes and
  // raft indexes are masked; their presence and relations are still compared.
  async status_members(t) {
    const c = t.client;
    await c.put('cl/k').value('v');
    const st = await c.maintenance.status({});
    t.rec('status', {
      header: st.header,
      version: /^3\.\d+\.\d+/.test(st.version) ? '<3.x.y>' : st.version,
      dbSize: Number(st.dbSize) > 0 ? '<positive>' : st.dbSize,
      leaderIsSelf: st.leader === st.header.member_id && st.leader !== '0',
      raftIndex: Number(st.raftIndex) > 0 ? '<positive>' : st.raftIndex,
      raftTerm: Number(st.raftTerm) > 0 ? '<positive>' : st.raftTerm,
      errors: st.errors,
    });
    const ml = await c.cluster.memberList({});
    const self = `http://127.0.0.1:${t.server.clientPort}`;
    const peer = `http://127.0.0.1:${t.server.peerPort}`;
    t.rec('memberList', {
      header: ml.header,
      members: ml.members.map(m => ({
        ID: m.ID === ml.header.member_id ? '<self>' : m.ID, name: m.name,
        peerURLs: m.peerURLs.map(u => (u === peer ? '<peer-url>' : u)),
        clientURLs: m.clientURLs.map(u => (u === self ? '<client-url>' : u)),
        isLearner: m.isLearner,
      })),
    });
    t.rec('alarms', await c.maintenance.alarm({action: 'GET', memberID: 0, alarm: 'NONE'}));
  },
};

group('cluster', cluster);

// ---------------------------------------------------------------------------
// running
// ---------------------------------------------------------------------------

function selectedGroups() {
  return GROUPS.map(g => ({
    name: g.name,
    cases: Object.entries(g.cases)
      .map(([name, fn]) => ({name: `${g.name}/${name}`, fn}))
      .filter(c => !opts.filter || c.name.includes(opts.filter)),
  })).filter(g => g.cases.length > 0);
}

async function runCase(server, c) {
  const t = new Ctx(server);
  try {
    await withTimeout(c.fn(t), c.timeout || CASE_TIMEOUT_MS, c.name);
  } catch (e) {
    t.unexpected = e;
    t.lines.push(`UNEXPECTED: ${e.constructor.name}: ${e.message}`);
  } finally {
    await t.cleanup();
  }
  return {lines: t.lines, unexpected: t.unexpected};
}

/** Runs every selected group on fresh servers of one kind; returns name -> result. */
async function runKind(kind, binary, groups) {
  const results = new Map();
  for (const g of groups) {
    const server = new Server(kind, binary);
    try {
      await server.start();
    } catch (e) {
      for (const c of g.cases) {
        results.set(c.name, {lines: [`SERVER DID NOT START: ${e.message.split('\n')[0]}`],
                             unexpected: e, startLog: e.message});
      }
      await server.stop().catch(() => {});
      continue;
    }
    try {
      for (const c of g.cases) {
        const t0 = Date.now();
        const r = await runCase(server, c);
        r.ms = Date.now() - t0;
        if (server.exited) r.lines.push(`SERVER EXITED: ${server.logTail(10)}`);
        results.set(c.name, r);
        if (opts.verbose) console.log(`  ${kind}::${c.name} (${r.ms} ms)`);
      }
    } finally {
      await server.stop();
    }
  }
  return results;
}

/** A line diff (LCS); transcripts are short. */
function diff(a, b) {
  const n = a.length, m = b.length;
  const dp = Array.from({length: n + 1}, () => new Int32Array(m + 1));
  for (let i = n - 1; i >= 0; i--) {
    for (let j = m - 1; j >= 0; j--) {
      dp[i][j] = a[i] === b[j] ? dp[i + 1][j + 1] + 1 : Math.max(dp[i + 1][j], dp[i][j + 1]);
    }
  }
  const out = [];
  let i = 0, j = 0;
  while (i < n || j < m) {
    if (i < n && j < m && a[i] === b[j]) { out.push(`  ${a[i]}`); i++; j++; }
    else if (j < m && (i === n || dp[i][j + 1] >= dp[i + 1][j])) { out.push(`+ ${b[j]}`); j++; }
    else { out.push(`- ${a[i]}`); i++; }
  }
  return out;
}

async function main() {
  const groups = selectedGroups();
  if (opts.list) {
    for (const g of groups) for (const c of g.cases) console.log(c.name);
    return 0;
  }
  const watchdog = setTimeout(() => {
    console.error(`run.js: the whole run took over ${RUN_TIMEOUT_MS} ms; stopping the servers`);
    killAllSync();
    console.log('0 passed, 1 failed');
    process.exit(1);
  }, RUN_TIMEOUT_MS);
  watchdog.unref();

  let passed = 0, failed = 0, known = 0;
  const fail = (name, why, detail) => {
    failed++;
    console.log(`FAIL ${name}: ${why}`);
    if (detail) console.log(detail.map(l => `    ${l}`).join('\n'));
  };

  const t0 = Date.now();
  const etcdResults = await runKind('etcd', opts.etcdBin, groups);
  const quorumResults = opts.etcdOnly ? null : await runKind('quorum', opts.quorumBin, groups);

  for (const g of groups) {
    for (const c of g.cases) {
      const e = etcdResults.get(c.name);
      // etcd's own run checks the case itself: it must complete without surprises.
      if (e.unexpected) {
        fail(`etcd::${c.name}`, 'the case did not complete against etcd', e.lines);
      } else {
        passed++;
        if (opts.verbose) {
          console.log(`ok   etcd::${c.name}`);
          console.log(e.lines.map(l => `    ${l}`).join('\n'));
        }
      }
      if (!quorumResults) continue;
      const q = quorumResults.get(c.name);
      const same = !e.unexpected && e.lines.join('\n') === q.lines.join('\n');
      const knownWhy = KNOWN_DIFFERENCES[c.name];
      if (same) {
        passed++;
        if (knownWhy) console.log(`NOTE quorum::${c.name} now matches etcd: remove it from KNOWN_DIFFERENCES`);
        else if (opts.verbose) console.log(`ok   quorum::${c.name}`);
      } else if (knownWhy && !e.unexpected && !q.startLog) {
        known++;
        console.log(`KNOWN quorum::${c.name}: ${knownWhy} (diff etcd -> quorum)`);
        console.log(diff(e.lines, q.lines).map(l => `    ${l}`).join('\n'));
      } else {
        fail(`quorum::${c.name}`, 'differs from etcd 3.4 (diff etcd -> quorum)', diff(e.lines, q.lines));
      }
    }
  }
  clearTimeout(watchdog);
  console.log(`run took ${((Date.now() - t0) / 1000).toFixed(1)} s; etcd3 npm ` +
              `${require(path.join(HERE, 'node_modules', 'etcd3', 'package.json')).version}`);
  if (known > 0) console.log(`${known} known differences (listed in KNOWN_DIFFERENCES; not counted)`);
  console.log(`${passed} passed, ${failed} failed`);
  return failed > 0 ? 1 : 0;
}

main().then(code => {
  killAllSync();
  process.exit(code);
}, e => {
  console.error(e && e.stack || e);
  killAllSync();
  console.log('0 passed, 1 failed');
  process.exit(1);
});
