// Mythical Mysfits: the page controller. Loads the settings, keeps the grid, the filters,
// the profile dialog and the URL (?goodevil=...&lawchaos=...&species=...&mysfit=...) in step, and the
// visitor's likes and adoptions (accounts: auth.js and account.js).

import { createAccountUi } from './account.js';
import { ApiError, FILTERS, FILTER_PARAMS, createApi, isAbortError, loadConfig, takeFirstView } from './api.js';
import { createAuth } from './auth.js';
import { createClicks } from './clicks.js';
import { cardNotice, notice, profileNotice } from './notice.js';
import {
  applyCardState,
  applyProfileState,
  countText,
  el,
  isAdopted,
  keepFocusIn,
  renderCard,
  renderProfile,
  sortByName,
  watchImage,
} from './views.js';

const $ = (selector) => document.querySelector(selector);

const grid = $('#mysfit-grid');
const heading = $('#mysfits-heading');
const resultCount = $('#result-count');
const emptyState = $('#empty-state');
const statusError = $('#status-error');
const statusErrorMessage = $('#status-error-message');
const statusRetry = $('#status-retry');
const selects = {
  GoodEvil: $('#filter-goodevil'),
  LawChaos: $('#filter-lawchaos'),
  Species: $('#filter-species'),
};
const dialog = $('#profile-dialog');
keepFocusIn(dialog);
const profileName = dialog.querySelector('[data-testid="profile-name"]');
const profileImage = dialog.querySelector('[data-testid="profile-image"]');
const profileClose = dialog.querySelector('[data-testid="profile-close"]');
const profileErrorMessage = dialog.querySelector('.profile__error-message');
const BASE_TITLE = document.title;
// Ours: each filter's parameter and the open profile; `filter` and `value` are the older
// one-filter form of links, read and rewritten in the current form.
const OWN_PARAMS = [...Object.values(FILTER_PARAMS), 'filter', 'value', 'mysfit'];

let api = null;
let auth = null; // null until the settings are loaded, or when the site has no user pool
let account = null;
let clicks = null; // profile views for the click pipeline; null when not configured
/** What the page shows; mirrors the URL. filters: {GoodEvil: 'Evil', ...}, the chosen ones only. */
let current = { filters: {}, mysfitId: null };
let gridRequest = null; // AbortController of the grid load in flight
let speciesLoaded = false;
let retryAction = null; // what the status region's "Try again" re-runs
let shownById = new Map(); // the mysfits in the grid, to title the dialog while it loads
const profile = {
  id: null,
  request: null, // AbortController of the profile load in flight
  opener: null, // the button to give focus back to
  updateUrlOnClose: true, // false when the URL already changed (back/forward)
  mysfit: null, // the mysfit shown, once loaded
};

// -- the visitor's likes and adoptions ------------------------------------------------

/** What the signed-in visitor likes and adopted (from GET /me and every write's answer). */
const viewer = { liked: new Set(), adopted: new Set() };
/** Each mysfit's latest write answer, so a cached listing does not show an older count. */
const recent = new Map(); // mysfitId -> {likes, adopted, at}
const RECENT_MS = 15000; // longer than the catalog's listing cache
const pending = new Map(); // mysfitId -> "like" | "adopt": the request in flight
let meRequest = null; // AbortController of the GET /me in flight

function stateFor(mysfit) {
  const id = mysfit.mysfitId;
  return {
    likes: Number(mysfit.likes) || 0,
    liked: viewer.liked.has(id),
    adopted: isAdopted(mysfit) || viewer.adopted.has(id),
    adoptedByYou: viewer.adopted.has(id),
    busy: pending.get(id) ?? null,
  };
}

/** Shows the current state of `mysfitId` on its card and, if it is open, in the profile. */
function showState(mysfitId) {
  const mysfit = shownById.get(mysfitId);
  const card = mysfit && grid.querySelector(`[data-mysfit-id="${CSS.escape(mysfitId)}"]`);
  if (card) applyCardState(card, stateFor(mysfit));
  if (profile.mysfit?.mysfitId === mysfitId && dialog.dataset.state === 'ready') {
    applyProfileState(dialog, stateFor(profile.mysfit));
  }
}

function showAllStates() {
  for (const id of shownById.keys()) showState(id);
  if (profile.mysfit && !shownById.has(profile.mysfit.mysfitId)) showState(profile.mysfit.mysfitId);
}

/** The mysfit objects the page holds for `mysfitId` (grid and profile may hold different copies). */
function copiesOf(mysfitId) {
  return [shownById.get(mysfitId), profile.mysfit?.mysfitId === mysfitId ? profile.mysfit : null].filter(Boolean);
}

