// Visitor accounts: Amazon Cognito's JSON API called with fetch (no SDK), and the session
// (tokens + email) kept in localStorage so a visitor stays logged in across reloads.
//
// Every failure surfaces as an AuthError whose `message` is friendly enough to show and
// whose `code` is Cognito's exception name without its namespace ("CodeMismatchException").

const REQUEST_TIMEOUT_MS = 15000;
const NETWORK_MESSAGE = 'Could not reach Mythical Mysfits. Check your connection and try again.';

/** The localStorage keys of the session. */
export const STORAGE_KEYS = {
  idToken: 'mysfits.idToken',
  accessToken: 'mysfits.accessToken',
  refreshToken: 'mysfits.refreshToken',
  email: 'mysfits.email',
};

/** What each flag of a password policy requires (Cognito's flags, as config.json names them). */
const CHARACTER_RULES = [
  { flag: 'requireUppercase', id: 'upper', text: 'an uppercase letter', pattern: /[A-Z]/ },
  { flag: 'requireLowercase', id: 'lower', text: 'a lowercase letter', pattern: /[a-z]/ },
  { flag: 'requireNumbers', id: 'number', text: 'a number', pattern: /[0-9]/ },
  // Cognito's symbols: ^ $ * . [ ] { } ( ) ? " ! @ # % & / \ , > < ' : ; | _ ~ ` = + - and space.
  { flag: 'requireSymbols', id: 'symbol', text: 'a symbol (such as ! ? # or -)', pattern: /[\^$*.[\]{}()?"!@#%&/\\,><':;|_~`=+\- ]/ },
];

/**
 * The user pool's password rules, from its policy as config.json gives it (`passwordPolicy`,
 * written from the identity template the pool is made from): what the register form shows and
 * checks before Cognito does. None without a policy (Cognito still says what it refuses).
 */
export function passwordRules(policy) {
  const rules = [];
  const length = Number(policy?.minimumLength);
  if (Number.isInteger(length) && length > 0) {
    rules.push({ id: 'length', text: `at least ${length} characters`, test: (password) => password.length >= length });
  }
  for (const { flag, pattern, ...rule } of CHARACTER_RULES) {
    if (policy?.[flag] === true) rules.push({ ...rule, test: (password) => pattern.test(password) });
  }
  return rules;
}

/** The `rules` that `password` does not meet (empty when it is acceptable). */
export function unmetPasswordRules(rules, password) {
  return rules.filter((rule) => !rule.test(String(password ?? '')));
}

/** "A, B and C": the rules' texts as one list. */
export function ruleList(rules) {
  const texts = rules.map((rule) => rule.text);
  return texts.length > 1 ? `${texts.slice(0, -1).join(', ')} and ${texts.at(-1)}` : (texts[0] ?? '');
}

export class AuthError extends Error {
  constructor(message, { code = '', status = 0 } = {}) {
    super(message);
    this.name = 'AuthError';
    this.code = code;
    this.status = status;
  }
}

/** Friendly text per Cognito exception; `action` picks wording where it matters. */
function friendlyMessage(code, action, rules) {
  switch (code) {
    case 'UsernameExistsException':
      return 'An account with this email already exists. Log in instead.';
    case 'InvalidPasswordException':
      return rules.length
        ? `That password is not accepted. It needs ${ruleList(rules)}.`
        : 'That password is not accepted. Please choose a stronger one.';
    case 'NotAuthorizedException':
      if (action === 'ConfirmSignUp') return 'This account is already confirmed. Log in.';
      if (action === 'InitiateAuth') return 'That email and password do not match. Check them and try again.';
      return 'Your session has ended. Please log in again.';
    case 'UserNotFoundException':
      if (action === 'InitiateAuth') return 'That email and password do not match. Check them and try again.';
      return 'We could not find an account with this email. Register first.';
    case 'UserNotConfirmedException':
      return 'Please confirm your email first: enter the code we sent you.';
    case 'CodeMismatchException':
      return 'That code is not right. Check it and try again.';
    case 'ExpiredCodeException':
      return 'That code has expired. Ask for a new one and try again.';
    case 'InvalidParameterException':
      return 'Please check the email address and try again.';
    case 'CodeDeliveryFailureException':
      return 'We could not send the confirmation code to this email. Check the address and try again.';
    case 'LimitExceededException':
    case 'TooManyRequestsException':
    case 'TooManyFailedAttemptsException':
      return 'Too many attempts. Please wait a moment and try again.';
    case 'PasswordResetRequiredException':
      return 'This account needs a new password before it can log in. Please contact us.';
    default:
      return 'Something went wrong on our side. Please try again.';
  }
}

/** The JSON payload of a JWT (base64url), or null. */
export function jwtPayload(token) {
  try {
    const part = String(token).split('.')[1];
    const base64 = part.replace(/-/g, '+').replace(/_/g, '/').padEnd(Math.ceil(part.length / 4) * 4, '=');
    const bytes = Uint8Array.from(atob(base64), (char) => char.charCodeAt(0));
    const payload = JSON.parse(new TextDecoder().decode(bytes));
    return payload && typeof payload === 'object' ? payload : null;
  } catch {
    return null;
  }
}

function readStorage(key) {
  try {
    return localStorage.getItem(key);
  } catch {
    return null; // storage blocked: the session lasts as long as the page
  }
}

function writeStorage(key, value) {
  try {
    if (value === null || value === undefined) localStorage.removeItem(key);
    else localStorage.setItem(key, value);
  } catch {
    // storage blocked or full: the in-memory session still works
  }
}

/** The Cognito client for `config` and the visitor's session. Null when the site has no pool configured. */
export function createAuth(config) {
  const clientId = config?.userPoolClientId;
  const endpoint =
    config?.cognitoEndpoint || (config?.region ? `https://cognito-idp.${config.region}.amazonaws.com/` : '');
  if (typeof clientId !== 'string' || !clientId || typeof endpoint !== 'string' || !endpoint) return null;

  const rules = passwordRules(config.passwordPolicy);
  const listeners = new Set();
  let session = loadSession();
  let refreshing = null; // the refresh in flight, shared by everyone who needs a token
  let refreshTimer = 0;

  function loadSession() {
    const stored = {
      idToken: readStorage(STORAGE_KEYS.idToken),
      accessToken: readStorage(STORAGE_KEYS.accessToken),
      refreshToken: readStorage(STORAGE_KEYS.refreshToken),
      email: readStorage(STORAGE_KEYS.email),
    };
    return stored.idToken && stored.refreshToken && stored.email ? stored : null;
  }

  function saveSession(next) {
    session = next;
    for (const [name, key] of Object.entries(STORAGE_KEYS)) writeStorage(key, next?.[name] ?? null);
    schedule();
  }

  function emit(reason) {
    for (const listener of listeners) listener({ loggedIn: Boolean(session), email: session?.email ?? null, reason });
  }

  async function call(action, body) {
    const controller = new AbortController();
    const timer = setTimeout(() => controller.abort(), REQUEST_TIMEOUT_MS);
    let response;
    try {
      response = await fetch(endpoint, {
        method: 'POST',
        headers: {
          'Content-Type': 'application/x-amz-json-1.1',
          'X-Amz-Target': `AWSCognitoIdentityProviderService.${action}`,
        },
        body: JSON.stringify(body),
        signal: controller.signal,
        cache: 'no-store',
      });
    } catch {
      throw new AuthError(NETWORK_MESSAGE, { code: 'NetworkError' });
    } finally {
      clearTimeout(timer);
    }
    const data = await response.json().catch(() => null);
    if (!response.ok) {
      // "__type" may carry a namespace ("...#NotAuthorizedException") or a suffix (":http...").
      const raw = String(data?.__type || response.headers.get('x-amzn-ErrorType') || '');
      const code = raw.split('#').pop().split(':')[0].trim();
      throw new AuthError(friendlyMessage(code, action, rules), { code, status: response.status });
    }
    return data ?? {};
  }

  /** When the ID token expires, in ms since the epoch (null if it cannot be read). */
  function expiresAt(token) {
    const exp = Number(jwtPayload(token)?.exp);
    return Number.isFinite(exp) && exp > 0 ? exp * 1000 : null;
  }

  /** How long before expiry to refresh: a minute, or a fifth of a shorter lifetime. */
  function refreshMargin(token) {
    const payload = jwtPayload(token);
    const lifetime = (Number(payload?.exp) - Number(payload?.iat)) * 1000;
    return Number.isFinite(lifetime) && lifetime > 0 ? Math.min(60000, lifetime / 5) : 60000;
  }

  function needsRefresh(token) {
    const expiry = expiresAt(token);
    return expiry !== null && Date.now() >= expiry - Math.min(refreshMargin(token), 10000);
  }

  function schedule() {
    clearTimeout(refreshTimer);
    refreshTimer = 0;
    if (!session) return;
    const expiry = expiresAt(session.idToken);
    if (expiry === null) return; // unreadable: a 401 from the API triggers the refresh instead
    const delay = Math.min(Math.max(expiry - refreshMargin(session.idToken) - Date.now(), 0), 2 ** 31 - 1);
    refreshTimer = setTimeout(() => refresh().catch(() => {}), delay);
  }

  /**
   * Gets a new ID token with the refresh token. Resolves to it, or to null when the session
   * is gone (a rejected refresh token logs the visitor out quietly). A network failure keeps
   * the session and rejects, so a short outage does not log anyone out.
   */
  function refresh() {
    if (!session) return Promise.resolve(null);
    if (refreshing) return refreshing;
    const current = session;
    refreshing = (async () => {
      try {
        const result = await call('InitiateAuth', {
          AuthFlow: 'REFRESH_TOKEN_AUTH',
          ClientId: clientId,
          AuthParameters: { REFRESH_TOKEN: current.refreshToken },
        });
        const tokens = result.AuthenticationResult;
        if (!tokens?.IdToken) throw new AuthError('Your session has ended. Please log in again.', { code: 'NoTokens' });
        if (session !== current) return session?.idToken ?? null; // logged out or in again meanwhile
        saveSession({
          ...current,
          idToken: tokens.IdToken,
          accessToken: tokens.AccessToken || current.accessToken,
          refreshToken: tokens.RefreshToken || current.refreshToken, // usually absent: keep the old one
        });
        emit('refresh');
        return session.idToken;
      } catch (error) {
        if (error.code === 'NetworkError') {
          clearTimeout(refreshTimer);
          refreshTimer = setTimeout(() => refresh().catch(() => {}), 30000); // try again later
          throw error;
        }
        if (session === current) {
          saveSession(null);
          emit('expired');
        }
        return null;
      } finally {
        refreshing = null;
      }
    })();
    return refreshing;
  }

  // Another tab logged in, out or refreshed.
  window.addEventListener('storage', (event) => {
    if (event.key !== null && !Object.values(STORAGE_KEYS).includes(event.key)) return;
    const before = session;
    session = loadSession();
    schedule();
    if (Boolean(before) !== Boolean(session) || before?.email !== session?.email) emit('storage');
  });

  // Timers are throttled in background tabs and stop while the computer sleeps.
  const wake = () => {
    if (session && needsRefresh(session.idToken)) refresh().catch(() => {});
  };
  document.addEventListener('visibilitychange', () => {
    if (document.visibilityState === 'visible') wake();
  });
  window.addEventListener('online', wake);

  return {
    /** Is someone logged in (from this tab's point of view)? */
    get loggedIn() {
      return Boolean(session);
    },
    get email() {
      return session?.email ?? null;
    },
    /** The logged-in visitor's id (the token's `sub`), or null. */
    get userId() {
      const sub = jwtPayload(session?.idToken)?.sub;
      return typeof sub === 'string' && sub ? sub : null;
    },
    /** "On this local stack no email is sent": the confirmation code is not checked. */
    localStack: config.localStack === true,
    /** The user pool's password rules (from config.json's `passwordPolicy`): see `passwordRules`. */
    passwordRules: rules,

    /** listener({loggedIn, email, reason}); reason: login | logout | expired | refresh | storage. */
    onChange(listener) {
      listeners.add(listener);
      return () => listeners.delete(listener);
    },

    /** On page load: refreshes an expired session (or one about to expire), quietly. */
    async resume() {
      if (!session) return;
      schedule();
      if (needsRefresh(session.idToken)) await refresh().catch(() => {});
    },

    /** The ID token for the API, refreshed first when it has (nearly) expired; null if logged out. */
    async idToken() {
      if (!session) return null;
      if (needsRefresh(session.idToken)) return refresh();
      return session.idToken;
    },

    refresh,

    /** Resolves to {confirmed}: true when the pool confirmed the account itself. */
    async signUp(email, password) {
      const result = await call('SignUp', {
        ClientId: clientId,
        Username: email,
        Password: password,
        UserAttributes: [{ Name: 'email', Value: email }],
      });
      return { confirmed: result.UserConfirmed === true };
    },

    async confirmSignUp(email, code) {
      await call('ConfirmSignUp', { ClientId: clientId, Username: email, ConfirmationCode: code });
    },

    async resendCode(email) {
      await call('ResendConfirmationCode', { ClientId: clientId, Username: email });
    },

    async logIn(email, password) {
      const result = await call('InitiateAuth', {
        AuthFlow: 'USER_PASSWORD_AUTH',
        ClientId: clientId,
        AuthParameters: { USERNAME: email, PASSWORD: password },
      });
      const tokens = result.AuthenticationResult;
      if (!tokens?.IdToken || !tokens.RefreshToken) {
        // A challenge (new password, MFA...) this site does not handle.
        throw new AuthError('This account needs a step this site cannot do yet. Please contact us.', {
          code: result.ChallengeName || 'UnsupportedChallenge',
        });
      }
      saveSession({ idToken: tokens.IdToken, accessToken: tokens.AccessToken, refreshToken: tokens.RefreshToken, email });
      emit('login');
    },

    /** Clears the session now; the global sign-out is best-effort and not waited for. */
    logOut({ reason = 'logout' } = {}) {
      const accessToken = session?.accessToken;
      if (!session) return;
      saveSession(null);
      emit(reason);
      if (accessToken) call('GlobalSignOut', { AccessToken: accessToken }).catch(() => {});
    },
  };
}
