// Credentials of this tab and the API calls that carry them.
//
// The Close API key and the LeadSquared key pair live in sessionStorage (this
// tab only, gone when it closes) and travel in request headers only: never in
// a URL, a query string, or a log line.

const CLOSE_KEY = 'leadflow.close';
const LSQ_KEY = 'leadflow.lsq';

function read(name) {
  try {
    const v = JSON.parse(sessionStorage.getItem(name) || 'null');
    return v && typeof v === 'object' ? v : null;
  } catch {
    return null;
  }
}

/** {key, org} of the Close sign-in, or null. */
export function closeSession() {
  const v = read(CLOSE_KEY);
  return v && typeof v.key === 'string' && typeof v.org === 'string' ? v : null;
}

/** {accessKey, secretKey} of the LeadSquared sign-in, or null. */
export function lsqSession() {
  const v = read(LSQ_KEY);
  return v && typeof v.accessKey === 'string' && typeof v.secretKey === 'string' ? v : null;
}

export function setLsqSession(accessKey, secretKey) {
  sessionStorage.setItem(LSQ_KEY, JSON.stringify({accessKey, secretKey}));
}

const listeners = new Set();
/** fn() runs on every sign-out (streams abort there). */
export function onSignOut(fn) {
  listeners.add(fn);
  return () => listeners.delete(fn);
}

export function signOut() {
  sessionStorage.removeItem(CLOSE_KEY);
  sessionStorage.removeItem(LSQ_KEY);
  for (const fn of [...listeners]) fn();
}

export function signOutLsq() {
  sessionStorage.removeItem(LSQ_KEY);
}

export class ApiError extends Error {
  constructor(status, message, body) {
    super(message);
    this.name = 'ApiError';
    this.status = status;
    this.body = body;
  }
}

/** The message of a Close-style or LeadSquared error body. */
export function errorMessage(status, body, statusText = '') {
  const parts = [];
  if (body && typeof body === 'object') {
    if (typeof body.ExceptionMessage === 'string') parts.push(body.ExceptionMessage);
    if (typeof body.error === 'string') parts.push(body.error);
    else if (body.error && typeof body.error.message === 'string') parts.push(body.error.message);
    if (Array.isArray(body.errors)) for (const e of body.errors) parts.push(typeof e === 'string' ? e : JSON.stringify(e));
    const fe = body['field-errors'];
    if (fe && typeof fe === 'object') for (const [k, v] of Object.entries(fe)) parts.push(`${k}: ${v}`);
  }
  if (!parts.length) parts.push(statusText || 'Request failed');
  return `${status}: ${parts.join('; ')}`;
}

/** An ApiError from a failed Response (its JSON error body read). */
export async function parseError(res) {
  let body = null;
  try {
    body = JSON.parse(await res.text());
  } catch {
    body = null;
  }
  const retry = res.headers.get('Retry-After');
  let msg = errorMessage(res.status, body, res.statusText);
  if (res.status === 429 && retry) msg += ` (retry in ${retry} s)`;
  return new ApiError(res.status, msg, body);
}

/** Headers of a Close API call with this key. */
export function closeHeaders(key, extra = {}) {
  return {Authorization: `Bearer ${key}`, Accept: 'application/json', ...extra};
}

/** A Close API call with the signed-in key: the JSON answer, or throws ApiError. */
export async function closeJson(path, {key, headers = {}, signal} = {}) {
  const k = key ?? closeSession()?.key;
  if (!k) throw new ApiError(401, '401: not signed in', null);
  let res;
  try {
    res = await fetch(path, {headers: closeHeaders(k, headers), signal, credentials: 'omit', cache: 'no-store'});
  } catch (e) {
    if (e.name === 'AbortError') throw e;
    throw new ApiError(0, 'The service cannot be reached (network error).', null);
  }
  if (!res.ok) throw await parseError(res);
  return res.json();
}

/** Checks a Close API key; its org id, or throws ApiError (401 for a bad key). */
export async function signInClose(key) {
  const me = await closeJson('/api/v1/me/', {key});
  const org = me && Array.isArray(me.organizations) && me.organizations[0] && me.organizations[0].id;
  if (typeof org !== 'string' || !org) throw new ApiError(500, 'The service did not name the key\'s organization.', me);
  sessionStorage.setItem(CLOSE_KEY, JSON.stringify({key, org}));
  return org;
}

/** POST /Leads/NotContacted with the pair in headers; the Response, or throws ApiError. */
export async function lsqPost(body, {csv = false, signal, pair} = {}) {
  const p = pair ?? lsqSession();
  if (!p) throw new ApiError(401, '401: not signed in to LeadSquared', null);
  let res;
  try {
    res = await fetch(csv ? '/Leads/NotContacted?responseformat=CSV' : '/Leads/NotContacted', {
      method: 'POST',
      headers: {
        'Content-Type': 'application/json',
        Accept: csv ? 'text/csv' : 'application/json',
        'x-LSQ-AccessKey': p.accessKey,
        'x-LSQ-SecretKey': p.secretKey,
      },
      body: JSON.stringify(body),
      signal,
      credentials: 'omit',
      cache: 'no-store',
    });
  } catch (e) {
    if (e.name === 'AbortError') throw e;
    throw new ApiError(0, 'The service cannot be reached (network error).', null);
  }
  if (!res.ok) throw await parseError(res);
  return res;
}
