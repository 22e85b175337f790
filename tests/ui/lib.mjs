// Shared helpers for the widget's browser tests (tests/ui/*_test.mjs): finding the built widget
// and playwright-core, launching Debian's Chromium headless, small loopback HTTP servers, and
// bounded waits. An end-to-end test against a real `parley serve` imports the same helpers.
import { createRequire } from 'node:module';
import { existsSync, readFileSync } from 'node:fs';
import http from 'node:http';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

export const repoRoot = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../..');
export const uiDir = path.join(repoRoot, 'ui');
export const distDir = path.join(uiDir, 'dist');
export const chromiumPath = process.env.PARLEY_CHROMIUM || '/usr/bin/chromium';

// The flags this machine needs (see the env doc): no sandbox as root, no GPU, and no background
// network traffic, which the closed network refuses.
export const chromiumArgs = [
  '--no-sandbox',
  '--disable-gpu',
  '--disable-quic',
  '--no-first-run',
  '--disable-background-networking',
  '--disable-component-update',
  '--disable-sync',
  '--disable-dev-shm-usage',
];

/**
 * Checks that what the browser tests need is there (the built widget, ui/node_modules with
 * playwright-core, Chromium) and exits 1 with what to run when it is not: a missing piece is a
 * failure, not a silent skip.
 */
export function requireUiPrerequisites(testName) {
  const missing = [];
  if (!existsSync(path.join(distDir, 'widget.js')) || !existsSync(path.join(distDir, 'widget', 'demo.html'))) {
    missing.push(`the built widget (${path.relative(repoRoot, distDir)}/widget.js, widget/demo.html): run \`make ui\``);
  }
  if (!existsSync(path.join(uiDir, 'node_modules', 'playwright-core', 'package.json'))) {
    missing.push('ui/node_modules/playwright-core: run `make ui` (npm ci in ui/)');
  }
  if (!existsSync(chromiumPath)) {
    missing.push(`Chromium at ${chromiumPath}: run \`make deps\` (Debian package chromium) or set PARLEY_CHROMIUM`);
  }
  if (missing.length > 0) {
    console.error(`${testName}: FAILED before starting: missing\n  - ${missing.join('\n  - ')}`);
    process.exit(1);
  }
}

/** playwright-core, resolved from ui/node_modules (the tests live outside the npm project). */
export function playwright() {
  const require = createRequire(path.join(uiDir, 'package.json'));
  return require('playwright-core');
}

/** Launches Debian's Chromium headless with a fresh profile; close() it when done. */
export async function launchChromium() {
  const { chromium } = playwright();
  return chromium.launch({
    executablePath: chromiumPath,
    headless: true,
    args: chromiumArgs,
    timeout: 30_000,
  });
}

/**
 * A browser context as a visitor's browser: fixed locale and time zone (so local-time text is
 * known to the test), optional phone-sized viewport.
 */
export async function newVisitor(browser, { timezoneId = 'Asia/Kolkata', locale = 'en-GB', viewport } = {}) {
  const context = await browser.newContext({ timezoneId, locale, ...(viewport ? { viewport } : {}) });
  const page = await context.newPage();
  const errors = [];
  page.on('pageerror', (e) => errors.push(String(e)));
  return { context, page, errors };
}

// ---- the widget's DOM (ids are documented in ui/src/view.ts) ----

/** The light-DOM element the widget mounts on; its shadow root holds everything else. */
export const hostSelector = 'parley-widget';

/** A locator for an element inside the widget's (open) shadow root, by id. */
export function part(page, id) {
  return page.locator(`${hostSelector} #${id}`);
}

/** Opens the panel with the launcher and waits until availability has been shown. */
export async function openPanel(page, timeout = 10_000) {
  await part(page, 'launcher').click({ timeout });
  await part(page, 'panel').waitFor({ state: 'visible', timeout });
  await waitUntil(
    async () => !/Checking/.test((await part(page, 'availability').textContent()) ?? ''),
    'availability to be shown',
    timeout,
  );
}

/** "Call me now" with `number`: opens the form, fills it in and sends it (panel already open). */
export async function requestCallNow(page, number, timeout = 10_000) {
  await part(page, 'call-now').click({ timeout });
  await part(page, 'call-number').fill(number, { timeout });
  await part(page, 'call-submit').click({ timeout });
}

/**
 * "Schedule a call": opens the form, picks the slot at `index` (0 = earliest offered), fills in
 * `number` and sends it (panel already open). Returns the chosen slot's start (epoch ms).
 */
