// The customer widget end to end: a visitor clicks "call me now" in Debian's Chromium on the demo
// page a real `parley serve` serves, and real SIP phones ring. The agent's phone (a SIPp UAS
// registered with digest auth) is offered the callback first and answers; Parley whispers
// "Callback for ..." to it and then dials the customer through the outbound trunk, which points at
// a second SIPp UAS playing the customer's phone; the customer answers, talks for a second and
// hangs up. The checks: the agent's phone answered, the customer's phone was called at the number
// the visitor typed in E.164 (+447911123456) from the configured caller id, the supervisor API
// says the callback is done and connected, and both phones saw the call end.
//
// Run: node tests/ui/widget_e2e_test.mjs PATH_TO_PARLEY (after `make ui`; needs sipp and
// Chromium from `make deps`), from any directory. CTest: parley_ui_widget_e2e. The logs (Parley's,
// each phone's SIP messages) are kept in a temp dir when it fails, or with PARLEY_E2E_KEEP=1.
// Loopback only, free ports, every wait bounded, every process (Parley, each SIPp) killed in
// the end by its process group.
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { spawn, spawnSync } from 'node:child_process';
import dgram from 'node:dgram';
import { existsSync, mkdtempSync, openSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import net from 'node:net';
import os from 'node:os';
import path from 'node:path';
import {
  distDir,
  launchChromium,
  newVisitor,
  openPanel,
  repoRoot,
  requestCallNow,
  requireUiPrerequisites,
  resultOf,
  waitUntil,
} from './lib.mjs';

const testName = 'parley_ui_widget_e2e';
requireUiPrerequisites(testName);

const parleyBin = path.resolve(process.argv[2] || process.env.PARLEY_BIN || 'build/src/app/parley');
const sippBin = process.env.PARLEY_SIPP || 'sipp';
{
  const missing = [];
  if (!existsSync(parleyBin)) {
    missing.push(`the parley binary at ${parleyBin}: build it, and pass its path as the first argument`);
  }
  if (spawnSync(sippBin, ['-v'], { stdio: 'ignore' }).error) {
    missing.push('sipp: run `make deps` (Debian package sip-tester)');
  }
  if (missing.length > 0) {
    console.error(`${testName}: FAILED before starting: missing\n  - ${missing.join('\n  - ')}`);
    process.exit(1);
  }
}

const here = path.join(repoRoot, 'tests', 'ui');
const typedNumber = '07911 123456'; // what the visitor types (national, UK)
const e164 = '+447911123456'; // what Parley must dial (callbacks.country_code 44)
// callbacks.caller_id, the From user on the customer's call, in E.164: the '+' must reach the customer's phone unchanged (RFC 3261 allows it).
const callerId = '+442071234567';
const agent = { extension: '1001', password: 'demo1001' };
const supervisor = { name: 'boss', password: 'bosspass' };

const T = 20_000; // bound on each wait (generous: CI runs the C++ tests beside it)
const whisperBound = 40_000; // agent answers -> TTS whisper plays -> the customer's phone rings

// ---- free loopback ports ----

/** A port the kernel just gave out for `kind` ('udp4' or 'tcp') on 127.0.0.1. */
function freePort(kind) {
  return new Promise((resolve, reject) => {
    if (kind === 'tcp') {
      const s = net.createServer();
      s.once('error', reject);
      s.listen(0, '127.0.0.1', () => {
        const { port } = s.address();
        s.close(() => resolve(port));
      });
    } else {
      const s = dgram.createSocket('udp4');
      s.once('error', reject);
      s.bind(0, '127.0.0.1', () => {
        const { port } = s.address();
        s.close(() => resolve(port));
      });
    }
  });
}

/** True if something already holds UDP `port` on 127.0.0.1 (a SIPp that has started listening). */
function udpPortTaken(port) {
  return new Promise((resolve) => {
    const s = dgram.createSocket('udp4');
    s.once('error', (e) => resolve(e.code === 'EADDRINUSE'));
    s.bind(port, '127.0.0.1', () => s.close(() => resolve(false)));
  });
}

// ---- child processes ----

const children = []; // { name, proc, log }, each the leader of its own process group

/** Kills every child's process group (sync, so it also works from an 'exit' handler). */
function killAll(signal = 'SIGKILL') {
  for (const c of children) {
    if (c.proc.exitCode === null && c.proc.signalCode === null) {
      try {
        process.kill(-c.proc.pid, signal);
      } catch {
        // already gone
      }
    }
  }
}
process.on('exit', () => killAll());

const read = (file) => {
  try {
    return readFileSync(file, 'utf8');
  } catch {
    return '';
  }
};
const tail = (file, n = 3000) => read(file).slice(-n);
const exited = (c) => c.proc.exitCode !== null || c.proc.signalCode !== null;

/**
 * Starts `args` in its own process group under `timeout` (so it dies even if this process is
 * killed), stdout and stderr to dir/<name>.out. Returns { name, proc, log }.
 */
function start(dir, name, args) {
  const log = path.join(dir, `${name}.out`);
  const fd = openSync(log, 'w');
  const proc = spawn('timeout', ['-k', '5', '100', ...args], { cwd: dir, detached: true, stdio: ['ignore', fd, fd] });
  const child = { name, proc, log };
  children.push(child);
  return child;
}

/** Waits (bounded) for a child to exit; returns its exit code. */
async function exitOf(child, what, timeoutMs = T) {
  await waitUntil(() => exited(child), what, timeoutMs);
  return child.proc.exitCode;
}

// ---- the setup: Parley, the agent's phone, the customer's phone ----

function parleyConfig(dir, p) {
  return `# Written by tests/ui/widget_e2e_test.mjs.
sip:
  listen: {udp: 127.0.0.1:${p.sipUdp}, tcp: 127.0.0.1:${p.sipTcp}}
  trusted_sources: [127.0.0.1]
  outbound_trunk: {uri: "sip:127.0.0.1:${p.customer}"}
http:
  listen: 127.0.0.1:${p.http}
  users: [{name: ${supervisor.name}, password: ${supervisor.password}, role: supervisor}]
  ui_dir: ${JSON.stringify(distDir)}
store:
  sqlite: ${JSON.stringify(path.join(dir, 'parley.db'))}
media:
  rtp_address: 127.0.0.1
  rtp_ports: {min: ${p.rtpMin}, max: ${p.rtpMin + 98}}
  recordings_dir: ${JSON.stringify(path.join(dir, 'recordings'))}
  tts: {voice: en-us, cache_dir: ${JSON.stringify(path.join(dir, 'tts'))}}
queues:
  - name: sales
    strategy: longest-idle
    callbacks: {order: agent-first, max_attempts: 1}
agents:
  - {extension: "${agent.extension}", password: ${agent.password}, queues: [sales], available_on_register: true}
callbacks:
  caller_id: "${callerId}"
  country_code: "44"
`;
}

/**
 * Starts `parley serve` on free ports and waits for its banner. A port taken between our probe
 * and Parley's bind makes it exit naming the address: then new ports, at most 3 times.
 */
async function startParley(dir, customerPort) {
  let lastLog = '';
  for (let attempt = 0; attempt < 3; attempt++) {
    const p = {
      sipUdp: await freePort('udp4'),
      sipTcp: await freePort('tcp'),
      http: await freePort('tcp'),
      customer: customerPort,
      rtpMin: 30000 + (process.pid % 300) * 100,
    };
    const config = path.join(dir, 'parley.yaml');
    writeFileSync(config, parleyConfig(dir, p));
    const parley = start(dir, `parley-${attempt}`, [parleyBin, 'serve', config, '--log-level', 'debug']);
    const state = await waitUntil(
      () => (read(parley.log).includes('Parley is running') ? 'up' : exited(parley) ? 'exited' : null),
      'parley serve to print its banner',
      T,
    ).catch((e) => {
      throw new Error(`${e.message}\nparley log:\n${tail(parley.log)}`);
    });
    if (state === 'up') return { ...p, parley, log: parley.log };
    lastLog = read(parley.log);
    if (!lastLog.includes('did not start')) throw new Error(`parley serve exited at start:\n${tail(parley.log)}`);
  }
  throw new Error(`parley serve could not bind its ports 3 times:\n${lastLog.slice(-3000)}`);
}

/**
 * Starts a SIPp UAS running `scenario` for one call on a free UDP port and waits until it
 * listens; new ports (at most 3 times) if SIPp could not bind. Its <log> lines go to dir/<name>.log,
 * its SIP messages to dir/<name>.msg.
 */
async function startPhone(dir, name, scenario, user) {
  for (let attempt = 0; attempt < 3; attempt++) {
    const port = await freePort('udp4');
    const mediaPort = await freePort('udp4');
    const phone = start(dir, `${name}-${attempt}`, [
      sippBin, '-sf', path.join(here, scenario), '-m', '1', '-t', 'u1', '-i', '127.0.0.1',
      '-p', String(port), '-mp', String(mediaPort), '-s', user, '-nostdin',
      '-timeout', '90', '-timeout_error',
      '-trace_logs', '-log_file', path.join(dir, `${name}.log`),
      '-trace_msg', '-message_file', path.join(dir, `${name}.msg`),
      '-trace_err', '-error_file', path.join(dir, `${name}.err`),
    ]);
    const state = await waitUntil(
      async () => (exited(phone) ? 'exited' : (await udpPortTaken(port)) ? 'up' : null),
      `SIPp ${name} to listen on udp 127.0.0.1:${port}`,
      T,
    );
    if (state === 'up') return { ...phone, port, logFile: path.join(dir, `${name}.log`) };
  }
  throw new Error(`SIPp ${name} could not start 3 times:\n${tail(children.at(-1).log)}`);
}

/** Registers the agent's phone (Contact: the agent's UAS) with digest auth; waits for the 200. */
async function registerAgent(dir, parley, uasPort) {
  const reg = start(dir, 'agent-register', [
    sippBin, `127.0.0.1:${parley.sipUdp}`, '-sf', path.join(here, 'sipp_agent_register.xml'),
    '-m', '1', '-t', 'u1', '-i', '127.0.0.1', '-p', String(await freePort('udp4')),
    '-s', agent.extension, '-au', agent.extension, '-ap', agent.password,
    '-key', 'uas_port', String(uasPort), '-nostdin', '-timeout', '15', '-timeout_error',
    '-trace_err', '-error_file', path.join(dir, 'agent-register.err'),
  ]);
  const code = await exitOf(reg, 'the agent phone to register', T);
  if (code !== 0) {
    const errors = tail(path.join(dir, 'agent-register.err'));
    throw new Error(`the agent's REGISTER failed (sipp exit ${code}):\n${tail(reg.log)}\n${errors}`);
  }
  await waitUntil(
    () => read(parley.log).includes(`agent ${agent.extension}: logged-out -> available`),
    `agent ${agent.extension} to become available after registering`,
    T,
  );
}

/** GET `urlPath` from Parley as the supervisor; the parsed JSON. */
async function getAsSupervisor(parley, urlPath) {
  const res = await fetch(`http://127.0.0.1:${parley.http}${urlPath}`, {
    headers: {
      Authorization: `Basic ${Buffer.from(`${supervisor.name}:${supervisor.password}`).toString('base64')}`,
    },
  });
  assert.equal(res.status, 200, `GET ${urlPath}: HTTP ${res.status}`);
  return res.json();
}

// ---- the test ----

let dir;
let browser;
let failed = true; // until the test has passed: keeps the logs of a failed or timed-out run

before(() => {
  dir = mkdtempSync(path.join(os.tmpdir(), 'parley-widget-e2e-'));
});

after(async () => {
  await browser?.close().catch(() => {});
  killAll('SIGTERM');
  await waitUntil(() => children.every(exited), 'every child process to stop', 5_000).catch(() => killAll());
  if (failed || process.env.PARLEY_E2E_KEEP) {
    console.error(`${testName}: logs kept in ${dir}`);
  } else {
    rmSync(dir, { recursive: true, force: true });
  }
});

describe(testName, { timeout: 90_000 }, () => {
  const title = 'a "call me now" click rings the agent, then the customer at the typed number, and connects them';
  it(title, { timeout: 90_000 }, async (t) => {
    let parley;
    let agentPhone;
    let customerPhone;
    const logs = () =>
      [parley && `parley log (end):\n${tail(parley.log, 4000)}`,
        agentPhone && `agent phone log:\n${read(agentPhone.logFile)}`,
        customerPhone && `customer phone log:\n${read(customerPhone.logFile)}`]
        .filter(Boolean)
        .join('\n');
    /** Waits like waitUntil, and on a timeout adds what the peers logged to the error. */
    const expect = (cond, what, timeoutMs = T) =>
      waitUntil(cond, what, timeoutMs).catch((e) => {
        throw new Error(`${e.message}\n${logs()}`);
      });

    customerPhone = await startPhone(dir, 'customer', 'sipp_customer_uas.xml', 'customer');
    agentPhone = await startPhone(dir, 'agent', 'sipp_agent_uas.xml', agent.extension);
    parley = await startParley(dir, customerPhone.port);
    await registerAgent(dir, parley, agentPhone.port);

    browser = await launchChromium();
    const visitor = await newVisitor(browser, { timezoneId: 'Europe/London' });
    const { page } = visitor;
    await page.goto(`http://127.0.0.1:${parley.http}/widget/demo.html`, { timeout: T });
    await openPanel(page, T);
    await requestCallNow(page, typedNumber, T);
    const result = await resultOf(page, T);
    assert.equal(result.kind, 'success', `the widget says: ${result.text}`);
    t.diagnostic(`widget: ${result.text}`);

    // (1) The agent's phone rings first and answers.
    await expect(() => read(agentPhone.logFile).includes('agent invited'), "Parley to ring the agent's phone");
    await expect(() => read(agentPhone.logFile).includes('agent answered'), "the agent's phone to answer");
    assert.equal(read(customerPhone.logFile), '', 'the customer was called before the agent answered (agent-first)');

    // (2) After the whisper, Parley dials the customer through the trunk, at the typed number
    // in E.164, from the configured caller id; the customer answers.
    const trunk = `sip:127.0.0.1:${customerPhone.port}`;
    const invited = await expect(
      () => /customer invited (\S+) from (.*)/.exec(read(customerPhone.logFile)),
      `Parley to dial the customer through the outbound trunk (${trunk}) after the agent answered`,
      whisperBound,
    );
    const [, ruri, from] = invited;
    assert.match(ruri, /^sip:([^@;]+)@/, `customer INVITE Request-URI ${ruri}`);
    assert.equal(/^sip:([^@;]+)@/.exec(ruri)[1], e164, `the customer's phone was called at ${ruri}`);
    assert.match(from, new RegExp(`<sip:${callerId.replace("+", "\\+")}@`), `the customer's call is from the caller id (From:${from})`);
    await expect(() => read(customerPhone.logFile).includes('customer answered'), "the customer's phone to answer");

    // The callback is done and connected, as the supervisor sees it.
    const callback = await expect(async () => {
      const { callbacks } = await getAsSupervisor(parley, '/api/callbacks?queue=sales');
      return callbacks.length === 1 && callbacks[0].state === 'done' ? callbacks[0] : null;
    }, 'GET /api/callbacks to list one callback in state "done"');
    assert.equal(callback.outcome, 'connected', `callback ${JSON.stringify(callback)}`);
    assert.equal(callback.number, e164);
    assert.equal(callback.attempts, 1);
    const attempts = `attempt log ${JSON.stringify(callback.attempt_log)}`;
    assert.equal(callback.attempt_log[0]?.agent, agent.extension, attempts);
    assert.equal(callback.attempt_log[0]?.result, 'connected', attempts);

    // The customer hangs up after a second; Parley ends the agent's leg too.
    assert.equal(await exitOf(customerPhone, "the customer's phone to hang up and finish"), 0,
      `customer phone:\n${tail(customerPhone.log)}\n${read(path.join(dir, 'customer.err'))}`);
    assert.equal(await exitOf(agentPhone, "the agent's phone to get Parley's BYE and finish"), 0,
      `agent phone:\n${tail(agentPhone.log)}\n${read(path.join(dir, 'agent.err'))}`);
    assert.deepEqual(visitor.errors, [], 'no script errors on the page');
    failed = false;
  });
});
