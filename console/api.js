// The console's only way to deliveryd: its JSON API on this same listener. The bearer token, when the daemon asks
// for one, goes in the Authorization header, never in a URL; it is kept in sessionStorage, for this tab only.

const tokenKey = 'deliveryd.token';

/** An answer of deliveryd that is not 2xx, with the contract's {error, detail}. */
export class ApiError extends Error {
  constructor(status, word, detail, retryAfter) {
    super(detail || word || `HTTP ${status}`);
    this.status = status;
    this.word = word;
    this.detail = detail;
    this.retryAfter = retryAfter;
  }
}

/** deliveryd could not be reached at all (it is down, or the tunnel is closed). */
export class Unreachable extends Error {}

let askToken = null; // (wrong: boolean) => Promise<string|null>, set by the page
let pendingAsk = null; // the prompt in progress: every request that met a 401 waits for the same one

/** Sets what asks the person for a token when deliveryd answers 401; it resolves to null when they decline. */
export function setTokenPrompt(prompt) {
  askToken = prompt;
}

/** Whether a token is kept for this tab. */
export function hasToken() {
  return sessionStorage.getItem(tokenKey) !== null;
}

/** Forgets the token of this tab. */
export function forgetToken() {
  sessionStorage.removeItem(tokenKey);
}

function headers() {
  const token = sessionStorage.getItem(tokenKey);
  return token ? { Authorization: `Bearer ${token}` } : {};
}

// Requests in flight, on <html data-busy>: tests and people can tell when the page has settled.
let inFlight = 0;
function busy(delta) {
  inFlight += delta;
  document.documentElement.dataset.busy = String(inFlight);
}

async function errorOf(res) {
  let word = '';
  let detail = '';
  try {
    const body = await res.json();
    word = body.error || '';
    detail = body.detail || '';
  } catch {
    detail = res.statusText;
  }
  return new ApiError(res.status, word, detail, Number(res.headers.get('Retry-After')) || 0);
}

/** Waits for a token from the person, once for every request that needs it; false when they declined. */
async function tokenFromPerson(wrong) {
  if (!askToken) return false;
  if (!pendingAsk) {
    pendingAsk = askToken(wrong).finally(() => {
      pendingAsk = null;
    });
  }
  const token = await pendingAsk;
  if (token === null) { // declined: a token that was refused is not kept either
    forgetToken();
    return false;
  }
  sessionStorage.setItem(tokenKey, token);
  return true;
}

/** fetch() with the token, asking for one on 401; throws ApiError, Unreachable, or an AbortError. */
async function request(path, options = {}) {
  busy(+1);
  try {
    for (let attempt = 0; ; attempt += 1) {
      let res;
      try {
        res = await fetch(path, { ...options, headers: { ...headers(), ...(options.headers || {}) }, cache: 'no-store' });
      } catch (e) {
        if (e.name === 'AbortError') throw e;
        throw new Unreachable(String(e));
      }
      if (res.status === 401 && (await tokenFromPerson(attempt > 0 || hasToken()))) continue;
      if (!res.ok) throw await errorOf(res);
      return res;
    }
  } finally {
    busy(-1);
  }
}

/** GET `path` as JSON. */
export async function getJson(path, signal) {
  const res = await request(path, { signal });
  return res.json();
}

/** Query text of `params`, leaving out empty values. */
export function query(params) {
  const q = new URLSearchParams();
  for (const [name, value] of Object.entries(params)) if (value !== undefined && value !== null && value !== '') q.set(name, value);
  return q.toString();
}

/**
 * Starts a download of the month's export: a POST with the token gives a one-time URL (a ticket, not the token),
 * which the browser follows as a link and streams to disk; the file never passes through the page's memory.
 */
export async function download(params) {
  const res = await request(`/v1/log/export/tickets?${query(params)}`, { method: 'POST' });
  const { url } = await res.json();
  const link = document.createElement('a');
  link.href = url;
  link.download = '';
  link.hidden = true;
  document.body.append(link);
  link.click();
  link.remove();
}
