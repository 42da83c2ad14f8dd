// Rendering: builds DOM nodes from API data. All API text goes in through textContent
// or attributes, never through innerHTML.

/** Creates an element with attributes (null/false values skipped) and children. */
export function el(tag, attributes = {}, ...children) {
  const node = document.createElement(tag);
  for (const [name, value] of Object.entries(attributes)) {
    if (value !== null && value !== undefined && value !== false) node.setAttribute(name, value);
  }
  node.append(...children.filter((child) => child !== null && child !== undefined));
  return node;
}

/** "Chaotic Evil", "Lawful Neutral" ... and "True Neutral" when both axes are Neutral. */
export function alignmentText({ lawchaos, goodevil }) {
  if (lawchaos === 'Neutral' && goodevil === 'Neutral') return 'True Neutral';
  return [lawchaos, goodevil].filter(Boolean).join(' ');
}

/** "a lantern moth", "an owlbear" (a rough English rule, with the usual "uni-"/"eu-" exceptions). */
function withArticle(noun) {
  const article = /^[aeiou]/i.test(noun) && !/^(uni|use|eu|one)/i.test(noun) ? 'an' : 'a';
  return `${article} ${noun}`;
}

/** Image description: "Gloomwick, a lantern moth". */
export function altText({ name, species }) {
  return species ? `${name}, ${withArticle(species)}` : String(name ?? '');
}

/**
 * An image address for <img src>. The API gives paths relative to the SITE (not the API),
 * so they resolve against the page; absolute http(s) URLs are used as they are. Anything
 * else (javascript:, data:, garbage) gives null.
 */
export function imageUrl(uri) {
  if (typeof uri !== 'string' || uri === '') return null;
  try {
    const url = new URL(uri, document.baseURI);
    return url.protocol === 'https:' || url.protocol === 'http:' ? url.href : null;
  } catch {
    return null;
  }
}

export function isAdopted(mysfit) {
  return mysfit.adopted === true || mysfit.adopted === 'true';
}

export function sortByName(mysfits) {
  return [...mysfits].sort((a, b) =>
    String(a.name ?? '').localeCompare(String(b.name ?? ''), undefined, { sensitivity: 'base', numeric: true }),
  );
}

function plural(count, one, many) {
  return `${count} ${count === 1 ? one : many}`;
}

export function ageText(age) {
  return typeof age === 'number' ? plural(age, 'year', 'years') : String(age ?? 'Unknown');
}

export function likesText(likes) {
  return plural(Number(likes) || 0, 'like', 'likes');
}

/**
 * The count line for `filters` ({GoodEvil: 'Evil', ...}): "12 mysfits", "Showing 3 lawful evil
 * mysfits", "No evil mysfits found of the species “Wyrm”". Neutral is spelled out per axis, as
 * "neutral" alone would be ambiguous.
 */
export function countText(count, filters = {}) {
  const mysfits = count === 1 ? 'mysfit' : 'mysfits';
  const words = []; // before "mysfits": "lawful evil"
  const neutral = []; // after it: "neither good nor evil"
  for (const [name, axis] of [['LawChaos', 'lawful nor chaotic'], ['GoodEvil', 'good nor evil']]) {
    if (filters[name] === 'Neutral') neutral.push(`neither ${axis}`);
    else if (filters[name]) words.push(filters[name].toLowerCase());
  }
  let after = neutral.length ? ` that ${count === 1 ? 'is' : 'are'} ${neutral.join(' and ')}` : '';
  if (filters.Species) after += ` of the species “${filters.Species}”`;
  const before = words.length ? `${words.join(' ')} ` : '';
  if (!before && !after) return count === 0 ? 'No mysfits found' : `${count} ${mysfits}`;
  return count === 0 ? `No ${before}mysfits found${after}` : `Showing ${count} ${before}${mysfits}${after}`;
}

/**
 * When an image fails to load (e.g. not drawn yet) the frame shows the mysfit's initial
 * instead of a broken-image icon; the <img> and its alt text stay for assistive tech.
 */
export function watchImage(img) {
  img.addEventListener('error', () => img.closest('.media')?.classList.add('media--missing'));
  img.addEventListener('load', () => img.closest('.media')?.classList.remove('media--missing'));
}

/** Puts `uri` (or nothing) into an <img> inside a .media frame. */
export function setImage(img, uri, alt, name) {
  const frame = img.closest('.media');
  frame?.setAttribute('data-initial', String(name ?? '?').trim().charAt(0).toUpperCase() || '?');
  img.alt = alt;
  const src = imageUrl(uri);
  if (src) {
    frame?.classList.remove('media--missing');
    img.src = src;
  } else {
    img.removeAttribute('src');
    frame?.classList.add('media--missing');
  }
}