/** Takes in a like/unlike/adopt answer: the server's count and state. */
function applyResult(result) {
  const id = result.mysfitId;
  for (const mysfit of copiesOf(id)) {
    if (result.likes !== null) mysfit.likes = result.likes;
    if (result.adopted) mysfit.adopted = true;
  }
  const known = copiesOf(id)[0];
  recent.set(id, { likes: result.likes ?? known?.likes ?? 0, adopted: result.adopted, at: Date.now() });
  if (result.liked) viewer.liked.add(id);
  else viewer.liked.delete(id);
  if (result.adoptedByYou) viewer.adopted.add(id);
}

/** Overlays recent write answers on a listing that may come from a cache. */
function withRecent(mysfit) {
  const latest = recent.get(mysfit.mysfitId);
  if (!latest) return mysfit;
  const fresh = Date.now() - latest.at < RECENT_MS;
  return {
    ...mysfit,
    likes: fresh ? latest.likes : mysfit.likes,
    adopted: isAdopted(mysfit) || latest.adopted,
  };
}

/** Loads what the signed-in visitor likes and adopted, then shows it everywhere. */
async function loadMe() {
  meRequest?.abort();
  if (!auth?.loggedIn) return;
  const request = new AbortController();
  meRequest = request;
  try {
    const me = await api.me({ signal: request.signal });
    if (request.signal.aborted) return;
    viewer.liked = new Set(me.liked);
    viewer.adopted = new Set(me.adopted);
    showAllStates();
  } catch (error) {
    if (request.signal.aborted || isAbortError(error)) return;
    if (error instanceof ApiError && error.status === 401) {
      auth.logOut({ reason: 'expired' });
      notice.show('Your session has ended. Please log in again.', { tone: 'info' });
      return;
    }
    notice.show(`We could not load your likes and adoptions. ${messageOf(error)}`, { tone: 'error' });
  } finally {
    if (meRequest === request) meRequest = null;
  }
}

function messageOf(error) {
  return error instanceof ApiError ? error.message : 'Something went wrong on our side. Please try again.';
}

function nameOf(mysfitId) {
  return String(copiesOf(mysfitId)[0]?.name ?? 'this mysfit');
}

/** A message about an action on `mysfitId`, once, where the visitor is looking: in the profile
 * when it came from there (its backdrop hides the page), else on the card whose button was
 * pressed, else on the page. */
function tell(text, tone, fromProfile, mysfitId = null) {
  const card = mysfitId ? grid.querySelector(`[data-mysfit-id="${CSS.escape(mysfitId)}"]`) : null;
  if (fromProfile && dialog.open) profileNotice.show(text, { tone });
  else if (card) cardNotice(card).show(text, { tone });
  else notice.show(text, { tone });
}

/** A visitor who is not logged in (or whose session ended) tried to like or adopt: the log-in
 * dialog opens and says why, and nothing else does. */
function askToLogIn(text, opener) {
  account.open('login', { message: text, opener });
}

async function handleActionError(error, { mysfitId, action, opener, fromProfile }) {
  if (isAbortError(error)) return;
  const name = nameOf(mysfitId);
  if (error instanceof ApiError && error.status === 401) {
    auth.logOut({ reason: 'expired' });
    const text = action === 'adopt' ? `Your session has ended. Log in again to adopt ${name}.` : 'Your session has ended. Log in again to like mysfits.';
    askToLogIn(text, opener);
    return;
  }
  if (action === 'adopt' && error instanceof ApiError && error.status === 409) {
    applyResult({ mysfitId, likes: null, liked: viewer.liked.has(mysfitId), adopted: true, adoptedByYou: false });
    tell(`Someone has already adopted ${name}.`, 'info', fromProfile, mysfitId);
    return;
  }
  tell(messageOf(error), 'error', fromProfile, mysfitId);
}

async function toggleLike(mysfitId, opener, fromProfile) {
  if (!auth?.loggedIn) {
    if (!auth) tell('Accounts are not available on this site right now. Please try again later.', 'error', fromProfile);
    else askToLogIn('Log in to like mysfits', opener);
    return;
  }
  if (pending.has(mysfitId)) return;
  const wasLiked = viewer.liked.has(mysfitId);
  pending.set(mysfitId, 'like');
  showState(mysfitId);
  try {
    const result = wasLiked ? await api.unlike(mysfitId) : await api.like(mysfitId);
    applyResult(result);
  } catch (error) {
    await handleActionError(error, { mysfitId, action: 'like', opener, fromProfile });
  } finally {
    pending.delete(mysfitId);
    showState(mysfitId);
  }
}

