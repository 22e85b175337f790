// Pure logic of the Parley widget: no DOM, no network, no clock of its own (callers pass the
// time in), so every rule here is unit-tested in Node (logic.test.ts).

/** GET /api/queues/{q}/availability, as the widget uses it (see ctx: HTTP API). */
export interface Slot {
  start: number; // epoch ms
  end: number; // epoch ms
  free: number;
}

export interface Availability {
  queue: string;
  open: boolean;
  estimated_wait_s: number | null;
  waiting: number;
  callback_now: boolean;
  callback_later: boolean;
  chat: boolean;
  slots: Slot[];
}

/** One proactive invitation rule from GET /api/widget/config. */
export interface InvitationRule {
  url?: string; // glob over location.href, `*` = any run of characters
  after_s?: number; // seconds on the page before the bubble may show
  from?: string; // "HH:MM" local time, inclusive
  to?: string; // "HH:MM" local time, exclusive; "24:00" = end of day
  message: string;
}

const isObject = (v: unknown): v is Record<string, unknown> =>
  typeof v === 'object' && v !== null && !Array.isArray(v);

/**
 * Reads an availability answer defensively: anything missing or of the wrong type becomes the
 * closed / unavailable value, so a malformed answer can only hide options, never show them.
 * Returns null when the body is not an object at all.
 */
export function parseAvailability(body: unknown): Availability | null {
  if (!isObject(body)) return null;
  const wait = body.estimated_wait_s;
  const slots: Slot[] = [];
  if (Array.isArray(body.slots)) {
    for (const s of body.slots) {
      if (!isObject(s)) continue;
      const { start, end, free } = s;
      if (typeof start !== 'number' || !Number.isFinite(start)) continue;
      if (typeof end !== 'number' || !Number.isFinite(end) || end < start) continue;
      const f = typeof free === 'number' ? free : 0;
      if (f <= 0) continue; // a full slot cannot be booked: do not offer it
      slots.push({ start, end, free: f });
    }
  }
  slots.sort((a, b) => a.start - b.start);
  return {
    queue: typeof body.queue === 'string' ? body.queue : '',
    open: body.open === true,
    estimated_wait_s: typeof wait === 'number' && Number.isFinite(wait) && wait >= 0 ? wait : null,
    waiting: typeof body.waiting === 'number' ? body.waiting : 0,
    callback_now: body.callback_now === true,
    callback_later: body.callback_later === true,
    chat: body.chat === true,
    slots,
  };
}

/** Reads the invitation rules of a widget config answer; malformed rules are dropped. */
export function parseRules(body: unknown): InvitationRule[] {
  if (!isObject(body) || !Array.isArray(body.invitations)) return [];
  const rules: InvitationRule[] = [];
  for (const r of body.invitations) {
    if (!isObject(r) || typeof r.message !== 'string' || r.message === '') continue;
    const rule: InvitationRule = { message: r.message };
    if (typeof r.url === 'string') rule.url = r.url;
    if (typeof r.after_s === 'number' && Number.isFinite(r.after_s) && r.after_s >= 0) {
      rule.after_s = r.after_s;
    }
    if (typeof r.from === 'string') rule.from = r.from;
    if (typeof r.to === 'string') rule.to = r.to;
    rules.push(rule);
  }
  return rules;
}

/** Which options the panel offers. Chat only when the server says so (hidden today). */
export interface Options {
  callNow: boolean;
  schedule: boolean;
  chat: boolean;
}

export function optionsFor(a: Availability): Options {
  return {
    callNow: a.open && a.callback_now,
    schedule: a.callback_later && a.slots.length > 0,
    chat: a.open && a.chat,
  };
}

/**
 * Whole-string glob match, case-insensitive: `*` matches any run of characters (including none),
 * every other character is literal. An absent or empty pattern matches every URL.
 */
