// The dashboard's entry: picks the view from location.pathname.
//   /                the lead status change report (Close)
//   /search/<q>/     the leads a report cell counts
//   /lsq/            Leads Not Contacted (LeadSquared)

import {h, replace} from '/assets/dom.js';
import {closeSession, lsqSession, signInClose, signOut, ApiError} from '/assets/session.js';
import {mountReport} from '/assets/report.js';
import {mountSearch} from '/assets/search.js';
import {mountLsq} from '/assets/lsq.js';

const main = document.getElementById('main');
const account = document.getElementById('account');
const orgId = document.getElementById('org-id');
let unmount = null;

function route() {
  const p = location.pathname;
  if (p === '/' || p === '/index.html') return 'report';
  if (p === '/lsq' || p.startsWith('/lsq/')) return 'lsq';
  if (p.startsWith('/search/')) return 'search';
  return 'unknown';
}

function markNav(view) {
  const report = document.getElementById('nav-report');
  const lsq = document.getElementById('nav-lsq');
  report.toggleAttribute('aria-current', view === 'report' || view === 'search');
  lsq.toggleAttribute('aria-current', view === 'lsq');
  if (view === 'report' || view === 'search') report.setAttribute('aria-current', 'page');
  if (view === 'lsq') lsq.setAttribute('aria-current', 'page');
}

function updateAccount(view) {
  const close = closeSession();
  const lsq = lsqSession();
  const signedIn = view === 'lsq' ? Boolean(lsq || close) : Boolean(close);
  account.hidden = !signedIn;
  document.querySelector('#account .org-label').textContent = close ? 'Organization' : 'Signed in to';
  orgId.textContent = close ? close.org : (lsq ? 'LeadSquared' : '');
}

/** The Close sign-in form; then() runs once the key is accepted. */
export function closeSignIn(container, {message, then}) {
  const input = h('input', {
    id: 'api-key', name: 'api-key', type: 'password', autocomplete: 'off', required: true,
    spellcheck: 'false', placeholder: 'api_…', 'aria-describedby': 'api-key-help',
  });
  const error = h('div', {id: 'signin-error', class: 'alert alert-error', role: 'alert', hidden: !message}, message || '');
  const button = h('button', {type: 'submit', class: 'btn btn-primary', id: 'signin-submit'}, 'Sign in');
  const form = h('form', {class: 'card signin', id: 'signin-form', novalidate: true},
    h('h1', {}, 'Sign in'),
    h('p', {class: 'muted'}, 'Lead status changes are read with your organization\'s Close API key.'),
    h('label', {for: 'api-key'}, 'Close API key'),
    input,
    h('p', {class: 'hint', id: 'api-key-help'}, 'Kept in this browser tab only (session storage) and sent in a request header; never in a URL.'),
    error,
    h('div', {class: 'actions'}, button));
  form.addEventListener('submit', async (e) => {
    e.preventDefault();
    const key = input.value.trim();
    if (!key) {
      error.textContent = 'Enter the API key.';
      error.hidden = false;
      input.focus();
      return;
    }
    button.disabled = true;
    button.textContent = 'Signing in…';
    error.hidden = true;
    try {
      await signInClose(key);
      input.value = '';
      then();
    } catch (err) {
      error.textContent = err instanceof ApiError && err.status === 401
        ? '401 Unauthorized: this API key was refused. Check the key and try again.'
        : (err.message || 'Sign-in failed.');
      error.hidden = false;
      button.disabled = false;
      button.textContent = 'Sign in';
      input.select();
    }
  });
  replace(container, form);
  input.focus();
}

function render(message) {
  if (unmount) unmount();
  unmount = null;
  const view = route();
  markNav(view);
  updateAccount(view);
  const ctx = {
    rerender: (msg) => render(msg),
    // A key the service stopped accepting: back to the sign-in form.
    expired: (msg) => {
      signOut();
      render(msg || '401 Unauthorized: the API key is no longer accepted. Sign in again.');
    },
    refreshAccount: () => updateAccount(view),
  };
  if (view === 'lsq') {
    unmount = mountLsq(main, ctx);
    return;
  }
  if (view === 'unknown') {
    replace(main, h('section', {class: 'card'}, h('h1', {}, 'Page not found'),
      h('p', {}, h('a', {href: '/'}, 'Go to the lead status report'))));
    return;
  }
  if (!closeSession()) {
    document.title = 'Sign in · leadflow';
    closeSignIn(main, {message, then: () => render()});
    return;
  }
  unmount = view === 'search' ? mountSearch(main, ctx) : mountReport(main, ctx);
}

document.getElementById('signout').addEventListener('click', () => {
  signOut();
  render();
});

render();