async function adopt(mysfitId, opener) {
  if (!auth?.loggedIn) {
    if (!auth) tell('Accounts are not available on this site right now. Please try again later.', 'error', true);
    else askToLogIn('Log in to adopt', opener);
    return;
  }
  if (pending.has(mysfitId)) return;
  pending.set(mysfitId, 'adopt');
  showState(mysfitId);
  let adopted = false;
  try {
    const result = await api.adopt(mysfitId);
    applyResult(result);
    adopted = true;
  } catch (error) {
    await handleActionError(error, { mysfitId, action: 'adopt', opener, fromProfile: true });
  } finally {
    pending.delete(mysfitId);
    showState(mysfitId);
  }
  if (adopted) tell(`You adopted ${nameOf(mysfitId)}. Welcome to the family!`, 'success', true);
  // The adopt button is gone once adopted: keep the focus inside the dialog.
  if (!opener.isConnected && dialog.open && (document.activeElement === document.body || !document.activeElement)) {
    dialog.querySelector('[data-testid="profile-like-button"]')?.focus();
  }
}

function onAuthChange({ loggedIn, reason }) {
  if (reason === 'refresh') return;
  meRequest?.abort();
  viewer.liked = new Set();
  viewer.adopted = new Set();
  showAllStates();
  if (loggedIn) loadMe();
}

// -- URL ------------------------------------------------------------------------------

/** The canonical spelling of `value` for filter `name`, or null when it is not one of its values. */
function filterValue(name, value) {
  if (!Object.hasOwn(FILTERS, name) || !value) return null;
  const allowed = FILTERS[name];
  if (!allowed) return value;
  return allowed.find((option) => option.toLowerCase() === value.toLowerCase()) ?? null;
}

function readUrl() {
  const params = new URLSearchParams(location.search);
  const filters = {};
  const older = filterValue(params.get('filter'), params.get('value'));
  if (older) filters[params.get('filter')] = older;
  for (const [name, param] of Object.entries(FILTER_PARAMS)) {
    const value = filterValue(name, params.get(param));
    if (value) filters[name] = value;
  }
  return { filters, mysfitId: params.get('mysfit') || null };
}

function urlFor({ filters, mysfitId }) {
  const params = new URLSearchParams();
  for (const [name, param] of Object.entries(FILTER_PARAMS)) {
    if (filters[name]) params.set(param, filters[name]);
  }
  if (mysfitId) params.set('mysfit', mysfitId);
  // Parameters this page does not own are kept, after ours.
  for (const [key, value] of new URLSearchParams(location.search)) {
    if (!OWN_PARAMS.includes(key)) params.append(key, value);
  }
  const query = params.toString();
  return location.pathname + (query ? `?${query}` : '') + location.hash;
}

/** Makes `next` the current state and records it in the history (once). */
function navigate(next, { replace = false } = {}) {
  current = next;
  const url = urlFor(next);
  if (url === location.pathname + location.search + location.hash) return;
  if (replace) history.replaceState(null, '', url);
  else history.pushState(null, '', url);
}

const sameFilters = (a, b) => Object.keys(FILTERS).every((name) => a[name] === b[name]);

// -- status region --------------------------------------------------------------------

function showError(error, retry) {
  retryAction = retry;
  resultCount.textContent = '';
  emptyState.hidden = true;
  statusErrorMessage.textContent =
    error instanceof ApiError ? error.message : 'Something went wrong on our side. Please try again.';
  statusError.hidden = false;
  statusRetry.removeAttribute('aria-disabled');
  statusRetry.textContent = 'Try again';
}

function hideError() {
  retryAction = null;
  statusError.hidden = true;
  statusErrorMessage.textContent = '';
}

statusRetry.addEventListener('click', async () => {
  const retry = retryAction;
  if (!retry || statusRetry.hasAttribute('aria-disabled')) return;
  // aria-disabled rather than disabled: a disabled button would drop keyboard focus.
  statusRetry.setAttribute('aria-disabled', 'true');
  statusRetry.textContent = 'Trying again…';
  await retry();
  // On success the button is hidden; move focus somewhere sensible instead of <body>.
  if (statusError.hidden && (document.activeElement === statusRetry || document.activeElement === document.body)) {
    heading.focus();
  }
});

// -- filters --------------------------------------------------------------------------

/** Shows `filters` in the selects; a select with no filter shows "Any". */
function syncSelects(filters) {
  for (const [name, select] of Object.entries(selects)) {
    const value = filters[name] ?? '';
    if (value && ![...select.options].some((option) => option.value === value)) {
      select.append(el('option', { value }, value)); // e.g. a species only known from a link
    }
    select.value = value;
  }
}

