// The three public Parley routes the widget calls, over fetch (CORS, no credentials).
// Every call resolves (never throws): network failures become status 0.

export type ApiResult =
  | { ok: true; status: number; body: unknown }
  | { ok: false; status: number; body: unknown; retryAfterS: number | null };

async function call(url: string, init: RequestInit): Promise<ApiResult> {
  let res: Response;
  try {
    res = await fetch(url, { ...init, mode: 'cors', credentials: 'omit', cache: 'no-store' });
  } catch {
    return { ok: false, status: 0, body: null, retryAfterS: null };
  }
  let body: unknown = null;
  try {
    const text = await res.text();
    body = text ? JSON.parse(text) : null;
  } catch {
    body = null; // not JSON: the status alone tells
  }
  if (res.ok) return { ok: true, status: res.status, body };
  const ra = Number(res.headers.get('Retry-After'));
  return { ok: false, status: res.status, body, retryAfterS: Number.isFinite(ra) && ra > 0 ? ra : null };
}

export class ParleyApi {
  /** origin: Parley's origin, e.g. "http://127.0.0.1:8080" (from the script's own src). */
  constructor(private readonly origin: string) {}

  availability(queue: string): Promise<ApiResult> {
    return call(`${this.origin}/api/queues/${encodeURIComponent(queue)}/availability`, { method: 'GET' });
  }

  widgetConfig(queue: string): Promise<ApiResult> {
    return call(`${this.origin}/api/widget/config?queue=${encodeURIComponent(queue)}`, { method: 'GET' });
  }

  requestCallback(body: {
    queue: string;
    number: string;
    at?: number;
    context: Record<string, string>;
  }): Promise<ApiResult> {
    return call(`${this.origin}/api/callbacks`, {
      method: 'POST',
      headers: { 'Content-Type': 'application/json' },
      body: JSON.stringify(body),
    });
  }
}