function alignmentBadge(mysfit) {
  const tone = { Good: 'good', Evil: 'evil' }[mysfit.goodevil] ?? 'neutral';
  return el('p', { class: `badge badge--${tone}` }, alignmentText(mysfit));
}

const SVG_NS = 'http://www.w3.org/2000/svg';

/** A heart; filled by CSS when its button is pressed. Decorative: the button has a text name. */
export function heartIcon() {
  const svg = document.createElementNS(SVG_NS, 'svg');
  svg.setAttribute('class', 'heart');
  svg.setAttribute('viewBox', '0 0 24 24');
  svg.setAttribute('width', '20');
  svg.setAttribute('height', '20');
  svg.setAttribute('aria-hidden', 'true');
  svg.setAttribute('focusable', 'false');
  const path = document.createElementNS(SVG_NS, 'path');
  path.setAttribute(
    'd',
    'M12 20.3 10.6 19C5.4 14.3 2 11.2 2 7.5 2 4.4 4.4 2 7.5 2c1.7 0 3.4.8 4.5 2.1C13.1 2.8 14.8 2 16.5 2 19.6 2 22 4.4 22 7.5c0 3.7-3.4 6.8-8.6 11.5L12 20.3z',
  );
  svg.append(path);
  return svg;
}

/**
 * What the visitor sees of a mysfit's likes and adoption:
 * {likes, liked, adopted, adoptedByYou, busy}. `busy` names the request in flight ("like" | "adopt").
 */
export function adoptionText(state) {
  if (state.adoptedByYou) return 'Adopted by you';
  return state.adopted ? 'Adopted' : 'Available for adoption';
}

/** Marks a button as busy without `disabled` (which would drop keyboard focus). */
function setBusy(button, busy) {
  if (busy) {
    button.setAttribute('aria-disabled', 'true');
    button.setAttribute('aria-busy', 'true');
  } else {
    button.removeAttribute('aria-disabled');
    button.removeAttribute('aria-busy');
  }
}

/** How many cards a first view can show (four columns, two rows): their images load at once. */
const CARDS_IN_FIRST_VIEW = 8;

/**
 * One grid card; its name is the button that opens the profile (app.js also opens it on any card
 * click). `position` in the grid: the cards a first view shows load their image at once, the
 * others lazily, when they are scrolled near.
 */
export function renderCard(mysfit, state, position = 0) {
  const loading = position < CARDS_IN_FIRST_VIEW ? 'eager' : 'lazy';
  const img = el('img', { class: 'media__image', width: '320', height: '320', loading, decoding: 'async' });
  const media = el('div', { class: 'media card__media' }, img);
  watchImage(img);
  setImage(img, mysfit.thumbImageUri || mysfit.profileImageUri, altText(mysfit), mysfit.name);
  const name = String(mysfit.name ?? '');

  // The name "Like <name>, 3 likes" is read with the pressed state; only the number is visible.
  const likeButton = el(
    'button',
    { type: 'button', class: 'like-button', 'data-testid': 'like-button', 'aria-pressed': 'false' },
    heartIcon(),
    el('span', { class: 'visually-hidden' }, `Like ${name}, `),
    el('span', { class: 'like-button__count', 'data-testid': 'like-count' }, '0'),
    el('span', { class: 'visually-hidden', 'data-part': 'likes-word' }, ' likes'),
  );

  const card = el(
    'li',
    {
      class: 'card',
      'data-testid': 'mysfit-card',
      'data-mysfit-id': mysfit.mysfitId,
      'data-goodevil': mysfit.goodevil,
      'data-lawchaos': mysfit.lawchaos,
      'data-species': mysfit.species,
    },
    el(
      'h3',
      { class: 'card__title' },
      el('button', { type: 'button', class: 'card__open', 'data-testid': 'open-profile' }, name),
    ),
    media,
    el('p', { class: 'card__species' }, String(mysfit.species ?? '')),
    el(
      'div',
      { class: 'card__meta' },
      alignmentBadge(mysfit),
      el('p', { class: 'badge badge--adopted', 'data-testid': 'adopted-badge', hidden: '' }, 'Adopted'),
    ),
    // Card actions sit above the card's click overlay; clicks here do not open the profile.
    el('div', { class: 'card__actions', 'data-slot': 'card-actions' }, likeButton),
    // What happened to this card's like, said here, under the button that was pressed.
    el('p', { class: 'card__notice', 'data-testid': 'card-notice', role: 'status', 'aria-live': 'polite' }),
  );
  applyCardState(card, state);
  return card;
}

