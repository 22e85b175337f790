import { describe, expect, it } from 'vitest';
import {
  buildContext,
  campaignFor,
  canInvite,
  checkNumber,
  dueInvitation,
  errorMessage,
  formatSlot,
  formatWait,
  inTimeWindow,
  optionsFor,
  parseAvailability,
  parseClock,
  parseRules,
  successMessage,
  urlMatches,
  type Availability,
} from './logic';

// Local wall-clock time on a fixed day, in the test process's own time zone (the window logic
// uses getHours/getMinutes, i.e. the visitor's local time).
const at = (h: number, m = 0) => new Date(2026, 0, 15, h, m, 0);

const open: Availability = {
  queue: 'sales',
  open: true,
  estimated_wait_s: 120,
  waiting: 3,
  callback_now: true,
  callback_later: true,
  chat: false,
  slots: [{ start: 1, end: 2, free: 1 }],
};

describe('urlMatches (invitation URL glob)', () => {
  it('matches a star on both sides anywhere in the URL', () => {
    expect(urlMatches('*mortgage*', 'https://bank.example/loans/mortgage-calculator?x=1')).toBe(true);
  });
  it('needs the whole URL to match, not a part', () => {
    expect(urlMatches('mortgage', 'https://bank.example/mortgage')).toBe(false);
    expect(urlMatches('https://bank.example/*', 'https://bank.example/a/b')).toBe(true);
    expect(urlMatches('https://bank.example/*', 'https://evil.example/https://bank.example/')).toBe(false);
  });
  it('is case-insensitive', () => {
    expect(urlMatches('*MORTGAGE*', 'https://bank.example/Mortgage')).toBe(true);
  });
  it('treats regex characters as literals', () => {
    expect(urlMatches('*a.b?c*', 'https://x/a.b?c')).toBe(true);
    expect(urlMatches('*a.b*', 'https://x/aXb')).toBe(false);
  });
  it('backtracks over several stars', () => {
    expect(urlMatches('*/loans/*/calc*', 'https://b/loans/x/loans/y/calculator')).toBe(true);
    expect(urlMatches('*/loans/*/calc', 'https://b/loans/x/calcs')).toBe(false);
  });
  it('matches every URL when the pattern is absent or empty', () => {
    expect(urlMatches(undefined, 'https://a/')).toBe(true);
    expect(urlMatches('', 'https://a/')).toBe(true);
    expect(urlMatches('*', '')).toBe(true);
  });
});

describe('time window (visitor local time)', () => {
  it('parses HH:MM up to 24:00 and refuses the rest', () => {
    expect(parseClock('00:00')).toBe(0);
    expect(parseClock('20:30')).toBe(20 * 60 + 30);
    expect(parseClock('24:00')).toBe(24 * 60);
    expect(parseClock('24:01')).toBeNull();
    expect(parseClock('25:00')).toBeNull();
    expect(parseClock('8pm')).toBeNull();
    expect(parseClock('12:60')).toBeNull();
  });
  it('includes the start and excludes the end', () => {
    expect(inTimeWindow('20:00', '24:00', at(20, 0))).toBe(true);
    expect(inTimeWindow('20:00', '24:00', at(23, 59))).toBe(true);
    expect(inTimeWindow('20:00', '24:00', at(19, 59))).toBe(false);
    expect(inTimeWindow('09:00', '17:00', at(17, 0))).toBe(false);
  });
  it('wraps past midnight when the end is before the start', () => {
    expect(inTimeWindow('22:00', '06:00', at(23, 0))).toBe(true);
    expect(inTimeWindow('22:00', '06:00', at(5, 59))).toBe(true);
    expect(inTimeWindow('22:00', '06:00', at(12, 0))).toBe(false);
  });
  it('is the whole day when bounds are absent, and never when a bound is malformed', () => {
    expect(inTimeWindow(undefined, undefined, at(3, 0))).toBe(true);
    expect(inTimeWindow('bad', '24:00', at(21, 0))).toBe(false);
  });
});

