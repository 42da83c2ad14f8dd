// The account controls in the header and the auth dialog (register → confirm → log in).

import { ruleList, unmetPasswordRules } from './auth.js';
import { notice } from './notice.js';
import { keepFocusIn } from './views.js';

const $ = (selector) => document.querySelector(selector);

const TITLES = { register: 'Create an account', confirm: 'Confirm your email', login: 'Log in' };
const BUSY_LABELS = { register: 'Creating account…', confirm: 'Confirming…', login: 'Logging in…' };
const EMAIL_PATTERN = /^[^\s@]+@[^\s@]+\.[^\s@]+$/;

/**
 * Wires the header and the auth dialog to `auth` (from auth.js; null when the site has no
 * user pool configured). Returns {open(step, options), render()}.
 */
export function createAccountUi(auth) {
  const controls = $('#account-controls');
  const groups = {
    out: controls.querySelector('[data-when="logged-out"]'),
    in: controls.querySelector('[data-when="logged-in"]'),
  };
  const loginButton = $('#login-button');
  const registerButton = $('#register-button');
  const logoutButton = $('#logout-button');
  const accountEmail = $('#account-email');

  const dialog = $('#auth-dialog');
  keepFocusIn(dialog);
  const title = $('#auth-title');
  const message = $('#auth-message');
  const forms = { register: $('#register-form'), confirm: $('#confirm-form'), login: $('#login-form') };
  const fields = {
    registerEmail: $('#register-email'),
    registerPassword: $('#register-password'),
    confirmCode: $('#confirm-code'),
    loginEmail: $('#login-email'),
    loginPassword: $('#login-password'),
  };
  const confirmEmail = $('#confirm-email');
  const confirmHint = $('#confirm-hint');
  const resendButton = $('#resend-code');
  // The checklist under the password: the user pool's rules, as config.json gives them.
  const rules = auth?.passwordRules ?? [];
  const policyItems = rules.map((rule) => {
    const item = document.createElement('li');
    item.dataset.rule = rule.id;
    item.textContent = rule.text;
    return item;
  });
  $('#password-policy .policy__rules').replaceChildren(...policyItems);
  $('#password-policy').hidden = !rules.length;

  let pendingEmail = ''; // the email carried from register (or a refused log-in) to confirm
  // The password typed with it, kept in this closure only until the email is confirmed, so the
  // visitor is logged in then without typing it again; forgotten when the dialog closes.
  let pendingPassword = '';
  let opener = null; // where focus goes back to when the dialog closes
  let busy = false;

  // -- header -----------------------------------------------------------------------

  function render() {
    if (!auth) {
      controls.dataset.state = 'unavailable';
      groups.out.hidden = true;
      groups.in.hidden = true;
      return;
    }
    const loggedIn = auth.loggedIn;
    controls.dataset.state = loggedIn ? 'logged-in' : 'logged-out';
    groups.out.hidden = loggedIn;
    groups.in.hidden = !loggedIn;
    accountEmail.textContent = loggedIn ? auth.email : '';
  }

  loginButton.addEventListener('click', () => open('login', { opener: loginButton }));
  registerButton.addEventListener('click', () => open('register', { opener: registerButton }));
  logoutButton.addEventListener('click', () => {
    auth?.logOut();
    render();
    notice.show('You have logged out. See you soon!', { tone: 'success' });
    loginButton.focus(); // the log-out button is gone; its neighbour takes the focus
  });

  // -- dialog -----------------------------------------------------------------------

  function say(text, tone = 'info') {
    message.textContent = text;
    message.dataset.tone = tone;
  }

  function clearMessage() {
    message.textContent = '';
    delete message.dataset.tone;
  }

  function markInvalid(input, invalid) {
    if (invalid) input.setAttribute('aria-invalid', 'true');
    else input.removeAttribute('aria-invalid');
  }

  function setStep(step, { focus = true } = {}) {
    dialog.dataset.step = step;
    title.textContent = TITLES[step];
    for (const [name, form] of Object.entries(forms)) form.hidden = name !== step;
    for (const input of Object.values(fields)) markInvalid(input, false);
    if (step === 'confirm') {
      confirmEmail.textContent = pendingEmail;
      fields.confirmCode.value = '';
    }
    if (focus) focusFirstEmpty(step);
  }

  function focusFirstEmpty(step) {
    const inputs = [...forms[step].querySelectorAll('input:not([type=checkbox])')];
    (inputs.find((input) => !input.value) ?? inputs[0])?.focus();
  }

  /**
   * Opens the dialog at `step` ("register" | "confirm" | "login"). Options: `message` to show
   * (e.g. "Log in to like mysfits"), `email` to fill in, `opener` to focus again on close.
   */
  function open(step = 'login', options = {}) {
    if (!auth) {
      notice.show('Accounts are not available on this site right now. Please try again later.', { tone: 'error' });
      return;
    }
    opener = options.opener ?? (document.activeElement instanceof HTMLElement ? document.activeElement : null);
    const email = options.email ?? auth.email ?? '';
    if (email) {
      if (!fields.loginEmail.value) fields.loginEmail.value = email;
      if (!fields.registerEmail.value) fields.registerEmail.value = email;
    }
    if (options.message) say(options.message);
    else clearMessage();
    if (!dialog.open) dialog.showModal();
    setStep(step);
  }

  function close() {
    if (dialog.open) dialog.close();
  }

  dialog.querySelector('[data-testid="auth-close"]').addEventListener('click', close);

  dialog.addEventListener('close', () => {
    fields.registerPassword.value = '';
    fields.loginPassword.value = '';
    pendingPassword = '';
    for (const box of dialog.querySelectorAll('[data-show-password]')) {
      box.checked = false;
      $(`#${box.dataset.showPassword}`).type = 'password';
    }
    updatePolicy();
    const target = opener;
    opener = null;
    if (target?.isConnected && target.checkVisibility?.() !== false && target !== loginButton && target !== registerButton) {
      target.focus();
    } else {
      (auth?.loggedIn ? logoutButton : loginButton).focus();
    }
  });

  for (const link of dialog.querySelectorAll('[data-go-step]')) {
    link.addEventListener('click', () => {
      const step = link.dataset.goStep;
      // The email typed so far comes along.
      if (step === 'login' && !fields.loginEmail.value) fields.loginEmail.value = fields.registerEmail.value.trim();
      if (step === 'register' && !fields.registerEmail.value) fields.registerEmail.value = fields.loginEmail.value.trim();
      clearMessage();
      setStep(step);
    });
  }

  for (const box of dialog.querySelectorAll('[data-show-password]')) {
    box.addEventListener('change', () => {
      $(`#${box.dataset.showPassword}`).type = box.checked ? 'text' : 'password';
    });
  }

  // The policy ticks each rule off as the visitor types.
  function updatePolicy() {
    const password = fields.registerPassword.value;
    rules.forEach((rule, index) => {
      policyItems[index].dataset.met = String(Boolean(password) && rule.test(password));
    });
  }
  fields.registerPassword.addEventListener('input', () => {
    updatePolicy();
    if (fields.registerPassword.getAttribute('aria-invalid') && !unmetPasswordRules(rules, fields.registerPassword.value).length) {
      markInvalid(fields.registerPassword, false);
    }
  });

  if (auth?.localStack) {
    confirmHint.hidden = false;
    fields.confirmCode.setAttribute('aria-describedby', 'confirm-hint');
    resendButton.hidden = true; // nothing is sent here, and any code works
  }

  /** Runs `task` with the form's submit button busy; AuthErrors become the dialog's message. */
  async function submitting(step, task) {
    if (busy) return;
    busy = true;
    const submit = forms[step].querySelector('.auth__submit');
    const label = submit.textContent;
    submit.setAttribute('aria-disabled', 'true');
    submit.textContent = BUSY_LABELS[step];
    dialog.setAttribute('aria-busy', 'true');
    try {
      await task();
    } catch (error) {
      say(error?.name === 'AuthError' ? error.message : 'Something went wrong on our side. Please try again.', 'error');
    } finally {
      busy = false;
      submit.removeAttribute('aria-disabled');
      submit.textContent = label;
      dialog.removeAttribute('aria-busy');
    }
  }

  /** Checks `email`; shows why not and focuses the field when it is not usable. */
  function checkEmail(input) {
    const email = input.value.trim().toLowerCase();
    const ok = EMAIL_PATTERN.test(email);
    markInvalid(input, !ok);
    if (!ok) {
      say(email ? 'Please enter a valid email address, like name@example.com.' : 'Please enter your email address.', 'error');
      input.focus();
    }
    return ok ? email : null;
  }

  forms.register.addEventListener('submit', (event) => {
    event.preventDefault();
    const email = checkEmail(fields.registerEmail);
    if (!email) return;
    const password = fields.registerPassword.value;
    const unmet = unmetPasswordRules(rules, password);
    markInvalid(fields.registerPassword, unmet.length > 0);
    if (unmet.length) {
      say(`Your password still needs ${ruleList(unmet)}.`, 'error');
      fields.registerPassword.focus();
      return;
    }
    submitting('register', async () => {
      try {
        const { confirmed } = await auth.signUp(email, password);
        pendingEmail = email;
        pendingPassword = password;
        fields.loginEmail.value = email;
        if (confirmed) {
          say('Your account is ready. Log in to start liking mysfits.', 'success');
          setStep('login');
          return;
        }
        say(
          auth.localStack
            ? 'Account created. Confirm your email to finish.'
            : `Account created. We sent a confirmation code to ${email}.`,
          'success',
        );
        setStep('confirm');
      } catch (error) {
        if (error.code === 'InvalidPasswordException') markInvalid(fields.registerPassword, true);
        if (error.code === 'UsernameExistsException') fields.loginEmail.value = email;
        throw error;
      }
    });
  });

  forms.confirm.addEventListener('submit', (event) => {
    event.preventDefault();
    const code = fields.confirmCode.value.trim();
    if (!code) {
      markInvalid(fields.confirmCode, true);
      say('Please enter the confirmation code.', 'error');
      fields.confirmCode.focus();
      return;
    }
    if (!pendingEmail) {
      say('Please register first.', 'error');
      setStep('register');
      return;
    }
    submitting('confirm', async () => {
      try {
        await auth.confirmSignUp(pendingEmail, code);
        if (pendingPassword && (await logInConfirmed())) return;
        say('Your email is confirmed. Log in with your password.', 'success');
      } catch (error) {
        if (error.code !== 'NotAuthorizedException') {
          if (error.code === 'CodeMismatchException' || error.code === 'ExpiredCodeException') {
            markInvalid(fields.confirmCode, true);
            fields.confirmCode.focus();
          }
          throw error;
        }
        say(error.message, 'info'); // already confirmed: logging in is the next step anyway
      }
      fields.loginEmail.value = pendingEmail;
      fields.loginPassword.value = '';
      setStep('login');
    });
  });

  /** Logs the just-confirmed visitor in with the password they registered (or tried) with. */
  async function logInConfirmed() {
    const [email, password] = [pendingEmail, pendingPassword];
    pendingPassword = '';
    try {
      await auth.logIn(email, password);
    } catch {
      return false; // e.g. a password changed elsewhere meanwhile: the log-in step asks for it
    }
    clearMessage();
    notice.show(`Your email is confirmed. You are logged in as ${email}.`, { tone: 'success' });
    close();
    return true;
  }

  resendButton.addEventListener('click', async () => {
    if (!pendingEmail || busy || resendButton.hasAttribute('aria-disabled')) return;
    resendButton.setAttribute('aria-disabled', 'true');
    try {
      await auth.resendCode(pendingEmail);
      say(`We sent a new code to ${pendingEmail}.`, 'success');
    } catch (error) {
      say(error?.name === 'AuthError' ? error.message : 'Something went wrong on our side. Please try again.', 'error');
    } finally {
      resendButton.removeAttribute('aria-disabled');
    }
  });

  forms.login.addEventListener('submit', (event) => {
    event.preventDefault();
    const email = checkEmail(fields.loginEmail);
    if (!email) return;
    const password = fields.loginPassword.value;
    markInvalid(fields.loginPassword, !password);
    if (!password) {
      say('Please enter your password.', 'error');
      fields.loginPassword.focus();
      return;
    }
    submitting('login', async () => {
      try {
        await auth.logIn(email, password);
      } catch (error) {
        if (error.code === 'UserNotConfirmedException') {
          pendingEmail = email;
          pendingPassword = password;
          say(error.message, 'info');
          setStep('confirm');
          return;
        }
        if (error.code === 'NotAuthorizedException' || error.code === 'UserNotFoundException') {
          markInvalid(fields.loginPassword, true);
          fields.loginPassword.focus();
        }
        throw error;
      }
      fields.loginPassword.value = '';
      clearMessage();
      notice.show(`You are logged in as ${email}.`, { tone: 'success' });
      close();
    });
  });

  auth?.onChange(render);
  updatePolicy();
  render();
  return { open, close, render };
}
