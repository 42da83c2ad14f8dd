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
 * The count line: "12 mysfits", "Showing 3 evil mysfits", "No evil mysfits found".
 * Neutral is spelled out per axis, as "neutral" alone would be ambiguous.
 */
export function countText(count, filter) {
  const mysfits = count === 1 ? 'mysfit' : 'mysfits';
  if (!filter) return count === 0 ? 'No mysfits found' : `${count} ${mysfits}`;
  let before = ''; // words before "mysfits"
  let after = ''; // words after it
  if (filter.name === 'Species') {
    after = ` of the species “${filter.value}”`;
  } else if (filter.value === 'Neutral') {
    after = filter.name === 'GoodEvil' ? ' that are neither good nor evil' : ' that are neither lawful nor chaotic';
    if (count === 1) after = after.replace('are', 'is');
  } else {
    before = `${filter.value.toLowerCase()} `;
  }
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

/** One grid card; its name is the button that opens the profile (app.js also opens it on any card click). */
export function renderCard(mysfit) {
  const img = el('img', { class: 'media__image', width: '320', height: '320', loading: 'lazy', decoding: 'async' });
  const media = el('div', { class: 'media card__media' }, img);
  watchImage(img);
  setImage(img, mysfit.thumbImageUri || mysfit.profileImageUri, altText(mysfit), mysfit.name);

  return el(
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
      el('button', { type: 'button', class: 'card__open', 'data-testid': 'open-profile' }, String(mysfit.name ?? '')),
    ),
    media,
    el('p', { class: 'card__species' }, String(mysfit.species ?? '')),
    el('div', { class: 'card__meta' }, alignmentBadge(mysfit), isAdopted(mysfit) ? el('p', { class: 'badge badge--adopted' }, 'Adopted') : null),
    // Card actions (like / adopt) go here; they sit above the card's click overlay.
    el('div', { class: 'card__actions', 'data-slot': 'card-actions' }),
  );
}

/** Fills the profile dialog's fields from one mysfit. */
export function renderProfile(dialog, mysfit) {
  const field = (name) => dialog.querySelector(`[data-testid="profile-${name}"]`);
  field('name').textContent = String(mysfit.name ?? '');
  field('species').textContent = String(mysfit.species ?? '');
  field('age').textContent = ageText(mysfit.age);
  field('alignment').textContent = alignmentText(mysfit);
  field('description').textContent = String(mysfit.description ?? '');
  field('likes').textContent = likesText(mysfit.likes);
  const adopted = field('adopted');
  adopted.textContent = isAdopted(mysfit) ? 'Adopted' : 'Available for adoption';
  adopted.dataset.adopted = String(isAdopted(mysfit));
  setImage(field('image'), mysfit.profileImageUri || mysfit.thumbImageUri, altText(mysfit), mysfit.name);
}