describe('dueInvitation and canInvite', () => {
  const rules = [
    { url: '*pricing*', after_s: 0, message: 'pricing' },
    { url: '*mortgage*', after_s: 30, from: '20:00', to: '24:00', message: 'mortgage' },
  ];
  const page = 'https://bank.example/mortgage-calculator';
  it('is due only after after_s seconds on a matching page within the window', () => {
    expect(dueInvitation(rules, { href: page, secondsOnPage: 29.9, now: at(23) })).toBeNull();
    expect(dueInvitation(rules, { href: page, secondsOnPage: 30, now: at(23) })?.message).toBe('mortgage');
    expect(dueInvitation(rules, { href: page, secondsOnPage: 300, now: at(11) })).toBeNull();
  });
  it('skips rules whose URL does not match', () => {
    expect(dueInvitation(rules, { href: 'https://bank.example/pricing', secondsOnPage: 0, now: at(11) })?.message).toBe(
      'pricing',
    );
    expect(dueInvitation(rules, { href: 'https://bank.example/', secondsOnPage: 999, now: at(23) })).toBeNull();
  });
  it('invites only when the queue is open and can call back now or chat', () => {
    expect(canInvite(open)).toBe(true);
    expect(canInvite({ ...open, open: false })).toBe(false);
    expect(canInvite({ ...open, callback_now: false })).toBe(false);
    expect(canInvite({ ...open, callback_now: false, chat: true })).toBe(true);
    expect(canInvite(null)).toBe(false);
  });
  it('drops malformed rules from the config answer', () => {
    const parsed = parseRules({
      invitations: [{ url: '*', after_s: -1, message: 'ok' }, { url: '*' }, 'x', { message: '' }],
    });
    expect(parsed).toEqual([{ url: '*', message: 'ok' }]);
    expect(parseRules(null)).toEqual([]);
    expect(parseRules({ invitations: 'no' })).toEqual([]);
  });
});

describe('checkNumber (light client-side check)', () => {
  it('accepts E.164 with spaces, dashes and brackets and normalises it', () => {
    expect(checkNumber(' +44 (20) 7946-0000 ')).toEqual({ ok: true, number: '+442079460000' });
    expect(checkNumber('0044 20 7946 0000')).toEqual({ ok: true, number: '+442079460000' });
  });
  it('accepts a national or dial-plan number of digits', () => {
    expect(checkNumber('020 7946 0000')).toEqual({ ok: true, number: '02079460000' });
  });
  it('refuses empty, letters, too short and too long', () => {
    expect(checkNumber('').ok).toBe(false);
    expect(checkNumber('call me').ok).toBe(false);
    expect(checkNumber('+12').ok).toBe(false);
    expect(checkNumber('1234').ok).toBe(false);
    expect(checkNumber('+1234567890123456').ok).toBe(false);
    expect(checkNumber('+0123456789').ok).toBe(false);
  });
  it('says what to enter', () => {
    const r = checkNumber('abc');
    expect(r.ok === false && r.message).toMatch(/phone number/);
  });
});

describe('slot and wait formatting', () => {
  const slot = { start: Date.UTC(2030, 0, 15, 10, 0), end: Date.UTC(2030, 0, 15, 10, 15), free: 2 };
  it('shows a slot in the visitor time zone', () => {
    const s = formatSlot(slot, { locale: 'en-GB', timeZone: 'Asia/Kolkata' });
    expect(s).toMatch(/15 Jan/);
    expect(s).toMatch(/15:30/);
    expect(s).toMatch(/15:45/);
    const london = formatSlot(slot, { locale: 'en-GB', timeZone: 'Europe/London' });
    expect(london).toMatch(/10:00/);
    expect(london).toMatch(/10:15/);
  });
  it('says the wait as a person would', () => {
    expect(formatWait(null)).toBeNull();
    expect(formatWait(0)).toBe('No wait right now');
    expect(formatWait(45)).toBe('Estimated wait: under a minute');
    expect(formatWait(120)).toBe('Estimated wait: about 2 min');
    expect(formatWait(3600 + 20 * 60)).toBe('Estimated wait: about 1 h 20 min');
    expect(formatWait(7200)).toBe('Estimated wait: about 2 h');
  });
  it('puts the booked time in the success message', () => {
    const m = successMessage({ status: 'created', scheduled_for: slot.start }, '+441', {
      locale: 'en-GB',
      timeZone: 'Asia/Kolkata',
    });
    expect(m).toMatch(/\+441/);
    expect(m).toMatch(/15:30/);
    expect(successMessage({ status: 'updated', scheduled_for: null }, '+441')).toMatch(/updated.*shortly/);
  });
});

