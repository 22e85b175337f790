// The widget's DOM and behaviour inside its shadow root. Lives on the page's main thread; talks
// to Parley only through ParleyApi. All server- and config-provided text goes in via textContent.
//
// Stable ids inside the shadow root (for tests and integrators; tests/ui/lib.mjs part()):
//   launcher, panel, title, close, availability (the wait or closed line, aria-live), options,
//   call-now, schedule, chat-now (each hidden when not offered), call-form, call-number,
//   call-submit, call-back, schedule-form, slots (radios name="slot", value = start epoch ms),
//   schedule-number, schedule-submit, schedule-back, done, done-close, result (aria-live;
//   data-kind info | success | error), invitation, invitation-message, invitation-accept,
//   invitation-dismiss.
// On the <parley-widget> host element: data-queue, data-state (open | closed | error, from the
// last availability answer) and data-invitation-rules (rules loaded, or "none").
import { ParleyApi } from './api';
import {
  Availability,
  InvitationRule,
  buildContext,
  canInvite,
  checkNumber,
  dueInvitation,
  errorMessage,
  formatSlot,
  formatWait,
  optionsFor,
  parseAvailability,
  parseRules,
  successMessage,
  urlMatches,
} from './logic';
import { css } from './styles';

/** How often the live wait is refreshed. */
export const kRefreshMs = 30_000;

export interface WidgetSettings {
  queue: string;
  title: string;
  campaign?: string;
  customerId?: string;
}

const template = `
<div class="root">
  <div id="invitation" class="card bubble" role="dialog" aria-labelledby="invitation-message" hidden>
    <p id="invitation-message"></p>
    <div class="row">
      <button id="invitation-dismiss" type="button">No thanks</button>
      <button id="invitation-accept" type="button" class="primary">Yes, please</button>
    </div>
  </div>
  <section id="panel" class="card" role="dialog" aria-labelledby="title" hidden>
    <header>
      <h2 id="title"></h2>
      <button id="close" type="button" aria-label="Close">&#x2715;</button>
    </header>
    <p id="availability" role="status" aria-live="polite">Checking availability&#x2026;</p>
    <div id="options" class="options">
      <button id="chat-now" type="button" class="primary" hidden>Chat now</button>
      <button id="call-now" type="button" class="primary" hidden>Call me now</button>
      <button id="schedule" type="button" hidden>Schedule a call</button>
    </div>
    <form id="call-form" hidden novalidate>
      <label for="call-number">Your phone number</label>
      <input id="call-number" name="number" type="tel" autocomplete="tel" inputmode="tel"
             aria-describedby="call-hint" required>
      <p id="call-hint" class="hint">With country code, e.g. +44 20 7946 0000. We call you as soon as someone is free.</p>
      <div class="row">
        <button id="call-back" type="button" class="back">Back</button>
        <button id="call-submit" type="submit" class="primary">Call me</button>
      </div>
    </form>
    <form id="schedule-form" hidden novalidate>
      <fieldset>
        <legend>Choose a time (your local time)</legend>
        <div id="slots"></div>
      </fieldset>
      <label for="schedule-number">Your phone number</label>
      <input id="schedule-number" name="number" type="tel" autocomplete="tel" inputmode="tel" required>
      <div class="row">
        <button id="schedule-back" type="button" class="back">Back</button>
        <button id="schedule-submit" type="submit" class="primary">Book this time</button>
      </div>
    </form>
    <div id="done" hidden>
      <div class="row"><button id="done-close" type="button">Close</button></div>
    </div>
    <p id="result" role="status" aria-live="polite"></p>
  </section>
  <button id="launcher" type="button" aria-expanded="false" aria-controls="panel"></button>
</div>`;

type View = 'options' | 'call' | 'schedule' | 'done';

export class Widget {
  private readonly root: ShadowRoot;
  private availability: Availability | null = null;
  private rules: InvitationRule[] = [];
  private invited = false; // an invitation was shown (or the visitor opened the panel): no more
  private view: View = 'options';
  private timers: number[] = [];

  constructor(
    private readonly host: HTMLElement,
    private readonly api: ParleyApi,
    private readonly settings: WidgetSettings,
  ) {
    this.root = host.attachShadow({ mode: 'open' });
    const style = document.createElement('style');
    style.textContent = css;
    this.root.appendChild(style);
    const holder = document.createElement('div');
    holder.innerHTML = template; // static markup only
    this.root.appendChild(holder.firstElementChild!);
    this.el('title').textContent = settings.title;
    this.el('launcher').textContent = settings.title;
    this.wire();
  }

