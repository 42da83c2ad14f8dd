// Site settings and the Mysfits API client.
//
// Every failure surfaces as an ApiError whose `message` is safe and friendly enough to
// show to a visitor; a request cancelled by the caller rejects with the caller's
// AbortError instead, which callers simply ignore.

const REQUEST_TIMEOUT_MS = 15000;

/** The filters GET /mysfits accepts, and the values of the two fixed ones. */
export const FILTERS = {
  GoodEvil: ['Good', 'Neutral', 'Evil'],
  LawChaos: ['Lawful', 'Neutral', 'Chaotic'],
  Species: null, // any species name
};

/** Each filter's query parameter (the mysfit field it matches); given together, they combine. */
export const FILTER_PARAMS = { GoodEvil: 'goodevil', LawChaos: 'lawchaos', Species: 'species' };

export class ApiError extends Error {
  constructor(message, { status = 0, code = '' } = {}) {
    super(message);
    this.name = 'ApiError';
    this.status = status;
    this.code = code;
  }
}

export function isAbortError(error) {
  return error?.name === 'AbortError';
}

/** Reads config.json (next to the page) and returns it with `apiEndpoint` validated. */
export async function loadConfig() {
  let config;
  try {
    const response = await fetch('config.json', { cache: 'no-cache', headers: { Accept: 'application/json' } });
    if (!response.ok) throw new Error(`config.json answered ${response.status}`);
    config = await response.json();
  } catch {
    throw new ApiError("We couldn't load the site's settings. Please check your connection and try again.");
  }
  let endpoint;
  try {
    // Resolved against the page, so a same-origin path such as "/api" also works.
    endpoint = new URL(config?.apiEndpoint, document.baseURI);
  } catch {
    endpoint = null;
  }
  if (typeof config?.apiEndpoint !== 'string' || !/^https?:$/.test(endpoint?.protocol)) {
    throw new ApiError('The site is not configured correctly (no API address). Please try again later.');
  }
  return { ...config, apiEndpoint: endpoint.href.replace(/\/+$/, '') };
}

const NETWORK_MESSAGE = "We couldn't reach the Mysfits service. Please check your connection and try again.";
const WRITE_NETWORK_MESSAGE = 'Could not reach Mythical Mysfits. Check your connection and try again.';
const SESSION_ENDED_MESSAGE = 'Your session has ended. Please log in again.';

/** Friendly text for a failed like, unlike, adopt or /me (the API's own text is for developers). */
function accountMessage(status, apiMessage) {
  if (status === 401 || status === 403) return SESSION_ENDED_MESSAGE;
  if (status === 404) return 'We could not find that mysfit. It may no longer be on the site.';
  if (status === 409) return apiMessage || 'Someone has already adopted this mysfit.';
  if (status === 503) return 'Likes and adoptions are not available right now. Please try again in a moment.';
  if (status === 429) return 'Too many requests at once. Please wait a moment and try again.';
  if (status >= 500) return `Mythical Mysfits had a problem (error ${status}). Please try again.`;
  return apiMessage || `Mythical Mysfits could not do that (error ${status}). Please try again.`;
}

/**
 * An API client bound to one endpoint. `auth` (from auth.js, optional) gives the ID token
 * for the visitor's calls: `idToken()` and `refresh()`.
 */