export function urlMatches(pattern: string | undefined, url: string): boolean {
  if (pattern === undefined || pattern === '') return true;
  const p = pattern.toLowerCase();
  const s = url.toLowerCase();
  // Iterative wildcard match with backtracking to the last star: linear-ish, no regex built
  // from untrusted config.
  let pi = 0;
  let si = 0;
  let star = -1;
  let mark = 0;
  while (si < s.length) {
    if (pi < p.length && p[pi] !== '*' && p[pi] === s[si]) {
      pi++;
      si++;
    } else if (pi < p.length && p[pi] === '*') {
      star = pi++;
      mark = si;
    } else if (star >= 0) {
      pi = star + 1;
      si = ++mark;
    } else {
      return false;
    }
  }
  while (pi < p.length && p[pi] === '*') pi++;
  return pi === p.length;
}

/** "HH:MM" (00:00 .. 24:00) to minutes after midnight, or null when malformed. */
export function parseClock(hhmm: string): number | null {
  const m = /^(\d{1,2}):(\d{2})$/.exec(hhmm.trim());
  if (!m) return null;
  const h = Number(m[1]);
  const min = Number(m[2]);
  if (h > 24 || min > 59 || (h === 24 && min !== 0)) return null;
  return h * 60 + min;
}

/**
 * Whether the local time of `now` is within [from, to). Absent bounds default to 00:00 and 24:00.
 * A window whose end is before its start wraps past midnight ("22:00".."06:00"). Equal bounds
 * make an empty window. A malformed bound makes the rule never match (returns false).
 */
export function inTimeWindow(from: string | undefined, to: string | undefined, now: Date): boolean {
  const f = from === undefined ? 0 : parseClock(from);
  const t = to === undefined ? 24 * 60 : parseClock(to);
  if (f === null || t === null) return false;
  const minute = now.getHours() * 60 + now.getMinutes();
  if (f <= t) return minute >= f && minute < t;
  return minute >= f || minute < t;
}

/** The queue can take a contact now: an invitation may be shown. */
export function canInvite(a: Availability | null): boolean {
  return a !== null && a.open && (a.callback_now || a.chat);
}

/**
 * The first rule that is due: URL matches, the visitor has been on the page at least after_s
 * seconds, and the local time is within the rule's window. Availability is checked separately
 * (canInvite), since it changes while the page is open.
 */
export function dueInvitation(
  rules: InvitationRule[],
  page: { href: string; secondsOnPage: number; now: Date },
): InvitationRule | null {
  for (const r of rules) {
    if (!urlMatches(r.url, page.href)) continue;
    if (page.secondsOnPage < (r.after_s ?? 0)) continue;
    if (!inTimeWindow(r.from, r.to, page.now)) continue;
    return r;
  }
  return null;
}

export type NumberCheck = { ok: true; number: string } | { ok: false; message: string };

/**
 * A light client-side check of a phone number; the server does the real validation (E.164 or
 * its dial plan). Spaces, dashes, dots and brackets are dropped, a leading 00 becomes +. Accepts
 * + followed by 7..15 digits (E.164) or 5..15 digits for a national / dial-plan number.
 */
export function checkNumber(raw: string): NumberCheck {
  let n = raw.trim().replace(/[\s\-.()\/]/g, '');
  if (n === '') return { ok: false, message: 'Enter your phone number.' };
  if (n.startsWith('00')) n = '+' + n.slice(2);
  if (n.startsWith('+')) {
    if (!/^\+[1-9]\d{6,14}$/.test(n)) {
      return { ok: false, message: 'Enter the number with its country code, e.g. +44 20 7946 0000.' };
    }
    return { ok: true, number: n };
  }
  if (!/^\d{5,15}$/.test(n)) {
    return { ok: false, message: 'Enter a phone number using digits only, e.g. +44 20 7946 0000.' };
  }
  return { ok: true, number: n };
}

/** Options for formatting in a given locale / time zone; both default to the visitor's. */
export interface TimeFormat {
  locale?: string;
  timeZone?: string;
}

