// Messages, each shown where the visitor is looking and never over a control: the page notice
// (#notice, in the page's flow under the header), the one inside the profile dialog (whose modal
// backdrop hides the page), and one per card for what happened to its like.

// Success and information leave by themselves; an error stays until it is closed or replaced.
const FADE_AFTER_MS = { success: 6000, info: 8000 };

/** A message area: `element` is an always-present live region; `frame` shows or hides around it. */
function messageArea(element, { frame = null, closeButton = null } = {}) {
  let timer = 0;
  let generation = 0;

  function clear() {
    generation += 1;
    clearTimeout(timer);
    element.textContent = '';
    delete element.dataset.tone;
    if (frame) frame.dataset.open = 'false';
    if (closeButton) closeButton.hidden = true;
  }

  /** tone: "info" | "error" | "success"; all but errors go away by themselves. */
  function show(text, { tone = 'info' } = {}) {
    clear();
    const mine = generation;
    element.dataset.tone = tone;
    if (frame) {
      frame.dataset.open = 'true';
      frame.dataset.tone = tone;
    }
    if (closeButton) closeButton.hidden = false;
    // Set in the next task, so a repeated message is a change the live region announces.
    setTimeout(() => {
      if (mine === generation) element.textContent = text;
    }, 30);
    if (FADE_AFTER_MS[tone]) timer = setTimeout(() => mine === generation && clear(), FADE_AFTER_MS[tone]);
  }

  closeButton?.addEventListener('click', clear);
  return { show, clear, get text() { return element.textContent; } };
}

const pageNotice = document.querySelector('#notice');
export const notice = messageArea(pageNotice, {
  frame: pageNotice.closest('.notice'),
  closeButton: document.querySelector('[data-testid="notice-close"]'),
});

export const profileNotice = messageArea(document.querySelector('[data-testid="profile-notice"]'));

const cardNotices = new WeakMap();

/** The message area of a card from renderCard (made on first use). */
export function cardNotice(card) {
  if (!cardNotices.has(card)) cardNotices.set(card, messageArea(card.querySelector('[data-testid="card-notice"]')));
  return cardNotices.get(card);
}