export function createApi({ apiEndpoint }, { auth = null } = {}) {
  /**
   * One request. With `signedIn`, sends the ID token (raw, in Authorization) and on a 401
   * refreshes it once and retries once; a second 401 is an ApiError with status 401.
   */
  async function request(path, { method = 'GET', signal, signedIn = false } = {}) {
    const networkMessage = signedIn ? WRITE_NETWORK_MESSAGE : NETWORK_MESSAGE;
    let token = null;
    if (signedIn) {
      try {
        token = await auth?.idToken();
      } catch {
        throw new ApiError(networkMessage); // the refresh could not reach Cognito
      }
      if (!token) throw new ApiError(SESSION_ENDED_MESSAGE, { status: 401, code: 'NotLoggedIn' });
    }

    for (let attempt = 0; ; attempt += 1) {
      const response = await send(path, { method, signal, token, networkMessage });
      if (response.status === 401 && signedIn && attempt === 0) {
        try {
          token = await auth.refresh();
        } catch {
          throw new ApiError(networkMessage);
        }
        if (token) continue;
      }
      const body = await response.json().catch(() => null);
      if (!response.ok) {
        const apiMessage = typeof body?.error?.message === 'string' ? body.error.message : '';
        const code = typeof body?.error?.code === 'string' ? body.error.code : '';
        const message = signedIn
          ? accountMessage(response.status, apiMessage)
          : apiMessage || `The Mysfits service had a problem (error ${response.status}). Please try again.`;
        throw new ApiError(message, { status: response.status, code });
      }
      if (body === null || typeof body !== 'object') {
        throw new ApiError('The Mysfits service sent an answer we could not read. Please try again.');
      }
      return body;
    }
  }

  /** fetch with a timeout; the caller's signal is forwarded. Resolves to the Response. */
  async function send(path, { method, signal, token, networkMessage }) {
    // Own controller so a timeout can abort too.
    const controller = new AbortController();
    const onAbort = () => controller.abort(signal.reason);
    signal?.addEventListener('abort', onAbort, { once: true });
    if (signal?.aborted) onAbort();
    let timedOut = false;
    const timer = setTimeout(() => {
      timedOut = true;
      controller.abort();
    }, REQUEST_TIMEOUT_MS);

    const headers = { Accept: 'application/json' };
    if (token) headers.Authorization = token;
    try {
      return await fetch(apiEndpoint + path, {
        method,
        headers,
        signal: controller.signal,
        // The visitor's own state must never come from a cache.
        cache: token ? 'no-store' : 'default',
      });
    } catch (error) {
      if (timedOut) throw new ApiError('The Mysfits service is taking too long to answer. Please try again.');
      if (signal?.aborted) throw error;
      throw new ApiError(networkMessage);
    } finally {
      clearTimeout(timer);
      signal?.removeEventListener('abort', onAbort);
    }
  }

  const mysfitPath = (mysfitId) => '/mysfits/' + encodeURIComponent(mysfitId);

  /** The answer of a like, unlike or adopt: {mysfitId, likes, liked, adopted, adoptedByYou}. */
  function writeResult(body, mysfitId) {
    const likes = Number(body.likes);
    return {
      mysfitId: typeof body.mysfitId === 'string' ? body.mysfitId : mysfitId,
      likes: Number.isFinite(likes) && likes >= 0 ? likes : null,
      liked: body.liked === true,
      adopted: body.adopted === true,
      adoptedByYou: body.adoptedByYou === true,
    };
  }

  return {
    /** Every mysfit, or only those matching all of `filters` ({GoodEvil: 'Evil', ...}); the server filters. */
    async listMysfits(filters, options) {
      const params = new URLSearchParams();
      for (const [name, value] of Object.entries(filters ?? {})) params.set(FILTER_PARAMS[name], value);
      const query = params.size ? `?${params}` : '';
      const body = await request('/mysfits' + query, options);
      if (!Array.isArray(body.mysfits)) {
        throw new ApiError('The Mysfits service sent an answer we could not read. Please try again.');
      }
      return body.mysfits;
    },

    /** One mysfit, always fetched fresh. */
    getMysfit(mysfitId, options) {
      return request(mysfitPath(mysfitId), options);
    },

    /** The signed-in visitor likes `mysfitId` (idempotent). */
    async like(mysfitId, options) {
      const body = await request(mysfitPath(mysfitId) + '/like', { ...options, method: 'POST', signedIn: true });
      return writeResult(body, mysfitId);
    },

    /** Takes the signed-in visitor's like back (idempotent). */
    async unlike(mysfitId, options) {
      const body = await request(mysfitPath(mysfitId) + '/like', { ...options, method: 'DELETE', signedIn: true });
      return writeResult(body, mysfitId);
    },

    /** Adopts `mysfitId`; an ApiError with status 409 when someone adopted it before. */
    async adopt(mysfitId, options) {
      const body = await request(mysfitPath(mysfitId) + '/adopt', { ...options, method: 'POST', signedIn: true });
      return writeResult(body, mysfitId);
    },

    /** What the signed-in visitor likes and adopted: {userId, liked: [ids], adopted: [ids]}. */
    async me(options) {
      const body = await request('/me', { ...options, signedIn: true });
      const ids = (list) => (Array.isArray(list) ? list.filter((id) => typeof id === 'string') : []);
      return { userId: body.userId ?? null, liked: ids(body.liked), adopted: ids(body.adopted) };
    },
  };
}

/**
 * The first view's two requests, started when this module first runs: the settings, then every
 * mysfit (the grid and the species filter are drawn from the whole catalog). index.html runs this
 * module on its own, async, so they go out while the page is still being laid out rather than
 * after every module has loaded and run. The app takes them once (`takeFirstView`); a retry
 * makes its own requests.
 */
let firstView = (() => {
  const config = loadConfig();
  const mysfits = config.then((settings) => createApi(settings).listMysfits(null));
  // Whoever takes them handles their failure; untaken, a failure is not an unhandled rejection.
  config.catch(() => {});
  mysfits.catch(() => {});
  return { config, mysfits };
})();

/** The first view's requests ({config, mysfits}, both promises) the first time; null after. */
export function takeFirstView() {
  const taken = firstView;
  firstView = null;
  return taken;
}