export async function requestScheduled(page, index, number, timeout = 10_000) {
  await part(page, 'schedule').click({ timeout });
  const radio = page.locator(`${hostSelector} #slots input[name=slot]`).nth(index);
  await radio.check({ timeout });
  await part(page, 'schedule-number').fill(number, { timeout });
  await part(page, 'schedule-submit').click({ timeout });
  return Number(await radio.getAttribute('value'));
}

/** The result line once it says something other than "Sending…": { kind, text }. */
export async function resultOf(page, timeout = 10_000) {
  const result = part(page, 'result');
  return waitUntil(
    async () => {
      const kind = await result.getAttribute('data-kind');
      const text = ((await result.textContent()) ?? '').trim();
      return (kind === 'success' || kind === 'error') && text ? { kind, text } : null;
    },
    'the widget to show a result',
    timeout,
  );
}

// ---- waiting ----

/**
 * Polls `cond` (sync or async) until it returns a truthy value, returned; throws naming `what`
 * after `timeoutMs`. A bounded wait for an outcome, not a sleep.
 */
export async function waitUntil(cond, what, timeoutMs = 10_000, intervalMs = 25) {
  const deadline = Date.now() + timeoutMs;
  let last;
  for (;;) {
    try {
      const v = await cond();
      if (v) return v;
    } catch (e) {
      last = e;
    }
    if (Date.now() > deadline) {
      throw new Error(`timed out after ${timeoutMs} ms waiting for ${what}${last ? `: ${last.message}` : ''}`);
    }
    await new Promise((r) => setTimeout(r, intervalMs));
  }
}

/** Waits until the locator's text equals (string) or matches (RegExp) `expected`; returns it. */
export async function waitForText(locator, expected, what, timeoutMs = 10_000) {
  let text = '';
  try {
    await waitUntil(
      async () => {
        text = (await locator.textContent({ timeout: timeoutMs })) ?? '';
        return typeof expected === 'string' ? text.trim() === expected : expected.test(text);
      },
      what,
      timeoutMs,
    );
  } catch (e) {
    throw new Error(`${e.message} (last text: ${JSON.stringify(text)})`);
  }
  return text;
}

// ---- loopback HTTP ----

/** Starts an http.Server on 127.0.0.1 on a free port; resolves { url, port, server, close }. */
export async function listen(handler) {
  const server = http.createServer((req, res) => {
    Promise.resolve(handler(req, res)).catch((e) => {
      console.error('test server handler failed:', e);
      if (!res.headersSent) res.writeHead(500);
      res.end();
    });
  });
  await new Promise((resolve, reject) => {
    server.once('error', reject);
    server.listen(0, '127.0.0.1', resolve);
  });
  const { port } = server.address();
  return {
    port,
    url: `http://127.0.0.1:${port}`,
    server,
    close: () =>
      new Promise((resolve) => {
        server.closeAllConnections?.();
        server.close(() => resolve());
      }),
  };
}

export async function readBody(req, limit = 64 * 1024) {
  const chunks = [];
  let size = 0;
  for await (const c of req) {
    size += c.length;
    if (size > limit) throw new Error('request body too large');
    chunks.push(c);
  }
  return Buffer.concat(chunks).toString('utf8');
}

const types = { '.js': 'text/javascript; charset=utf-8', '.html': 'text/html; charset=utf-8' };

/** Serves GET /widget.js and GET /widget/demo.html from ui/dist, as Parley does. Returns true if handled. */
export function serveWidgetFile(req, res) {
  const url = new URL(req.url, 'http://x');
  if (req.method !== 'GET' || !['/widget.js', '/widget/demo.html'].includes(url.pathname)) return false;
  const file = path.join(distDir, url.pathname);
  res.writeHead(200, { 'Content-Type': types[path.extname(file)], 'Cache-Control': 'no-cache' });
  res.end(readFileSync(file));
  return true;
}

/** A customer's page that embeds the widget from `scriptOrigin`, with the given data-* attributes. */
export function hostPageHtml({ scriptOrigin, attrs = {}, headExtra = '', bodyExtra = '' }) {
  const esc = (s) => String(s).replace(/&/g, '&amp;').replace(/"/g, '&quot;').replace(/</g, '&lt;');
  const data = Object.entries(attrs)
    .map(([k, v]) => ` data-${k}="${esc(v)}"`)
    .join('');
  return `<!doctype html><html lang="en"><head><meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1"><title>host page</title>${headExtra}</head>
<body><h1>A customer's page</h1>${bodyExtra}
<script src="${scriptOrigin}/widget.js"${data} async></script></body></html>`;
}
