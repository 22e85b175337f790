// The customer widget in Debian's Chromium (playwright-core) against a fake of Parley's public
// routes (fake_parley.mjs). The customer's page is served from a second loopback origin, so every
// API call is cross-origin and goes through CORS as it will on a real site.
// Run: node tests/ui/widget_test.mjs (after `make ui`). CTest: parley_ui_widget.
import { after, before, beforeEach, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import {
  hostPageHtml,
  hostSelector,
  launchChromium,
  listen,
  newVisitor,
  openPanel,
  part,
  requestCallNow,
  requestScheduled,
  requireUiPrerequisites,
  resultOf,
  waitForText,
  waitUntil,
} from './lib.mjs';
import { startFakeParley } from './fake_parley.mjs';

requireUiPrerequisites('parley_ui_widget');

const T = 20_000; // bound on every wait for the page (generous: CI runs C++ tests beside it)

let browser;
let api; // the fake Parley (widget.js and the API)
let site; // the customer's site, another origin
const pages = new Map(); // path -> html, set by each test

before(async () => {
  site = await listen((req, res) => {
    const html = pages.get(new URL(req.url, 'http://x').pathname);
    res.writeHead(html ? 200 : 404, { 'Content-Type': 'text/html; charset=utf-8' });
    res.end(html ?? 'not found');
  });
  api = await startFakeParley({ allowedOrigins: [site.url] });
  browser = await launchChromium();
});

after(async () => {
  await browser?.close();
  await api?.close();
  await site?.close();
});

beforeEach(() => {
  api.reset();
  pages.clear();
});

/** Puts a customer page embedding the widget at `path` and returns its full URL. */
function customerPage(pathAndQuery, { attrs = { queue: 'sales' }, headExtra = '', bodyExtra = '' } = {}) {
  pages.set(new URL(pathAndQuery, 'http://x').pathname, hostPageHtml({ scriptOrigin: api.url, attrs, headExtra, bodyExtra }));
  return `${site.url}${pathAndQuery}`;
}

/** Runs `fn` with a fresh visitor (context + page), closes it, and fails on any page error. */
async function asVisitor(options, fn) {
  const v = await newVisitor(browser, options);
  try {
    await fn(v.page);
    assert.deepEqual(v.errors, [], 'no script errors on the page');
  } finally {
    await v.context.close();
  }
}

describe('parley_ui_widget', { timeout: 120_000 }, () => {
  it('renders in its own shadow root, unaffected by the host page CSS and not affecting it', async () => {
    const url = customerPage('/home', {
      headExtra: `<style>
        body { font-size: 40px; color: rgb(255, 0, 0); }
        button { background: rgb(255, 0, 0) !important; font-size: 40px !important; }
        parley-widget, div { display: none !important; }
      </style>`,
      bodyExtra: '<button id="site-button">site</button>',
    });
    await asVisitor({}, async (page) => {
      await page.goto(url);
      await part(page, 'launcher').waitFor({ state: 'visible', timeout: T });
      const dom = await page.evaluate((sel) => {
        const host = document.querySelector(sel);
        const launcher = host?.shadowRoot?.getElementById('launcher');
        const cs = launcher ? getComputedStyle(launcher) : null;
        return {
          inShadow: Boolean(launcher),
          inLightDom: document.getElementById('launcher') !== null,
          launcherBg: cs?.backgroundColor,
          launcherFont: cs?.fontSize,
          siteButtonBg: getComputedStyle(document.getElementById('site-button')).backgroundColor,
          hostDisplay: getComputedStyle(host).display,
        };
      }, hostSelector);
      assert.equal(dom.inShadow, true, 'launcher is inside the shadow root');
      assert.equal(dom.inLightDom, false, 'nothing of the widget in the page DOM');
      assert.notEqual(dom.launcherBg, 'rgb(255, 0, 0)', 'host button CSS does not reach the widget');
      assert.equal(dom.launcherFont, '15px', 'host font size is not inherited');
      assert.equal(dom.hostDisplay, 'block', 'host page cannot hide the widget by element selectors');
      assert.equal(dom.siteButtonBg, 'rgb(255, 0, 0)', 'widget CSS does not reach the host page');
      assert.equal(await part(page, 'launcher').textContent(), 'Talk to us');
      assert.equal(await part(page, 'panel').isHidden(), true, 'panel starts closed');
    });
  });

  it('shows the estimated wait from the API and offers call now and schedule, never chat', async () => {
    const url = customerPage('/home');
    await asVisitor({}, async (page) => {
      await page.goto(url);
      await openPanel(page);
      await waitForText(part(page, 'availability'), 'Estimated wait: about 2 min', 'the wait');
      assert.equal(await part(page, 'call-now').isVisible(), true);
      assert.equal(await part(page, 'schedule').isVisible(), true);
      assert.equal(await part(page, 'chat-now').isHidden(), true, 'chat is hidden while chat is false');
      assert.equal(await part(page, 'launcher').getAttribute('aria-expanded'), 'true');
      const gets = api.requests.filter((r) => r.path === '/api/queues/sales/availability');
      assert.ok(gets.length >= 1 && gets.every((r) => r.origin === site.url), 'cross-origin requests from the site');
    });
  });

  it('hides call me now when availability says callback_now is false', async () => {
    api.state.queues.sales.callback_now = false;
    const url = customerPage('/home');
    await asVisitor({}, async (page) => {
      await page.goto(url);
      await openPanel(page);
      await waitForText(part(page, 'availability'), 'Estimated wait: about 2 min', 'the wait');
      assert.equal(await part(page, 'call-now').isHidden(), true);
      assert.equal(await part(page, 'schedule').isVisible(), true);
    });
  });

  it('says closed and offers only scheduling when the queue is closed', async () => {
    Object.assign(api.state.queues.sales, { open: false, callback_now: false, estimated_wait_s: null });
    const url = customerPage('/home');
    await asVisitor({}, async (page) => {
      await page.goto(url);
      await openPanel(page);
      await waitForText(part(page, 'availability'), "We're closed right now; schedule a call.", 'closed state');
      assert.equal(await part(page, 'call-now').isHidden(), true);
      assert.equal(await part(page, 'schedule').isVisible(), true);
      assert.equal(await page.locator(hostSelector).getAttribute('data-state'), 'closed');
    });
  });

  it('call me now POSTs queue, number and page context, and shows success', async () => {
    const url = customerPage('/loans/mortgage-calculator?utm_campaign=spring', {
      attrs: { queue: 'sales', 'customer-id': 'c-42' },
    });
    await asVisitor({}, async (page) => {
      await page.goto(url);
      await openPanel(page);
      await requestCallNow(page, '+44 20 7946 0000');
      await waitUntil(() => api.posts().length === 1, 'POST /api/callbacks', T);
      const post = api.posts()[0];
      assert.equal(post.origin, site.url);
      assert.equal(post.contentType, 'application/json');
      assert.deepEqual(post.body, {
        queue: 'sales',
        number: '+442079460000',
        context: { page_url: url, campaign: 'spring', customer_id: 'c-42' },
      });
      assert.ok(
        api.requests.some((r) => r.method === 'OPTIONS' && r.path === '/api/callbacks' && r.origin === site.url),
        'the browser made a CORS preflight for the JSON POST',
      );
      assert.deepEqual(await resultOf(page, T), {
        kind: 'success',
        text: 'Thank you: we will call +442079460000 shortly.',
      });
      assert.equal(await part(page, 'done').isVisible(), true);
    });
  });

  it('refuses an obviously bad number in the page without calling the API', async () => {
    const url = customerPage('/home');
    await asVisitor({}, async (page) => {
      await page.goto(url);
      await openPanel(page);
      await part(page, 'call-now').click();
      await part(page, 'call-number').fill('call me');
      await part(page, 'call-submit').click();
      await waitForText(part(page, 'result'), /phone number/, 'the number error');
      assert.equal(await part(page, 'call-number').getAttribute('aria-invalid'), 'true');
      assert.equal(api.posts().length, 0);
    });
  });

  it('shows "too many requests" on 429 and the server error text on 400', async () => {
    const url = customerPage('/home');
    await asVisitor({}, async (page) => {
      await page.goto(url);
      await openPanel(page);
      await part(page, 'call-now').click();
      await part(page, 'call-number').fill('+441234567890');
      api.state.nextPost = { status: 429, body: { error: 'rate limited' }, headers: { 'Retry-After': '60' } };
      await part(page, 'call-submit').click();
      await waitForText(part(page, 'result'), 'Too many requests, try later.', '429 message');
      assert.equal(await part(page, 'result').getAttribute('data-kind'), 'error');
      assert.equal(await part(page, 'call-form').isVisible(), true, 'the form stays for another try');
      api.state.nextPost = { status: 400, body: { error: 'number: not allowed by the dial plan' } };
      await part(page, 'call-submit').click();
      await waitForText(part(page, 'result'), 'number: not allowed by the dial plan', '400 message');
      assert.equal(api.posts().length, 2);
    });
  });

  it('schedules a call: slots in the visitor local time, POST with at, booked time shown', async () => {
    const url = customerPage('/home?utm_campaign=autumn');
    await asVisitor({ timezoneId: 'Asia/Kolkata', locale: 'en-GB' }, async (page) => {
      await page.goto(url);
      await openPanel(page);
      await part(page, 'schedule').click();
      const labels = page.locator(`${hostSelector} #slots label`);
      await labels.first().waitFor({ state: 'visible', timeout: T });
      const texts = await labels.allTextContents();
      assert.equal(texts.length, 2, 'the full slot (free 0) is not offered');
      assert.match(texts[0], /15 Jan.*15:30.*15:45/, 'slot 10:00Z shown at 15:30 in Asia/Kolkata');
      assert.match(texts[1], /15:45.*16:00/);
      await part(page, 'schedule-back').click(); // back to the options, then the helper's way in
      const chosen = await requestScheduled(page, 1, '+441234567890');
      assert.equal(chosen, Date.UTC(2030, 0, 15, 10, 15));
      await waitUntil(() => api.posts().length === 1, 'POST /api/callbacks', T);
      const body = api.posts()[0].body;
      assert.equal(body.at, chosen);
      assert.equal(body.number, '+441234567890');
      assert.equal(body.context.campaign, 'autumn');
      await waitForText(part(page, 'result'), /we will call \+441234567890 on .*15 Jan.*15:45/, 'booked time');
    });
  });

  it('shows an invitation for a matching rule once the visitor has been on the page after_s', async () => {
    api.state.invitations = [
      { url: '*no-such-page*', after_s: 0, message: 'wrong rule' },
      { url: '*mortgage*', after_s: 1, from: '00:00', to: '24:00', message: 'Need help with your mortgage?' },
    ];
    const url = customerPage('/loans/mortgage-calculator');
    await asVisitor({}, async (page) => {
      await page.goto(url);
      await part(page, 'invitation').waitFor({ state: 'visible', timeout: T });
      const onPageMs = await page.evaluate(() => performance.now());
      assert.ok(onPageMs >= 1000, `shown after ${onPageMs} ms on the page, not before after_s`);
      assert.equal(await part(page, 'invitation-message').textContent(), 'Need help with your mortgage?');
      await part(page, 'invitation-accept').click();
      await part(page, 'panel').waitFor({ state: 'visible', timeout: T });
      assert.equal(await part(page, 'invitation').isHidden(), true);
    });
  });

  it('invites only after after_s, within the rule time window, and when the queue can take the contact', async () => {
    // after_s 45 is past the 30 s availability refresh, which re-checks the rules: the bubble must
    // still wait for after_s.
    api.state.invitations = [{ url: '*mortgage*', after_s: 45, from: '20:00', to: '24:00', message: 'Late night help?' }];
    const url = customerPage('/loans/mortgage-calculator');
    // The page clock is faked (Playwright clock), so "45 s on the page" and "23:00" are exact.
    const visit = async (localIso, expectShown) =>
      asVisitor({ timezoneId: 'Asia/Kolkata' }, async (page) => {
        await page.clock.install({ time: new Date(localIso) });
        await page.goto(url);
        const host = page.locator(hostSelector);
        await waitUntil(async () => (await host.getAttribute('data-invitation-rules')) === '1', 'rules loaded', T);
        await waitUntil(async () => (await host.getAttribute('data-state')) !== null, 'availability loaded', T);
        await waitForText(part(page, 'availability'), 'Estimated wait: about 2 min', 'first availability');
        api.state.queues.sales.estimated_wait_s = 600; // tells when the refresh has been applied
        await page.clock.runFor(31_000);
        await waitForText(part(page, 'availability'), 'Estimated wait: about 10 min', 'the 30 s refresh applied');
        api.state.queues.sales.estimated_wait_s = 120;
        assert.equal(await part(page, 'invitation').isHidden(), true, 'not before after_s');
        await page.clock.runFor(15_000);
        if (expectShown) {
          await part(page, 'invitation').waitFor({ state: 'visible', timeout: T });
          assert.equal(await part(page, 'invitation-message').textContent(), 'Late night help?');
        } else {
          assert.equal(await part(page, 'invitation').isHidden(), true, `no invitation at ${localIso}`);
        }
      });
    await visit('2030-01-15T23:00:00+05:30', true);
    await visit('2030-01-15T11:00:00+05:30', false);
    api.state.queues.sales.callback_now = false; // open, but cannot take a callback now, no chat
    await visit('2030-01-15T23:00:00+05:30', false);
  });

  it('refreshes the estimated wait every 30 seconds', async () => {
    const url = customerPage('/home');
    await asVisitor({}, async (page) => {
      await page.clock.install({ time: new Date('2030-01-15T12:00:00Z') });
      await page.goto(url);
      await openPanel(page);
      await waitForText(part(page, 'availability'), 'Estimated wait: about 2 min', 'first wait');
      api.state.queues.sales.estimated_wait_s = 600;
      await page.clock.runFor(29_000);
      assert.equal((await part(page, 'availability').textContent()).trim(), 'Estimated wait: about 2 min');
      await page.clock.runFor(1_500);
      await waitForText(part(page, 'availability'), 'Estimated wait: about 10 min', 'refreshed wait');
    });
  });

  it('fits a phone-width viewport', async () => {
    const url = customerPage('/home');
    await asVisitor({ viewport: { width: 360, height: 640 } }, async (page) => {
      await page.goto(url);
      await openPanel(page);
      await part(page, 'call-now').click();
      const box = await part(page, 'panel').boundingBox();
      assert.ok(box.x >= 0 && box.x + box.width <= 360, `panel within the screen: ${JSON.stringify(box)}`);
      const input = await part(page, 'call-number').boundingBox();
      assert.ok(input.height >= 40, 'touch-sized input');
    });
  });

  it('says the service is unavailable for an unknown queue', async () => {
    const url = customerPage('/home', { attrs: { queue: 'nope' } });
    await asVisitor({}, async (page) => {
      await page.goto(url);
      await openPanel(page);
      await waitForText(part(page, 'availability'), 'This service is not available.', 'unknown queue');
      assert.equal(await part(page, 'call-now').isHidden(), true);
      assert.equal(await part(page, 'schedule').isHidden(), true);
    });
  });

  it('the demo page served next to widget.js embeds the widget', async () => {
    await asVisitor({}, async (page) => {
      await page.goto(`${api.url}/widget/demo.html`);
      await openPanel(page);
      await waitForText(part(page, 'availability'), 'Estimated wait: about 2 min', 'the wait on the demo page');
    });
  });
});