/** Rebuilds the species options from the full list, keeping the current choice. */
function fillSpecies(mysfits) {
  const select = selects.Species;
  const chosen = select.value;
  const species = [...new Set(mysfits.map((mysfit) => mysfit.species).filter((name) => typeof name === 'string' && name))];
  species.sort((a, b) => a.localeCompare(b, undefined, { sensitivity: 'base' }));
  if (chosen && !species.includes(chosen)) species.push(chosen);
  select.replaceChildren(el('option', { value: '' }, 'Any'), ...species.map((name) => el('option', { value: name }, name)));
  select.value = chosen;
}

function applyFilters(filters) {
  syncSelects(filters);
  navigate({ filters, mysfitId: null });
  loadGrid();
}

// The filters combine: choosing one keeps the others.
for (const [name, select] of Object.entries(selects)) {
  select.addEventListener('change', () => {
    const filters = { ...current.filters, [name]: select.value };
    if (!select.value) delete filters[name];
    applyFilters(filters);
  });
}
$('#view-all').addEventListener('click', () => applyFilters({}));
$('#filters').addEventListener('submit', (event) => event.preventDefault());

// -- grid -----------------------------------------------------------------------------

function setGridState(state) {
  grid.dataset.state = state; // "loading" | "ready" | "error"; tests wait for "ready"
  grid.setAttribute('aria-busy', String(state === 'loading'));
}

function renderGrid(mysfits, filters) {
  const sorted = sortByName(mysfits).map(withRecent);
  shownById = new Map(sorted.map((mysfit) => [mysfit.mysfitId, mysfit]));
  grid.replaceChildren(...sorted.map((mysfit, position) => renderCard(mysfit, stateFor(mysfit), position)));
  hideError();
  resultCount.textContent = countText(sorted.length, filters);
  emptyState.hidden = sorted.length > 0;
  setGridState('ready');
}

/** Loads the grid for the current filters; the full list is also read once for the species. */
/** Loads the grid; `everyMysfit`, when given, is the whole catalog already requested (the first view's). */
async function loadGrid(everyMysfit = null) {
  gridRequest?.abort();
  const request = new AbortController();
  gridRequest = request;
  const { filters } = current;
  const filtered = Object.keys(filters).length > 0;
  setGridState('loading');
  if (statusError.hidden) resultCount.textContent = 'Loading mysfits…';
  try {
    const [all, matching] = await Promise.all([
      !filtered || !speciesLoaded ? (everyMysfit ?? api.listMysfits(null, { signal: request.signal })) : null,
      filtered ? api.listMysfits(filters, { signal: request.signal }) : null,
    ]);
    if (request.signal.aborted) return;
    if (all) {
      fillSpecies(all);
      speciesLoaded = true;
    }
    renderGrid(matching ?? all, filters);
  } catch (error) {
    if (request.signal.aborted || isAbortError(error)) return; // superseded by a newer load
    showError(error, loadGrid);
    setGridState('error');
  }
}

// Cards: one delegated listener. A click anywhere on a card opens its profile, except in
// its action area; keyboard users get the card's real <button> (Enter/Space click it).
grid.addEventListener('click', (event) => {
  const card = event.target.closest('[data-testid="mysfit-card"]');
  const likeButton = event.target.closest('[data-testid="like-button"]');
  if (card && likeButton) {
    toggleLike(card.dataset.mysfitId, likeButton, false);
    return;
  }
  if (!card || event.target.closest('[data-slot="card-actions"]')) return;
  if (event.target.tagName !== 'BUTTON' && String(getSelection()).trim()) return; // selecting text
  navigate({ ...current, mysfitId: card.dataset.mysfitId });
  openProfile(card.dataset.mysfitId, card.querySelector('[data-testid="open-profile"]'));
});

// -- profile dialog -------------------------------------------------------------------

