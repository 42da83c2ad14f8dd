// Mythical Mysfits: the page controller. Loads the settings, keeps the grid, the filters,
// the profile dialog and the URL (?filter=...&value=...&mysfit=...) in step.

import { ApiError, FILTERS, createApi, isAbortError, loadConfig } from './api.js';
import { countText, el, renderCard, renderProfile, sortByName, watchImage } from './views.js';

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
const profileName = dialog.querySelector('[data-testid="profile-name"]');
const profileImage = dialog.querySelector('[data-testid="profile-image"]');
const profileClose = dialog.querySelector('[data-testid="profile-close"]');
const profileErrorMessage = dialog.querySelector('.profile__error-message');
const BASE_TITLE = document.title;
const OWN_PARAMS = ['filter', 'value', 'mysfit'];

let api = null;
/** What the page shows; mirrors the URL. filter is null or {name, value}. */
let current = { filter: null, mysfitId: null };
let gridRequest = null; // AbortController of the grid load in flight
let speciesLoaded = false;
let retryAction = null; // what the status region's "Try again" re-runs
let shownById = new Map(); // the mysfits in the grid, to title the dialog while it loads
const profile = {
  id: null,
  request: null, // AbortController of the profile load in flight
  opener: null, // the button to give focus back to
  updateUrlOnClose: true, // false when the URL already changed (back/forward)
};

// -- URL ------------------------------------------------------------------------------

function parseFilter(name, value) {
  if (!Object.hasOwn(FILTERS, name) || !value) return null;
  const allowed = FILTERS[name];
  if (!allowed) return { name, value };
  const canonical = allowed.find((option) => option.toLowerCase() === value.toLowerCase());
  return canonical ? { name, value: canonical } : null;
}

function readUrl() {
  const params = new URLSearchParams(location.search);
  return {
    filter: parseFilter(params.get('filter'), params.get('value')),
    mysfitId: params.get('mysfit') || null,
  };
}

function urlFor({ filter, mysfitId }) {
  const params = new URLSearchParams();
  if (filter) {
    params.set('filter', filter.name);
    params.set('value', filter.value);
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

const sameFilter = (a, b) => a?.name === b?.name && a?.value === b?.value;

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

/** Shows `filter` in the selects; every other select goes back to "Any". */
function syncSelects(filter) {
  for (const [name, select] of Object.entries(selects)) {
    const value = filter?.name === name ? filter.value : '';
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

function applyFilter(filter) {
  syncSelects(filter);
  navigate({ filter, mysfitId: null });
  loadGrid();
}

for (const [name, select] of Object.entries(selects)) {
  select.addEventListener('change', () => applyFilter(select.value ? { name, value: select.value } : null));
}
$('#view-all').addEventListener('click', () => applyFilter(null));
$('#filters').addEventListener('submit', (event) => event.preventDefault());

// -- grid -----------------------------------------------------------------------------

function setGridState(state) {
  grid.dataset.state = state; // "loading" | "ready" | "error"; tests wait for "ready"
  grid.setAttribute('aria-busy', String(state === 'loading'));
}

function renderGrid(mysfits, filter) {
  const sorted = sortByName(mysfits);
  shownById = new Map(sorted.map((mysfit) => [mysfit.mysfitId, mysfit]));
  grid.replaceChildren(...sorted.map(renderCard));
  hideError();
  resultCount.textContent = countText(sorted.length, filter);
  emptyState.hidden = sorted.length > 0;
  setGridState('ready');
}

/** Loads the grid for the current filter; the full list is also read once for the species. */
async function loadGrid() {
  gridRequest?.abort();
  const request = new AbortController();
  gridRequest = request;
  const { filter } = current;
  setGridState('loading');
  if (statusError.hidden) resultCount.textContent = 'Loading mysfits…';
  try {
    const [all, filtered] = await Promise.all([
      !filter || !speciesLoaded ? api.listMysfits(null, { signal: request.signal }) : null,
      filter ? api.listMysfits(filter, { signal: request.signal }) : null,
    ]);
    if (request.signal.aborted) return;
    if (all) {
      fillSpecies(all);
      speciesLoaded = true;
    }
    renderGrid(filtered ?? all, filter);
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
  if (!card || event.target.closest('[data-slot="card-actions"]')) return;
  if (event.target.tagName !== 'BUTTON' && String(getSelection()).trim()) return; // selecting text
  navigate({ ...current, mysfitId: card.dataset.mysfitId });
  openProfile(card.dataset.mysfitId, card.querySelector('[data-testid="open-profile"]'));
});

// -- profile dialog -------------------------------------------------------------------

/** Opens the dialog in its loading state and fetches the mysfit fresh. */
async function openProfile(mysfitId, opener = null) {
  profile.request?.abort();
  const request = new AbortController();
  Object.assign(profile, { id: mysfitId, request, opener: opener ?? profile.opener });

  dialog.dataset.state = 'loading';
  profileName.textContent = shownById.get(mysfitId)?.name ?? 'Mysfit profile';
  profileImage.removeAttribute('src'); // no flash of the previous mysfit
  if (!dialog.open) dialog.showModal();

  try {
    const mysfit = await api.getMysfit(mysfitId, { signal: request.signal });
    if (request.signal.aborted) return;
    renderProfile(dialog, mysfit);
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
  Object.assign(profile, { id: null, request: null, opener: null, updateUrlOnClose: true });
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
  const filterChanged = !sameFilter(next.filter, current.filter);
  current = next;
  if (filterChanged) {
    syncSelects(next.filter);
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
  try {
    api = createApi(await loadConfig());
  } catch (error) {
    showError(error, start);
    setGridState('error');
    return;
  }
  const initial = readUrl();
  navigate(initial, { replace: true }); // drops an invalid filter from the address
  syncSelects(initial.filter);
  if (initial.mysfitId) openProfile(initial.mysfitId);
  await loadGrid();
}

start();
