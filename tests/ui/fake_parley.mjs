// A stand-in for Parley's public widget routes (the contract in the issue 5 context: GET
// availability, POST /api/callbacks, GET /api/widget/config, CORS for allowed origins, GET
// /widget.js and /widget/demo.html from ui/dist). It records every request so tests can check
// what the widget sent. Each test sets `state` to the answers it wants.
import { listen, readBody, serveWidgetFile } from './lib.mjs';

export function defaultAvailability(queue = 'sales') {
  return {
    queue,
    open: true,
    estimated_wait_s: 120,
    waiting: 3,
    callback_now: true,
    callback_later: true,
    chat: false,
    // Fixed future slots; the test's visitor is in Asia/Kolkata (UTC+5:30), so 10:00Z is 15:30.
    slots: [
      { start: Date.UTC(2030, 0, 15, 10, 0), end: Date.UTC(2030, 0, 15, 10, 15), free: 2 },
      { start: Date.UTC(2030, 0, 15, 10, 15), end: Date.UTC(2030, 0, 15, 10, 30), free: 1 },
      { start: Date.UTC(2030, 0, 15, 10, 30), end: Date.UTC(2030, 0, 15, 10, 45), free: 0 },
    ],
  };
}

/**
 * Starts the fake on 127.0.0.1. `allowedOrigins`: origins that get CORS headers (as Parley's
 * configured allowed origins). Returns { url, close, state, requests, posts(), reset() }.
 */
export async function startFakeParley({ allowedOrigins = [] } = {}) {
  const fake = {
    requests: [], // { method, path, origin, body }
    state: null,
    reset() {
      fake.requests.length = 0;
      fake.state = {
        queues: { sales: defaultAvailability('sales') },
        invitations: [],
        // When set, the next POST /api/callbacks gets this answer: { status, body, headers }.
        nextPost: null,
      };
    },
    posts: () => fake.requests.filter((r) => r.method === 'POST' && r.path === '/api/callbacks'),
  };
  fake.reset();
  let nextId = 1;

  const corsHeaders = (req) => {
    const origin = req.headers.origin;
    if (!origin || !allowedOrigins.includes(origin)) return {};
    return { 'Access-Control-Allow-Origin': origin, 'Access-Control-Expose-Headers': 'Retry-After', Vary: 'Origin' };
  };
  const json = (req, res, status, body, extra = {}) => {
    res.writeHead(status, { 'Content-Type': 'application/json', ...corsHeaders(req), ...extra });
    res.end(body === null ? '' : JSON.stringify(body));
  };

  const server = await listen(async (req, res) => {
    const url = new URL(req.url, 'http://x');
    const rec = { method: req.method, path: url.pathname, query: url.search, origin: req.headers.origin ?? null };
    fake.requests.push(rec);
    if (serveWidgetFile(req, res)) return;
    const isPublic =
      /^\/api\/queues\/[^/]+\/availability$/.test(url.pathname) ||
      url.pathname === '/api/callbacks' ||
      url.pathname === '/api/widget/config';
    if (req.method === 'OPTIONS' && isPublic) {
      res.writeHead(204, {
        ...corsHeaders(req),
        'Access-Control-Allow-Methods': 'GET, POST',
        'Access-Control-Allow-Headers': 'Content-Type',
        'Access-Control-Max-Age': '600',
      });
      res.end();
      return;
    }
    const avail = /^\/api\/queues\/([^/]+)\/availability$/.exec(url.pathname);
    if (req.method === 'GET' && avail) {
      const q = fake.state.queues[decodeURIComponent(avail[1])];
      if (!q) return json(req, res, 404, { error: 'unknown queue' });
      return json(req, res, 200, q);
    }
    if (req.method === 'GET' && url.pathname === '/api/widget/config') {
      const queue = url.searchParams.get('queue') ?? '';
      if (!fake.state.queues[queue]) return json(req, res, 404, { error: 'unknown queue' });
      return json(req, res, 200, { queue, invitations: fake.state.invitations });
    }
    if (req.method === 'POST' && url.pathname === '/api/callbacks') {
      const text = await readBody(req);
      let body;
      try {
        body = JSON.parse(text);
      } catch {
        rec.body = text;
        return json(req, res, 400, { error: 'body is not JSON' });
      }
      rec.body = body;
      rec.contentType = req.headers['content-type'];
      if (fake.state.nextPost) {
        const { status, body: answer, headers } = fake.state.nextPost;
        fake.state.nextPost = null;
        return json(req, res, status, answer, headers);
      }
      if (typeof body.number !== 'string') return json(req, res, 400, { error: 'number: missing' });
      if (!fake.state.queues[body.queue]) return json(req, res, 404, { error: 'unknown queue' });
      return json(req, res, 201, {
        id: `cb-${nextId++}`,
        status: 'created',
        scheduled_for: typeof body.at === 'number' ? body.at : null,
      });
    }
    json(req, res, 404, { error: 'not found' });
  });
  return Object.assign(fake, { url: server.url, close: server.close });
}
