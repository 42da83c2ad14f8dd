// Profile views for the click pipeline: `PUT {clicksEndpoint}/clicks` with {mysfitId, userId}.
//
// Sending never delays the page and never shows an error: a click that cannot be sent
// (offline, the stream busy) is kept in localStorage and sent again later, on the next
// view, when the browser comes back online, or on a backing-off timer.

const QUEUE_KEY = 'mysfits.pendingClicks';
const VISITOR_KEY = 'mysfits.visitorId';
const MAX_QUEUE = 200; // the oldest pending clicks go first beyond this
const RETRY_MIN_MS = 15000;
const RETRY_MAX_MS = 5 * 60000;
const REQUEST_TIMEOUT_MS = 10000;

function read(key) {
  try {
    return localStorage.getItem(key);
  } catch {
    return null;
  }
}

/** Can this page keep data in localStorage (not blocked, not full)? */
function storageWorks() {
  try {
    localStorage.setItem('mysfits.storageCheck', '1');
    localStorage.removeItem('mysfits.storageCheck');
    return true;
  } catch {
    return false;
  }
}

function write(key, value) {
  try {
    if (value === null) localStorage.removeItem(key);
    else localStorage.setItem(key, value);
  } catch {
    // storage blocked or full: pending clicks live as long as the page
  }
}

/** A stable id for a visitor who is not logged in (no personal data: random). */
function anonymousId() {
  let id = read(VISITOR_KEY);
  if (!id || !/^anon-[0-9a-f]{32}$/.test(id)) {
    const bytes = crypto.getRandomValues(new Uint8Array(16));
    id = 'anon-' + Array.from(bytes, (byte) => byte.toString(16).padStart(2, '0')).join('');
    write(VISITOR_KEY, id);
  }
  return id;
}

/**
 * The click sender for `config` (null when the site has no clicks endpoint). `visitorId()`
 * gives the logged-in visitor's id, or null; anonymous visitors get a random stable id.
 */
export function createClicks(config, { visitorId = () => null } = {}) {
  let endpoint;
  try {
    endpoint = new URL(config?.clicksEndpoint, document.baseURI).href.replace(/\/+$/, '') + '/clicks';
  } catch {
    return null;
  }
  if (typeof config?.clicksEndpoint !== 'string' || !/^https?:/.test(endpoint)) return null;

  const persistent = storageWorks();
  let memoryQueue = []; // the queue itself when localStorage is unavailable
  let sending = false;
  let retryTimer = 0;
  let retryDelay = RETRY_MIN_MS;

  function loadQueue() {
    if (!persistent) return memoryQueue;
    // No key: nothing pending, even if another tab sent what this one last saw.
    const stored = read(QUEUE_KEY);
    if (stored === null) return [];
    try {
      const queue = JSON.parse(stored);
      return Array.isArray(queue) ? queue.filter((click) => typeof click?.mysfitId === 'string') : [];
    } catch {
      return [];
    }
  }

  function saveQueue(queue) {
    memoryQueue = queue.slice(-MAX_QUEUE);
    write(QUEUE_KEY, memoryQueue.length ? JSON.stringify(memoryQueue) : null);
  }

  /** 'sent' | 'retry' (keep it for later) | 'drop' (the API will never take it). */
  async function send(click) {
    const controller = new AbortController();
    const timer = setTimeout(() => controller.abort(), REQUEST_TIMEOUT_MS);
    try {
      const response = await fetch(endpoint, {
        method: 'PUT',
        headers: { 'Content-Type': 'application/json' },
        body: JSON.stringify(click),
        keepalive: true, // still sent if the visitor leaves the page
        signal: controller.signal,
      });
      if (response.ok) return 'sent';
      return response.status === 429 || response.status >= 500 ? 'retry' : 'drop';
    } catch {
      return 'retry';
    } finally {
      clearTimeout(timer);
    }
  }

  function scheduleRetry() {
    clearTimeout(retryTimer);
    retryTimer = setTimeout(flush, retryDelay);
    retryDelay = Math.min(retryDelay * 2, RETRY_MAX_MS);
  }

  /** Sends the pending clicks, oldest first; stops at the first that must wait. */
  async function flush() {
    if (sending) return;
    sending = true;
    clearTimeout(retryTimer);
    try {
      let queue = loadQueue();
      while (queue.length) {
        const outcome = await send(queue[0]);
        if (outcome === 'retry') {
          scheduleRetry();
          return;
        }
        queue = loadQueue().slice(1); // another tab may have added some meanwhile
        saveQueue(queue);
      }
      retryDelay = RETRY_MIN_MS;
    } finally {
      sending = false;
    }
  }

  window.addEventListener('online', () => flush());

  return {
    /** Records a profile view; returns at once. */
    record(mysfitId) {
      const userId = visitorId() || anonymousId();
      saveQueue([...loadQueue(), { mysfitId, userId }]);
      setTimeout(flush, 0); // after the dialog has painted
    },
    flush,
  };
}