/** Opens the dialog in its loading state and fetches the mysfit fresh. */
async function openProfile(mysfitId, opener = null) {
  const newView = !dialog.open || profile.id !== mysfitId; // not a "Try again"
  profile.request?.abort();
  const request = new AbortController();
  Object.assign(profile, { id: mysfitId, request, opener: opener ?? profile.opener, mysfit: null });
  profileNotice.clear();

  dialog.dataset.state = 'loading';
  profileName.textContent = shownById.get(mysfitId)?.name ?? 'Mysfit profile';
  profileImage.removeAttribute('src'); // no flash of the previous mysfit
  if (!dialog.open) dialog.showModal();
  if (newView) clicks?.record(mysfitId); // fire-and-forget: never delays the dialog

  try {
    const mysfit = await api.getMysfit(mysfitId, { signal: request.signal });
    if (request.signal.aborted) return;
    profile.mysfit = mysfit;
    // The profile is read fresh: its count and adoption also bring the card up to date.
    const shown = shownById.get(mysfitId);
    if (shown) {
      shown.likes = mysfit.likes;
      shown.adopted = isAdopted(shown) || isAdopted(mysfit);
      showState(mysfitId);
    }
    renderProfile(dialog, mysfit, stateFor(mysfit));
    dialog.dataset.state = 'ready';
    document.title = `${mysfit.name} — ${BASE_TITLE}`;
  } catch (error) {
    if (request.signal.aborted || isAbortError(error)) return;
    profileErrorMessage.textContent =
      error instanceof ApiError ? error.message : 'Something went wrong on our side. Please try again.';
    dialog.dataset.state = 'error';
  }
}

watchImage(profileImage);
profileClose.addEventListener('click', () => dialog.close());
dialog.querySelector('[data-slot="profile-actions"]').addEventListener('click', (event) => {
  const id = profile.mysfit?.mysfitId;
  if (!id) return;
  const likeButton = event.target.closest('[data-testid="profile-like-button"]');
  const adoptButton = event.target.closest('[data-testid="adopt-button"]');
  if (likeButton) toggleLike(id, likeButton, true);
  else if (adoptButton) adopt(id, adoptButton);
});
dialog.querySelector('.profile__retry').addEventListener('click', () => {
  profileClose.focus(); // the retry button hides while loading
  openProfile(profile.id);
});

// A click on the backdrop closes the dialog. The dialog itself has no padding, so only
// the backdrop targets it; both press and release must be there (not a text-selection drag).
let pressedOnBackdrop = false;
dialog.addEventListener('pointerdown', (event) => {
  pressedOnBackdrop = event.target === dialog;
});
dialog.addEventListener('click', (event) => {
  if (pressedOnBackdrop && event.target === dialog) dialog.close();
  pressedOnBackdrop = false;
});

// Fires for Escape, the Close button, the backdrop and closes caused by back/forward.
dialog.addEventListener('close', () => {
  profile.request?.abort();
  const { id, opener, updateUrlOnClose } = profile;
  Object.assign(profile, { id: null, request: null, opener: null, updateUrlOnClose: true, mysfit: null });
  profileNotice.clear();
  document.title = BASE_TITLE;
  if (updateUrlOnClose && current.mysfitId) navigate({ ...current, mysfitId: null });

  // Focus goes back to the card that opened the dialog, else to this mysfit's card (deep
  // link, or the grid was re-rendered meanwhile), else to the grid's heading.
  const card = id && grid.querySelector(`[data-mysfit-id="${CSS.escape(id)}"] [data-testid="open-profile"]`);
  (opener?.isConnected ? opener : card || heading).focus();
});

// -- start and history ----------------------------------------------------------------

window.addEventListener('popstate', () => {
  if (!api) return; // still starting, or the settings failed: "Try again" handles it
  const next = readUrl();
  const filterChanged = !sameFilters(next.filters, current.filters);
  current = next;
  if (filterChanged) {
    syncSelects(next.filters);
    loadGrid();
  }
  if (next.mysfitId && (next.mysfitId !== profile.id || !dialog.open)) {
    openProfile(next.mysfitId);
  } else if (!next.mysfitId && dialog.open) {
    profile.updateUrlOnClose = false;
    dialog.close();
  }
});

async function start() {
  setGridState('loading');
  const first = takeFirstView(); // requested as the page began loading; a retry asks again
  let config;
  try {
    config = await (first?.config ?? loadConfig());
  } catch (error) {
    showError(error, start);
    setGridState('error');
    return;
  }
  const firstStart = !api;
  if (firstStart) auth = createAuth(config);
  api = createApi(config, { auth });
  const initial = readUrl();
  navigate(initial, { replace: true }); // drops an invalid filter from the address
  syncSelects(initial.filters);
  // The catalog request goes out first; the rest is set up while it is answered.
  const gridLoaded = loadGrid(first?.mysfits);
  if (firstStart) {
    account = createAccountUi(auth);
    auth?.onChange(onAuthChange);
  }
  clicks ??= createClicks(config, { visitorId: () => auth?.userId ?? null });
  clicks?.flush(); // clicks a previous visit could not send
  // A session that expired while the page was closed is refreshed (or ends quietly) first.
  auth?.resume().then(loadMe);
  if (initial.mysfitId) openProfile(initial.mysfitId);
  await gridLoaded;
}

start();