/** Shows `state` on a card from renderCard. */
export function applyCardState(card, state) {
  const likes = Number(state.likes) || 0;
  const button = card.querySelector('[data-testid="like-button"]');
  button.setAttribute('aria-pressed', String(Boolean(state.liked)));
  setBusy(button, state.busy === 'like');
  card.querySelector('[data-testid="like-count"]').textContent = String(likes);
  card.querySelector('[data-part="likes-word"]').textContent = likes === 1 ? ' like' : ' likes';

  const badge = card.querySelector('[data-testid="adopted-badge"]');
  badge.hidden = !state.adopted && !state.adoptedByYou;
  badge.textContent = state.adoptedByYou ? 'Adopted by you' : 'Adopted';
  badge.classList.toggle('badge--yours', Boolean(state.adoptedByYou));
  card.dataset.adopted = String(Boolean(state.adopted || state.adoptedByYou));
}

/** Fills the profile dialog's fields from one mysfit, and its like/adopt actions from `state`. */
export function renderProfile(dialog, mysfit, state) {
  const field = (name) => dialog.querySelector(`[data-testid="profile-${name}"]`);
  const name = String(mysfit.name ?? '');
  field('name').textContent = name;
  field('species').textContent = String(mysfit.species ?? '');
  field('age').textContent = ageText(mysfit.age);
  field('alignment').textContent = alignmentText(mysfit);
  field('description').textContent = String(mysfit.description ?? '');
  setImage(field('image'), mysfit.profileImageUri || mysfit.thumbImageUri, altText(mysfit), mysfit.name);

  const likeButton = el(
    'button',
    { type: 'button', class: 'button button--secondary like-toggle', 'data-testid': 'profile-like-button', 'aria-pressed': 'false' },
    heartIcon(),
    el('span', {}, 'Like'),
    el('span', { class: 'visually-hidden' }, ` ${name}`),
  );
  const adoptButton = el(
    'button',
    { type: 'button', class: 'button', 'data-testid': 'adopt-button', 'data-name': name },
    `Adopt ${name}`,
  );
  dialog.querySelector('[data-slot="profile-actions"]').replaceChildren(likeButton, adoptButton);
  applyProfileState(dialog, state);
}

/** Shows `state` in the profile dialog: like toggle and count, adoption status, adopt button. */
export function applyProfileState(dialog, state) {
  const field = (name) => dialog.querySelector(`[data-testid="profile-${name}"]`);
  field('likes').textContent = likesText(state.likes);
  const status = field('adopted');
  const adopted = Boolean(state.adopted || state.adoptedByYou);
  status.textContent = adoptionText(state);
  status.dataset.adopted = String(adopted);
  status.dataset.adoptedByYou = String(Boolean(state.adoptedByYou));

  const likeButton = dialog.querySelector('[data-testid="profile-like-button"]');
  if (likeButton) {
    likeButton.setAttribute('aria-pressed', String(Boolean(state.liked)));
    setBusy(likeButton, state.busy === 'like');
  }
  const adoptButton = dialog.querySelector('[data-testid="adopt-button"]');
  if (adoptButton && adopted) {
    adoptButton.remove(); // adoption is once, ever
  } else if (adoptButton) {
    setBusy(adoptButton, state.busy === 'adopt');
    const name = adoptButton.dataset.name;
    adoptButton.textContent = state.busy === 'adopt' ? `Adopting ${name}…` : `Adopt ${name}`;
  }
}

const FOCUSABLE = 'a[href], button, input, select, textarea, [tabindex]:not([tabindex="-1"])';

/**
 * Keeps the keyboard's focus inside `dialog` while it is open: Tab from its last control goes to
 * its first, Shift+Tab from its first to its last (a modal dialog alone lets it leave for the
 * browser's own controls).
 */
export function keepFocusIn(dialog) {
  dialog.addEventListener('keydown', (event) => {
    if (event.key !== 'Tab') return;
    const controls = [...dialog.querySelectorAll(FOCUSABLE)].filter(
      (control) => !control.disabled && control.checkVisibility?.() !== false,
    );
    if (controls.length === 0) return;
    const [first, last] = [controls[0], controls[controls.length - 1]];
    if (event.shiftKey && document.activeElement === first) {
      event.preventDefault();
      last.focus();
    } else if (!event.shiftKey && document.activeElement === last) {
      event.preventDefault();
      first.focus();
    }
  });
}