function dateTimeFormat(tf: TimeFormat): Intl.DateTimeFormat {
  return new Intl.DateTimeFormat(tf.locale, {
    weekday: 'short',
    day: 'numeric',
    month: 'short',
    hour: '2-digit',
    minute: '2-digit',
    timeZone: tf.timeZone,
  });
}

/** A moment in the visitor's local time, e.g. "Tue 15 Jan, 15:30". */
export function formatTime(ms: number, tf: TimeFormat = {}): string {
  return dateTimeFormat(tf).format(new Date(ms));
}

/** A slot in the visitor's local time, e.g. "Tue 15 Jan, 15:30 – 15:45". */
export function formatSlot(slot: Slot, tf: TimeFormat = {}): string {
  const fmt = dateTimeFormat(tf);
  const start = new Date(slot.start);
  const end = new Date(slot.end);
  if (typeof fmt.formatRange === 'function') return fmt.formatRange(start, end);
  return `${fmt.format(start)} – ${fmt.format(end)}`;
}

/** The estimated wait as a person would say it; null when the server does not know. */
export function formatWait(seconds: number | null): string | null {
  if (seconds === null) return null;
  if (seconds < 30) return 'No wait right now';
  if (seconds < 60) return 'Estimated wait: under a minute';
  const minutes = Math.round(seconds / 60);
  if (minutes < 60) return `Estimated wait: about ${minutes} min`;
  const h = Math.floor(minutes / 60);
  const m = minutes % 60;
  return `Estimated wait: about ${h} h${m ? ` ${m} min` : ''}`;
}

/** The campaign to report: data-campaign, else utm_campaign of the page URL, else none. */
export function campaignFor(dataCampaign: string | null | undefined, href: string): string | undefined {
  if (dataCampaign) return dataCampaign;
  try {
    const c = new URL(href).searchParams.get('utm_campaign');
    return c ? c : undefined;
  } catch {
    return undefined;
  }
}

/** Server limit on a context value (ctx: at most 512 characters). */
export const kMaxContextValue = 512;

/**
 * The context sent with each callback request; empty values are left out, control characters
 * dropped and long values cut to the server's limit in code points (never splitting a pair).
 */
export function buildContext(c: {
  pageUrl: string;
  campaign?: string;
  customerId?: string | null;
}): Record<string, string> {
  const out: Record<string, string> = {};
  const put = (k: string, v: string | null | undefined) => {
    const clean = (v ?? '').replace(/[\u0000-\u001f\u007f]/g, '');
    if (clean) out[k] = Array.from(clean).slice(0, kMaxContextValue).join('');
  };
  put('page_url', c.pageUrl);
  put('campaign', c.campaign);
  put('customer_id', c.customerId);
  return out;
}

/** What to tell the visitor when a request failed: the server's own `error` where it gave one. */
export function errorMessage(status: number, body: unknown): string {
  if (status === 429) return 'Too many requests, try later.';
  const serverSays = isObject(body) && typeof body.error === 'string' && body.error !== '' ? body.error : null;
  if (status === 0) return "We can't be reached right now; try again later.";
  if (serverSays) return serverSays;
  if (status === 404) return 'This service is not available.';
  if (status === 409) return 'That is no longer possible: we are closed or the time is taken.';
  if (status === 503) return 'The service is unavailable; try again later.';
  return `Something went wrong (HTTP ${status}); try again later.`;
}

/** The success line after a callback request. */
export function successMessage(
  answer: { status?: unknown; scheduled_for?: unknown },
  number: string,
  tf: TimeFormat = {},
): string {
  const updated = answer.status === 'updated';
  const at = typeof answer.scheduled_for === 'number' ? answer.scheduled_for : null;
  const lead = updated ? 'Your earlier request is updated: ' : 'Thank you: ';
  if (at !== null) return `${lead}we will call ${number} on ${formatTime(at, tf)}.`;
  return `${lead}we will call ${number} shortly.`;
}