describe('availability answer', () => {
  it('offers chat only when the server says chat is on', () => {
    expect(optionsFor(open)).toEqual({ callNow: true, schedule: true, chat: false });
    expect(optionsFor({ ...open, chat: true }).chat).toBe(true);
  });
  it('hides call now when closed or callback_now is false, schedule when no slot', () => {
    expect(optionsFor({ ...open, open: false }).callNow).toBe(false);
    expect(optionsFor({ ...open, callback_now: false }).callNow).toBe(false);
    expect(optionsFor({ ...open, slots: [] }).schedule).toBe(false);
  });
  it('reads a malformed answer as closed, dropping full and broken slots, sorted by start', () => {
    expect(parseAvailability('nope')).toBeNull();
    const a = parseAvailability({
      open: 'yes',
      estimated_wait_s: -5,
      callback_now: 1,
      slots: [{ start: 5, end: 6, free: 1 }, { start: 1, end: 2, free: 0 }, { start: 'x' }, { start: 3, end: 4, free: 2 }],
    })!;
    expect(a.open).toBe(false);
    expect(a.callback_now).toBe(false);
    expect(a.estimated_wait_s).toBeNull();
    expect(a.slots.map((s) => s.start)).toEqual([3, 5]);
  });
});

describe('request context and errors', () => {
  it('takes the campaign from data-campaign, else utm_campaign', () => {
    expect(campaignFor('spring', 'https://a/?utm_campaign=x')).toBe('spring');
    expect(campaignFor(undefined, 'https://a/p?utm_campaign=autumn&y=1')).toBe('autumn');
    expect(campaignFor(undefined, 'https://a/p')).toBeUndefined();
    expect(campaignFor(undefined, 'not a url')).toBeUndefined();
  });
  it('leaves out empty keys and cuts values to the server limit', () => {
    expect(buildContext({ pageUrl: 'https://a/', campaign: undefined, customerId: '' })).toEqual({
      page_url: 'https://a/',
    });
    const long = buildContext({ pageUrl: 'https://a/' + 'x'.repeat(600), campaign: 'c', customerId: 'u1' });
    expect(long.page_url.length).toBe(512);
    expect(long).toMatchObject({ campaign: 'c', customer_id: 'u1' });
  });
  it('drops control characters and never splits a character when cutting', () => {
    expect(buildContext({ pageUrl: 'https://a/', campaign: 'sp\nring\u0000' }).campaign).toBe('spring');
    const emoji = buildContext({ pageUrl: 'https://a/', campaign: '\u{1F600}'.repeat(600) }).campaign!;
    expect(Array.from(emoji).length).toBe(512);
    expect(emoji.length).toBe(1024);
  });
  it('shows the server error, and a fixed line for 429 and network failure', () => {
    expect(errorMessage(400, { error: 'number: not a valid phone number' })).toBe('number: not a valid phone number');
    expect(errorMessage(429, { error: 'rate limited' })).toBe('Too many requests, try later.');
    expect(errorMessage(0, null)).toMatch(/can't be reached/);
    expect(errorMessage(409, null)).toMatch(/closed/);
    expect(errorMessage(500, 'x')).toMatch(/HTTP 500/);
  });
});
