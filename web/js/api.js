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

/** An API client bound to one endpoint. */
export function createApi({ apiEndpoint }) {
  async function getJson(path, { signal } = {}) {
    // Own controller so a timeout can abort too; the caller's signal is forwarded.
    const controller = new AbortController();
    const onAbort = () => controller.abort(signal.reason);
    signal?.addEventListener('abort', onAbort, { once: true });
    if (signal?.aborted) onAbort();
    let timedOut = false;
    const timer = setTimeout(() => {
      timedOut = true;
      controller.abort();
    }, REQUEST_TIMEOUT_MS);

    try {
      let response;
      try {
        response = await fetch(apiEndpoint + path, {
          headers: { Accept: 'application/json' },
          signal: controller.signal,
        });
      } catch (error) {
        if (timedOut) throw new ApiError('The Mysfits service is taking too long to answer. Please try again.');
        if (signal?.aborted) throw error;
        throw new ApiError("We couldn't reach the Mysfits service. Please check your connection and try again.");
      }
      const body = await response.json().catch(() => null);
      if (!response.ok) {
        const apiMessage = typeof body?.error?.message === 'string' ? body.error.message : '';
        throw new ApiError(apiMessage || `The Mysfits service had a problem (error ${response.status}). Please try again.`, {
          status: response.status,
          code: body?.error?.code ?? '',
        });
      }
      if (body === null || typeof body !== 'object') {
        throw new ApiError('The Mysfits service sent an answer we could not read. Please try again.');
      }
      return body;
    } finally {
      clearTimeout(timer);
      signal?.removeEventListener('abort', onAbort);
    }
  }

  return {
    /** Every mysfit, or only those matching `filter` ({name, value}); the server filters. */
    async listMysfits(filter, options) {
      const query = filter ? '?' + new URLSearchParams({ filter: filter.name, value: filter.value }) : '';
      const body = await getJson('/mysfits' + query, options);
      if (!Array.isArray(body.mysfits)) {
        throw new ApiError('The Mysfits service sent an answer we could not read. Please try again.');
      }
      return body.mysfits;
    },

    /** One mysfit, always fetched fresh. */
    getMysfit(mysfitId, options) {
      return getJson('/mysfits/' + encodeURIComponent(mysfitId), options);
    },
  };
}