  /** Loads availability and invitation rules, then keeps the wait fresh. */
  start(): void {
    void this.refresh();
    void this.loadRules();
    this.timers.push(window.setInterval(() => void this.refresh(), kRefreshMs));
    document.addEventListener('visibilitychange', () => {
      if (document.visibilityState === 'visible') void this.refresh();
    });
  }

  private el<T extends HTMLElement = HTMLElement>(id: string): T {
    return this.root.getElementById(id) as T;
  }

  private wire(): void {
    this.el('launcher').addEventListener('click', () => this.setOpen(this.el('panel').hidden));
    this.el('close').addEventListener('click', () => this.setOpen(false));
    this.el('done-close').addEventListener('click', () => this.setOpen(false));
    this.el('call-now').addEventListener('click', () => this.show('call'));
    this.el('schedule').addEventListener('click', () => this.show('schedule'));
    this.el('chat-now').addEventListener('click', () => {
      // The web chat comes with the channels work; the host page or a later script listens.
      this.host.dispatchEvent(
        new CustomEvent('parley-widget:chat', { bubbles: true, composed: true, detail: { queue: this.settings.queue } }),
      );
      this.say('Starting a chat\u2026', 'info');
    });
    for (const b of Array.from(this.root.querySelectorAll<HTMLButtonElement>('button.back'))) {
      b.addEventListener('click', () => this.show('options'));
    }
    this.el('call-form').addEventListener('submit', (e) => {
      e.preventDefault();
      void this.submit('call');
    });
    this.el('schedule-form').addEventListener('submit', (e) => {
      e.preventDefault();
      void this.submit('schedule');
    });
    this.el('invitation-accept').addEventListener('click', () => {
      this.el('invitation').hidden = true;
      this.setOpen(true);
    });
    this.el('invitation-dismiss').addEventListener('click', () => {
      this.el('invitation').hidden = true;
      this.el<HTMLButtonElement>('launcher').focus();
    });
    this.root.addEventListener('keydown', (e) => {
      if ((e as KeyboardEvent).key === 'Escape' && !this.el('panel').hidden) this.setOpen(false);
    });
  }

  private setOpen(open: boolean): void {
    const panel = this.el('panel');
    panel.hidden = !open;
    this.el('launcher').setAttribute('aria-expanded', String(open));
    if (open) {
      this.invited = true;
      this.el('invitation').hidden = true;
      if (this.view === 'done') this.show('options');
      void this.refresh();
      const first = this.root.querySelector<HTMLElement>('#options button:not([hidden])') ?? this.el('close');
      first.focus();
    } else {
      this.el<HTMLButtonElement>('launcher').focus();
    }
  }

  private show(view: View): void {
    this.view = view;
    this.el('options').hidden = view !== 'options';
    this.el('call-form').hidden = view !== 'call';
    this.el('schedule-form').hidden = view !== 'schedule';
    this.el('done').hidden = view !== 'done';
    if (view !== 'done') this.say('', 'info');
    if (view === 'call') this.el<HTMLInputElement>('call-number').focus();
    if (view === 'schedule') {
      this.renderSlots();
      const first = this.root.querySelector<HTMLInputElement>('#slots input');
      (first ?? this.el<HTMLInputElement>('schedule-number')).focus();
    }
    if (view === 'options') this.renderOptions();
  }

  private say(text: string, kind: 'info' | 'error' | 'success'): void {
    const r = this.el('result');
    r.textContent = text;
    r.className = kind;
    r.setAttribute('data-kind', kind);
  }

  private async refresh(): Promise<void> {
    const res = await this.api.availability(this.settings.queue);
    if (!res.ok) {
      this.availability = null;
      this.host.setAttribute('data-state', 'error');
      // An unknown queue is the site's misconfiguration: tell the visitor plainly, the site in the console.
      this.el('availability').textContent =
        res.status === 404 ? 'This service is not available.' : errorMessage(res.status, res.body);
      if (res.status === 404) console.warn(`[parley-widget] unknown queue "${this.settings.queue}"`);
      this.renderOptions();
      return;
    }
    const a = parseAvailability(res.body);
    if (a === null) {
      this.availability = null;
      this.host.setAttribute('data-state', 'error');
      this.el('availability').textContent = 'Availability is unknown right now; try again later.';
      console.warn('[parley-widget] availability answer is not a JSON object');
      this.renderOptions();
      return;
    }
    this.availability = a;
    this.host.setAttribute('data-state', a.open ? 'open' : 'closed');
    this.el('availability').textContent = this.availabilityText(a);
    this.renderOptions();
    this.evaluateInvitations();
  }

