// Entry of widget.js, the one script a customer site embeds:
//   <script src="https://parley.example/widget.js" data-queue="sales" async></script>
// Optional: data-campaign, data-customer-id, data-title. Parley's origin is taken from the
// script's own src, so the page needs no other configuration. The widget lives in a shadow root
// on a <parley-widget> element appended to <body>.
import { ParleyApi } from './api';
import { campaignFor } from './logic';
import { Widget } from './view';

export const version = '0.1.0';

function ownScript(): HTMLScriptElement | null {
  const current = document.currentScript;
  if (current instanceof HTMLScriptElement) return current;
  // Fallback when currentScript is not set (e.g. the script was loaded by another loader).
  return document.querySelector<HTMLScriptElement>('script[src*="widget.js"][data-queue]:not([data-parley-mounted])');
}

function mount(script: HTMLScriptElement): void {
  const queue = script.dataset.queue?.trim();
  if (!queue) {
    console.error('[parley-widget] data-queue is missing on the <script> tag; the widget is not shown');
    return;
  }
  let origin: string;
  try {
    origin = new URL(script.src, location.href).origin;
  } catch {
    console.error('[parley-widget] cannot tell Parley\'s address from the script src');
    return;
  }
  script.setAttribute('data-parley-mounted', '');
  const host = document.createElement('parley-widget');
  host.setAttribute('data-queue', queue);
  document.body.appendChild(host);
  const widget = new Widget(host, new ParleyApi(origin), {
    queue,
    title: script.dataset.title?.trim() || 'Talk to us',
    campaign: campaignFor(script.dataset.campaign, location.href),
    customerId: script.dataset.customerId || undefined,
  });
  widget.start();
}

const script = ownScript();
if (!script) {
  console.error('[parley-widget] cannot find its own <script> tag; the widget is not shown');
} else if (document.body) {
  mount(script);
} else {
  document.addEventListener('DOMContentLoaded', () => mount(script), { once: true });
}