  private availabilityText(a: Availability): string {
    const o = optionsFor(a);
    if (!a.open) return o.schedule ? "We're closed right now; schedule a call." : "We're closed right now.";
    const wait = formatWait(a.estimated_wait_s);
    if (!o.callNow && !o.chat && !o.schedule) return "We're open, but can't take requests here right now.";
    return wait ?? "We're open.";
  }

  private renderOptions(): void {
    const o = this.availability ? optionsFor(this.availability) : { callNow: false, schedule: false, chat: false };
    this.el('chat-now').hidden = !o.chat;
    this.el('call-now').hidden = !o.callNow;
    this.el('schedule').hidden = !o.schedule;
  }

  private renderSlots(): void {
    const box = this.el('slots');
    const chosen = this.root.querySelector<HTMLInputElement>('#slots input:checked')?.value;
    box.replaceChildren();
    const slots = this.availability?.slots ?? [];
    slots.forEach((s, i) => {
      const label = document.createElement('label');
      label.className = 'slot';
      const input = document.createElement('input');
      input.type = 'radio';
      input.name = 'slot';
      input.id = `slot-${i}`;
      input.value = String(s.start);
      input.checked = chosen !== undefined ? chosen === input.value : i === 0;
      label.append(input, document.createTextNode(formatSlot(s)));
      box.appendChild(label);
    });
    if (slots.length === 0) box.textContent = 'No times are free right now.';
  }

  private async submit(kind: 'call' | 'schedule'): Promise<void> {
    const input = this.el<HTMLInputElement>(kind === 'call' ? 'call-number' : 'schedule-number');
    const button = this.el<HTMLButtonElement>(kind === 'call' ? 'call-submit' : 'schedule-submit');
    const check = checkNumber(input.value);
    if (!check.ok) {
      input.setAttribute('aria-invalid', 'true');
      this.say(check.message, 'error');
      input.focus();
      return;
    }
    input.removeAttribute('aria-invalid');
    let at: number | undefined;
    if (kind === 'schedule') {
      const chosen = this.root.querySelector<HTMLInputElement>('#slots input:checked');
      if (!chosen) {
        this.say('Choose a time first.', 'error');
        return;
      }
      at = Number(chosen.value);
    }
    const body = {
      queue: this.settings.queue,
      number: check.number,
      ...(at !== undefined ? { at } : {}),
      context: buildContext({
        pageUrl: location.href,
        campaign: this.settings.campaign,
        customerId: this.settings.customerId,
      }),
    };
    button.disabled = true;
    button.setAttribute('aria-busy', 'true');
    this.say('Sending\u2026', 'info');
    const res = await this.api.requestCallback(body);
    button.disabled = false;
    button.removeAttribute('aria-busy');
    if (!res.ok) {
      this.say(errorMessage(res.status, res.body), 'error');
      return;
    }
    const answer = (res.body ?? {}) as { id?: unknown; status?: unknown; scheduled_for?: unknown };
    const shown = { ...answer, scheduled_for: answer.scheduled_for ?? at ?? null };
    this.show('done');
    this.say(successMessage(shown, check.number), 'success');
    this.el<HTMLButtonElement>('done-close').focus();
    this.host.dispatchEvent(
      new CustomEvent('parley-widget:callback', { bubbles: true, composed: true, detail: answer }),
    );
  }

  private async loadRules(): Promise<void> {
    const res = await this.api.widgetConfig(this.settings.queue);
    if (!res.ok) {
      if (res.status !== 404) console.warn(`[parley-widget] widget config: HTTP ${res.status}`);
      this.host.setAttribute('data-invitation-rules', 'none');
      return;
    }
    this.rules = parseRules(res.body);
    // How many rules were loaded: lets a test know the timers are set before it moves the clock.
    this.host.setAttribute('data-invitation-rules', String(this.rules.length));
    const elapsed = performance.now();
    for (const r of this.rules) {
      if (!urlMatches(r.url, location.href)) continue;
      const delay = Math.max(0, (r.after_s ?? 0) * 1000 - elapsed) + 20;
      this.timers.push(window.setTimeout(() => this.evaluateInvitations(), delay));
    }
  }

  /** Shows the invitation bubble when a rule is due and the queue can take the contact now. */
  private evaluateInvitations(): void {
    if (this.invited || !this.el('panel').hidden) return;
    if (!canInvite(this.availability)) return;
    const rule = dueInvitation(this.rules, {
      href: location.href,
      secondsOnPage: performance.now() / 1000,
      now: new Date(),
    });
    if (!rule) return;
    this.invited = true;
    this.el('invitation-message').textContent = rule.message;
    this.el('invitation').hidden = false;
  }
}
