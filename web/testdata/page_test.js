// Exercises static/page.js (with the real recorder, or tdna.js over a stand-in
// TypingDNA recorder, and the real device.js over Node's WebCrypto and a
// stand-in IndexedDB) against a minimal stand-in DOM and a fake fetch, one
// scenario per server answer and stage. Run by web_test.go (TestScripts); the
// browser test (host/internal/browsertest) drives the same page in Chromium.
'use strict';

const fs = require('fs');
const path = require('path');
const vm = require('vm');

const read = (name) => fs.readFileSync(path.join(__dirname, '..', 'static', name), 'utf8');
const recorderJS = read('recorder.js');
const tdnaJS = read('tdna.js');
const pageJS = read('page.js');
const deviceJS = read('device.js');
const nodeCrypto = require('crypto');

// Texts are their own keys followed by their placeholders, e.g. "msg.miss {left}",
// so a test sees which text was shown with which values.
const TEXTS = {};
for (const k of ['challenge.lead', 'disable.done', 'disable.title', 'input.submit', 'locked.link', 'motion.denied',
  'msg.bad_pattern', 'msg.checking', 'msg.empty', 'msg.enroll_done', 'msg.length', 'msg.link_dead', 'msg.network',
  'msg.position', 'msg.position_retry', 'msg.rate', 'msg.recorder', 'msg.server', 'msg.token_dead', 'msg.untimed',
  'phone.invalid', 'phone.mismatch', 'phone.mismatch_once', 'reset.after', 'reset.title', 'resetnow.done',
  'result.copied', 'result.copy_failed', 'result.ok', 'terms.required', 'msg.crypto', 'msg.phrase_enroll']) {
  TEXTS[k] = k;
}
Object.assign(TEXTS, {
  'enroll.progress': 'enroll.progress {done}/{required}',
  'msg.enroll_next': 'msg.enroll_next {done}/{required}',
  'msg.miss': 'msg.miss {left}',
  'msg.phrase': 'msg.phrase {left}',
  'msg.device_strict': 'msg.device_strict {left}',
  'locked.user': 'locked.user {minutes}',
  'reset.done': 'reset.done {delay} ({time})',
  'result.code_label': 'result.code_label {digits}',
  'unit.hours': '{n} h',
  'unit.minutes': '{n} min',
});

const IDS = ['page', 'texts', 'status', 'langs', 'lead', 'enroll', 'progress', 'progress-text', 'motion', 'motion-allow',
  'form', 'typed-status', 'typed', 'submit', 'consent', 'terms',
  'stage-challenge', 'stage-result', 'stage-locked', 'stage-device', 'stage-reset', 'stage-disable', 'stage-done',
  'challenge-title', 'result-title', 'locked-title', 'device-title', 'reset-title', 'disable-title', 'done-title', 'device-reset',
  'otp', 'copy', 'result-status', 'resetnow', 'resetnow-text', 'resetnow-form', 'resetnow-phone', 'resetnow-submit', 'resetnow-skip',
  'disable-open', 'disable-form', 'disable-phone', 'disable-submit', 'disable-back',
  'locked-text', 'reset-open', 'reset-form', 'reset-phone', 'reset-submit', 'reset-back', 'done-text', 'done-more'];
const BUTTONS = {
  form: ['submit'], 'resetnow-form': ['resetnow-submit', 'resetnow-skip'],
  'disable-form': ['disable-submit', 'disable-back'], 'reset-form': ['reset-submit', 'reset-back'],
};

function element(id, els) {
  const handlers = {};
  const attrs = {};
  return {
    id,
    hidden: false,
    textContent: '',
    className: '',
    value: '',
    disabled: false,
    checked: false,
    dataset: {},
    focused: 0,
    addEventListener(type, fn) { (handlers[type] = handlers[type] || []).push(fn); },
    removeEventListener(type, fn) { handlers[type] = (handlers[type] || []).filter((f) => f !== fn); },
    fire(type, props) {
      const ev = Object.assign({ type, target: this, timeStamp: 0, preventDefault() { this.prevented = true; }, getModifierState: () => false }, props);
      (handlers[type] || []).forEach((fn) => fn(ev));
      return ev;
    },
    setAttribute(k, v) { attrs[k] = String(v); },
    removeAttribute(k) { delete attrs[k]; },
    getAttribute(k) { return k in attrs ? attrs[k] : null; },
    querySelectorAll(sel) { return sel === 'button' ? (BUTTONS[id] || []).map((b) => els[b]) : []; },
    focus() { this.focused++; els.focus = id; },
  };
}

// page builds the DOM, loads the scripts and returns handles for a scenario.
// answers is a list of fetch answers, used in order: {status, body} or 'network'.
function page(answers, opts) {
  opts = opts || {};
  let clock = 1000;
  const els = {};
  for (const id of IDS) {
    els[id] = element(id, els);
  }
  for (const id of ['stage-result', 'stage-locked', 'stage-device', 'stage-reset', 'stage-disable', 'stage-done', 'copy', 'resetnow', 'disable-open', 'motion']) {
    els[id].hidden = true;
  }
  if (opts.stage === 'locked') {
    els['stage-challenge'].hidden = true;
    els['stage-locked'].hidden = false;
  }
  if (!opts.terms) {
    delete els.terms;
    delete els.consent;
  }
  if (opts.typedStatus) {
    els['typed-status'].scrolled = 0;
    els['typed-status'].scrollIntoView = function () { this.scrolled++; };
  } else {
    delete els['typed-status']; // the shared region then serves the form too
  }
  els.texts.textContent = JSON.stringify(TEXTS);
  els.page.dataset = {
    stage: opts.stage || 'challenge', lang: 'en', cid: 'CID123', textId: '42', length: '3',
    enrolling: String(!!opts.enrolling), samples: String(opts.samples || 0), required: '3',
    engine: opts.tdna ? 'typingdna' : 'local', motion: String(!!opts.motion),
  };
  const requests = [];
  const windowHandlers = {};
  const copied = [];
  let next = 0;
  const win = {
    performance: { now: () => clock, mark() {} },
    isSecureContext: opts.secure !== false,
    crypto: opts.crypto === false ? undefined : trackedCrypto,
    indexedDB: opts.idb === false ? undefined : (opts.idb || fakeIndexedDB()),
    TextEncoder, btoa, setTimeout, clearTimeout,
    addEventListener(type, fn) { windowHandlers[type] = fn; },
    fetch(url, init) {
      requests.push({ url, init, body: JSON.parse(init.body) });
      const answer = answers[Math.min(next++, answers.length - 1)];
      if (answer === 'network') {
        return Promise.reject(new TypeError('Failed to fetch'));
      }
      return Promise.resolve({
        status: answer.status,
        json: () => (answer.body === undefined ? Promise.reject(new SyntaxError('no json')) : Promise.resolve(answer.body)),
      });
    },
  };
  if (opts.motionPermission) {
    win.DeviceMotionEvent = { requestPermission: () => Promise.resolve(opts.motionPermission) };
  }
  const navigator = opts.clipboard === false ? {} : { clipboard: { writeText: (s) => { copied.push(s); return Promise.resolve(); } } };
  const document = { getElementById: (id) => els[id] || null };
  const ctx = { window: win, document, navigator, fetch: win.fetch, console, performance: win.performance, Date };
  win.document = document;
  vm.createContext(ctx);
  if (opts.tdna) {
    if (opts.tdna !== 'missing') {
      ctx.window.TypingDNA = opts.tdna;
    }
    vm.runInContext(tdnaJS, ctx);
  } else {
    vm.runInContext(recorderJS, ctx);
  }
  vm.runInContext(deviceJS, ctx);
  vm.runInContext(pageJS, ctx);

  const input = els.typed;
  function type(text) {
    for (const ch of text) {
      clock += 150;
      input.fire('keydown', { key: ch, code: 'Key' + ch, keyCode: 65, timeStamp: clock });
      input.value += ch;
      input.fire('input', { inputType: 'insertText', timeStamp: clock });
      clock += 80;
      input.fire('keyup', { key: ch, code: 'Key' + ch, keyCode: 65, timeStamp: clock });
    }
  }
  return { els, requests, type, ctx, submit: (form) => fire(els[form || 'form'], 'submit'), click: (id) => fire(els[id], 'click'), copied, windowHandlers };
}

// cryptoPending counts the page's WebCrypto calls in flight. Node runs them on
// its thread pool, so they take as long as the machine is busy: settle waits
// for them instead of for a fixed time.
let cryptoPending = 0;
const trackedCrypto = {
  getRandomValues: (a) => globalThis.crypto.getRandomValues(a),
  subtle: new Proxy(globalThis.crypto.subtle, {
    get(target, prop) {
      const v = target[prop];
      if (typeof v !== 'function') return v;
      return (...args) => {
        cryptoPending++;
        return v.apply(target, args).finally(() => { cryptoPending--; });
      };
    },
  }),
};

// settle lets the page's promises and timers run: rounds of microtasks and a
// short timer, and, while a WebCrypto call is in flight, as many more rounds as
// it takes (up to 10 s, after which the test's own checks say what is missing).
async function settle() {
  const deadline = Date.now() + 10000;
  for (let round = 0; round < 8; round++) {
    for (let i = 0; i < 10; i++) await Promise.resolve();
    await new Promise((r) => setTimeout(r, 2));
    if (cryptoPending > 0 && Date.now() < deadline) round--;
  }
}

// fakeIndexedDB is an in-memory stand-in for what device.js uses of
// IndexedDB: open (with an upgrade), one object store, get and put, and
// transactions that complete. Like the real one, it stores values as they are
// (a CryptoKey stays a CryptoKey).
function fakeIndexedDB() {
  const stores = {};
  const later = (fn) => setTimeout(fn, 0);
  function req(run) {
    const r = {};
    later(() => { try { r.result = run(); r.onsuccess && r.onsuccess(); } catch (e) { r.error = e; r.onerror && r.onerror(); } });
    return r;
  }
  const db = {
    createObjectStore(name) { stores[name] = stores[name] || new Map(); },
    transaction(name) {
      const tx = {};
      let pending = 0;
      const done = () => later(() => { if (pending === 0 && tx.oncomplete) tx.oncomplete(); });
      tx.objectStore = () => ({
        get(k) { return req(() => stores[name].get(k)); },
        put(v, k) { pending++; return req(() => { stores[name].set(k, v); pending--; done(); }); },
      });
      return tx;
    },
  };
  let upgraded = false;
  return {
    stores,
    open() {
      const r = {};
      later(() => {
        r.result = db;
        if (!upgraded) { upgraded = true; r.onupgradeneeded && r.onupgradeneeded(); }
        r.onsuccess && r.onsuccess();
      });
      return r;
    },
  };
}

function hmac(cid, text) {
  return nodeCrypto.createHmac('sha256', cid).update(text).digest('base64url');
}

// verifySignature checks the device proof of a request body with Node's WebCrypto.
async function verifySignature(body) {
  const key = await crypto.subtle.importKey('spki', Buffer.from(body.deviceKey, 'base64url'), { name: 'ECDSA', namedCurve: 'P-256' }, false, ['verify']);
  const msg = 'smsplus-device-proof-v1\n' + body.cid + '\n' + body.phraseProof + '\n' + body.tp;
  return crypto.subtle.verify({ name: 'ECDSA', hash: 'SHA-256' }, key, Buffer.from(body.deviceProof, 'base64url'), new TextEncoder().encode(msg));
}

async function fire(el, type) {
  const ev = el.fire(type, {});
  await settle();
  return ev;
}

const verified = (extra) => ({ status: 200, body: Object.assign({ result: 1, action: 'verify', otp: '123456' }, extra) });

function visible(p) {
  return ['challenge', 'result', 'locked', 'device', 'reset', 'disable', 'done'].filter((s) => !p.els['stage-' + s].hidden).join();
}

const tests = {
  async 'enroll answer shows progress and clears'() {
    const p = page([{ status: 200, body: { result: 1, action: 'enroll', enrollment: { samples: 2, required: 3 } } }], { enrolling: true, samples: 1 });
    p.type('abc');
    const ev = await p.submit();
    expect(ev.prevented, true, 'default submit prevented');
    expect(p.requests.length, 1, 'one request');
    const r = p.requests[0];
    expect(r.url, '/verify-otp', 'url');
    expect(r.init.method, 'POST', 'method');
    expect(r.init.headers['Content-Type'], 'application/json', 'content type');
    expect(r.init.referrerPolicy, 'no-referrer', 'referrer policy');
    expect(Object.keys(r.body).sort().join(), 'cid,deviceKey,deviceProof,phraseProof,textId,tp', 'body keys');
    expect(r.body.cid, 'CID123', 'cid');
    expect(r.body.phraseProof, hmac('CID123', 'abc'), 'phrase proof: HMAC-SHA256 keyed by the challenge id');
    expect(await verifySignature(r.body), true, 'device proof: the key signs cid, phrase proof and pattern');
    expect(r.body.textId, '42', 'textId');
    expect(/^sp1:42:3:0,80;230,310;460,540$/.test(r.body.tp), true, 'tp ' + r.body.tp);
    expect(p.els.progress.value, 2, 'progress value');
    expect(p.els['progress-text'].textContent, 'enroll.progress 2/3', 'progress text');
    expect(p.els.status.textContent, 'msg.enroll_next 2/3', 'status');
    expect(p.els.typed.value, '', 'input cleared');
    expect(p.els.submit.disabled, false, 'button enabled again');
    expect(visible(p), 'challenge', 'stage');
  },
  async 'terms must be accepted on the first visit'() {
    const p = page([{ status: 200, body: { result: 1, action: 'enroll', enrollment: { samples: 1, required: 3 } } }], { enrolling: true, terms: true });
    p.type('abc');
    await p.submit();
    expect(p.requests.length, 0, 'nothing sent before agreeing');
    expect(p.els.status.textContent, 'terms.required', 'status');
    expect(p.els.focus, 'terms', 'focus on the box');
    p.els.terms.checked = true;
    await p.submit();
    expect(p.requests.length, 1, 'sent after agreeing');
    expect(p.els.consent.hidden, true, 'consent hidden once a sample is taken');
  },
  async 'an enrollment answer with result 0 (TypingDNA) is still progress'() {
    const p = page([{ status: 200, body: { result: 0, action: 'enroll', enrollment: { samples: 1, required: 1 } } }], { enrolling: true });
    p.type('abc');
    await p.submit();
    expect(p.els.status.textContent, 'msg.enroll_done', 'status');
  },
  async 'last enroll sample asks for one more and switches to verifying'() {
    const p = page([{ status: 200, body: { result: 1, action: 'enroll', enrollment: { samples: 3, required: 3 } } }], { enrolling: true, samples: 2 });
    p.type('abc');
    await p.submit();
    expect(p.els.status.textContent, 'msg.enroll_done', 'status');
    expect(p.els.enroll.hidden, true, 'enrollment box hidden');
    expect(p.els.submit.textContent, 'input.submit', 'button text');
    expect(p.els.lead.textContent, 'challenge.lead', 'lead');
  },
  async 'verified shows the code, copy and the opt-out'() {
    const p = page([verified({ disableTid: 'D1' }), { status: 200, body: { result: 1, action: 'disabled' } }]);
    p.type('abc');
    await p.submit();
    expect(visible(p), 'result', 'stage');
    expect(p.els.otp.textContent, '123456', 'code shown');
    expect(p.els.otp.getAttribute('aria-label'), 'result.code_label 1 2 3 4 5 6', 'code read digit by digit');
    expect(p.els.focus, 'otp', 'focus on the code');
    expect(p.els['result-status'].textContent, 'result.ok', 'announced under the code');
    expect(p.els.langs.hidden, true, 'no language switch once the code is shown');
    expect(p.els.copy.hidden, false, 'copy button shown');
    expect(p.els.resetnow.hidden, true, 'no reset-now prompt without a token');
    expect(p.els['disable-open'].hidden, false, 'opt-out offered');
    await p.click('copy');
    expect(p.copied.join(), '123456', 'copied');
    expect(p.els['result-status'].textContent, 'result.copied', 'copy announced');
    await p.click('disable-open');
    expect(visible(p), 'disable', 'disable stage');
    expect(p.els.focus, 'disable-phone', 'focus on the phone');
    p.els['disable-phone'].value = '+1 (555) 555-0100';
    await p.submit('disable-form');
    expect(p.requests[1].url, '/disable-account', 'url');
    expect(JSON.stringify(p.requests[1].body), '{"disableTid":"D1","phone":"+15555550100"}', 'body');
    expect(visible(p), 'done', 'done stage');
    expect(p.els['done-text'].textContent, 'disable.done', 'done text');
    p.windowHandlers.pagehide({ persisted: true });
    expect(p.els.otp.textContent, '', 'code cleared when the page goes to the back-forward cache');
  },
  async 'disable: a bad number is not sent, a wrong one ends the option'() {
    const p = page([verified({ disableTid: 'D1' }), { status: 403, body: { code: 111 } }]);
    p.type('abc');
    await p.submit();
    await p.click('disable-open');
    p.els['disable-phone'].value = '12345';
    await p.submit('disable-form');
    expect(p.requests.length, 1, 'not sent');
    expect(p.els.status.textContent, 'phone.invalid', 'invalid');
    expect(p.els['disable-phone'].getAttribute('aria-invalid'), 'true', 'field marked');
    p.els['disable-phone'].value = '0033612345678';
    await p.submit('disable-form');
    expect(p.requests[1].body.phone, '+33612345678', '00 becomes +');
    expect(p.els.status.textContent, 'phone.mismatch_once', 'mismatch');
    expect(p.els['disable-form'].hidden, true, 'form gone: the token is used up');
  },
  async 'reset-now prompt after a reveal'() {
    const p = page([verified({ disableTid: 'D1', resetNowTid: 'R1' }), { status: 200, body: { result: 1, action: 'reset' } }]);
    p.type('abc');
    await p.submit();
    expect(p.els.resetnow.hidden, false, 'prompt shown');
    p.els['resetnow-phone'].value = '+15555550100';
    await p.submit('resetnow-form');
    expect(p.requests[1].url, '/reset-account-now', 'url');
    expect(JSON.stringify(p.requests[1].body), '{"resetNowTid":"R1","phoneNumber":"+15555550100"}', 'body');
    expect(p.els['resetnow-text'].textContent, 'resetnow.done', 'done');
    expect(p.els['resetnow-form'].hidden, true, 'form gone');
    expect(visible(p), 'result', 'code still shown');
  },
  async 'reset-now can be skipped; an expired token is said'() {
    const p = page([verified({ resetNowTid: 'R1' }), { status: 404, body: { code: 101 } }]);
    p.type('abc');
    await p.submit();
    p.els['resetnow-phone'].value = '+15555550100';
    await p.submit('resetnow-form');
    expect(p.els['resetnow-text'].textContent, 'msg.token_dead', 'expired');
    await p.click('resetnow-skip');
    expect(p.els.resetnow.hidden, true, 'skipped');
  },
  async 'no clipboard: no copy button'() {
    const p = page([verified()], { clipboard: false });
    p.type('abc');
    await p.submit();
    expect(p.els.copy.hidden, true, 'copy button hidden');
    expect(p.els['disable-open'].hidden, true, 'no opt-out without a token');
  },
  async 'mismatch with attempts left'() {
    const p = page([{ status: 200, body: { result: 0, action: 'verify', attemptsLeft: 2 } }]);
    p.type('abc');
    await p.submit();
    expect(p.els.status.textContent, 'msg.miss 2', 'status');
    expect(p.els.status.className, 'status error', 'styled as an error');
    expect(p.els.typed.value, '', 'cleared');
    expect(visible(p), 'challenge', 'stage');
  },
  async 'a failed attempt is told above the field, in sight of the keyboard'() {
    const p = page([{ status: 200, body: { result: 0, action: 'verify', attemptsLeft: 2 } }, { status: 404, body: { code: 101 } }],
      { typedStatus: true });
    p.type('abc');
    await p.submit();
    const line = p.els['typed-status'];
    expect(line.textContent, 'msg.miss 2', 'the form\'s own line');
    expect(line.className, 'status error', 'styled as an error');
    expect(line.scrolled > 0, true, 'scrolled into view');
    expect(p.els.focus, 'typed', 'the field has the focus again');
    expect(p.els.status.textContent, '', 'said once');
    // Once the form is gone, the message goes where it can be seen.
    p.type('abc');
    await p.submit();
    expect(p.els.form.hidden, true, 'form hidden');
    expect(p.els.status.textContent, 'msg.link_dead', 'after the form');
    expect(line.textContent, '', 'the hidden form says nothing');
  },
  async 'user locked, then a reset'() {
    const p = page([{ status: 403, body: { code: 105, tryAgainMinutes: 15 } },
      { status: 403, body: { code: 111 } },
      { status: 200, body: { result: 1, action: 'reset_scheduled', resetInMinutes: 60 } }]);
    p.type('abc');
    await p.submit();
    expect(visible(p), 'locked', 'stage');
    expect(p.els['locked-text'].textContent, 'locked.user 15', 'minutes');
    expect(p.els.focus, 'locked-title', 'focus on the heading');
    expect(p.els.langs.hidden, false, 'language switch stays');
    await p.click('reset-open');
    expect(visible(p), 'reset', 'reset stage');
    p.els['reset-phone'].value = '+15555550199';
    await p.submit('reset-form');
    expect(JSON.stringify(p.requests[1].body), '{"cid":"CID123","phone":"+15555550199"}', 'body');
    expect(p.els.status.textContent, 'phone.mismatch', 'mismatch, try again');
    expect(visible(p), 'reset', 'still on the reset stage');
    p.els['reset-phone'].value = '+15555550100';
    await p.submit('reset-form');
    expect(visible(p), 'done', 'done stage');
    expect(p.els['done-title'].textContent, 'reset.title', 'title');
    expect(/^reset\.done 1 h \(.+\)$/.test(p.els['done-text'].textContent), true, 'when: ' + p.els['done-text'].textContent);
    expect(p.els['done-more'].textContent, 'reset.after', 'after');
  },
  async 'challenge locked'() {
    const p = page([{ status: 403, body: { code: 104 } }]);
    p.type('abc');
    await p.submit();
    expect(visible(p), 'locked', 'stage');
    expect(p.els['locked-text'].textContent, 'locked.link', 'text');
  },
  async 'locked page: reset back and forth'() {
    const p = page([{ status: 200, body: { result: 1, action: 'reset_scheduled', resetInMinutes: 1440 } }], { stage: 'locked' });
    expect(p.els.typed.value, '', 'no recorder attached');
    await p.click('reset-open');
    await p.click('reset-back');
    expect(visible(p), 'locked', 'back');
    await p.click('reset-open');
    p.els['reset-phone'].value = '+15555550100';
    await p.submit('reset-form');
    expect(/^reset\.done 24 h \(.+\)$/.test(p.els['done-text'].textContent), true, 'when: ' + p.els['done-text'].textContent);
  },
  async 'expired link'() {
    const p = page([{ status: 404, body: { code: 101 } }]);
    p.type('abc');
    await p.submit();
    expect(p.els.status.textContent, 'msg.link_dead', 'status');
    expect(p.els.form.hidden, true, 'form hidden');
  },
  async 'position: retry, then reload'() {
    const p = page([{ status: 400, body: { code: 109 } }, { status: 400, body: { code: 108 } }]);
    p.type('abc');
    await p.submit();
    expect(p.els.status.textContent, 'msg.position_retry', 'retry');
    expect(p.els.form.hidden, false, 'form kept');
    p.type('abc');
    await p.submit();
    expect(p.els.status.textContent, 'msg.position', 'reload');
    expect(p.els.form.hidden, true, 'form hidden');
  },
  async 'bad pattern keeps the form'() {
    const p = page([{ status: 400, body: { code: 100 } }]);
    p.type('abc');
    await p.submit();
    expect(p.els.status.textContent, 'msg.bad_pattern', 'status');
    expect(p.els.form.hidden, false, 'form shown');
    expect(p.els.typed.value, '', 'cleared');
  },
  async 'rate limited and server errors keep the typing'() {
    for (const [answer, want] of [[{ status: 429, body: {} }, 'msg.rate'], [{ status: 502 }, 'msg.server'], [{ status: 503, body: { code: 503 } }, 'msg.server']]) {
      const p = page([answer]);
      p.type('abc');
      await p.submit();
      expect(p.els.status.textContent, want, 'status for ' + answer.status);
      expect(p.els.typed.value, 'abc', 'typing kept');
    }
  },
  async 'network error keeps the typing'() {
    const p = page(['network']);
    p.type('abc');
    await p.submit();
    expect(p.els.status.textContent, 'msg.network', 'status');
    expect(p.els.typed.value, 'abc', 'typing kept');
    expect(p.els.submit.disabled, false, 'button enabled');
  },
  async 'wrong length is not sent'() {
    const p = page([{ status: 200, body: {} }]);
    p.type('abcd');
    await p.submit();
    expect(p.requests.length, 0, 'no request');
    expect(p.els.status.textContent, 'msg.length', 'status');
    expect(p.els.typed.value, '', 'cleared');
  },
  async 'empty is not sent'() {
    const p = page([{ status: 200, body: {} }]);
    await p.submit();
    expect(p.requests.length, 0, 'no request');
    expect(p.els.status.textContent, 'msg.empty', 'status');
  },
  async 'pasted text is not sent'() {
    const p = page([{ status: 200, body: {} }]);
    p.els.typed.fire('beforeinput', { inputType: 'insertFromPaste' });
    p.els.typed.value = 'abc';
    p.els.typed.fire('input', { inputType: 'insertFromPaste' });
    await p.submit();
    expect(p.requests.length, 0, 'no request');
    expect(p.els.status.textContent, 'msg.untimed', 'status');
  },
  async 'the phrase proof is of the text as typed, normalized'() {
    const p = page([{ status: 200, body: { result: 0, action: 'verify', attemptsLeft: 2, reason: 'phrase' } }]);
    p.type('xyz');
    await p.submit();
    expect(p.requests[0].body.phraseProof, hmac('CID123', 'xyz'), 'proof of what was typed');
    expect(p.els.status.textContent, 'msg.phrase 2', 'other words are said as such');
    expect(p.els.typed.value, '', 'cleared for a new try');
    const n = vm.runInNewContext('SMSPlusProof.normalize("  Blue \t RIVER ")', { SMSPlusProof: p.ctx.window.SMSPlusProof });
    expect(n, 'blue river', 'normalized as the server normalizes the phrase');
  },
  async 'enrollment sample of other words'() {
    const p = page([{ status: 400, body: { code: 115 } }], { enrolling: true });
    p.type('abc');
    await p.submit();
    expect(p.els.status.textContent, 'msg.phrase_enroll', 'status');
    expect(p.els.form.hidden, false, 'form kept');
  },
  async 'the device key is kept across visits, and made anew when wiped'() {
    const idb = fakeIndexedDB();
    const keys = [];
    for (const db of [idb, idb, fakeIndexedDB()]) {
      const p = page([{ status: 200, body: { result: 0, action: 'verify', attemptsLeft: 2 } }], { idb: db });
      p.type('abc');
      await p.submit();
      keys.push(p.requests[0].body.deviceKey);
      expect(await verifySignature(p.requests[0].body), true, 'signed');
    }
    expect(keys[0] === keys[1], true, 'the same key on the next visit');
    expect(keys[0] !== keys[2], true, 'a new key after the storage was wiped');
    expect(idb.stores.keys.get('device').privateKey.extractable, false, 'the private key cannot be read out');
  },
  async 'no IndexedDB: the phrase proof alone'() {
    const p = page([{ status: 200, body: { result: 0, action: 'verify', attemptsLeft: 2 } }], { idb: false });
    p.type('abc');
    await p.submit();
    expect(Object.keys(p.requests[0].body).sort().join(), 'cid,phraseProof,textId,tp', 'body keys');
  },
  async 'no WebCrypto: nothing is sent'() {
    const p = page([verified()], { crypto: false });
    p.type('abc');
    await p.submit();
    expect(p.requests.length, 0, 'no request');
    expect(p.els.status.textContent, 'msg.crypto', 'status');
    expect(p.els.form.hidden, true, 'form hidden');
  },
  async 'unknown device: said plainly, with the way to reset'() {
    const p = page([{ status: 403, body: { code: 114, attemptsLeft: 2 } }]);
    p.type('abc');
    await p.submit();
    expect(visible(p), 'device', 'stage');
    expect(p.els.focus, 'device-title', 'focus on the heading');
    expect(p.els.langs.hidden, false, 'language switch stays');
    await p.click('device-reset');
    expect(visible(p), 'reset', 'reset stage');
    await p.click('reset-back');
    expect(visible(p), 'device', 'back to the device stage');
  },
  async 'a strict match that failed on a new device'() {
    const p = page([{ status: 200, body: { result: 0, action: 'verify', attemptsLeft: 1, device: 'new' } }]);
    p.type('abc');
    await p.submit();
    expect(p.els.status.textContent, 'msg.device_strict 1', 'status');
  },
  async 'TypingDNA: the adapter asks for a same-text pattern under the text id'() {
    const calls = [];
    function TypingDNA() {}
    TypingDNA.prototype.addTarget = (id) => calls.push('addTarget ' + id);
    TypingDNA.prototype.getTypingPattern = (o) => { calls.push(JSON.stringify(o)); return '1,3.2,0,0,3,42|0,80|150,80|150,80#m#z'; };
    TypingDNA.prototype.reset = () => calls.push('reset');
    TypingDNA.prototype.removeTarget = (id) => calls.push('removeTarget ' + id);
    TypingDNA.prototype.stop = () => calls.push('stop');
    const p = page([verified()], { tdna: TypingDNA });
    p.els.typed.value = 'abc';
    await p.submit();
    expect(calls[0], 'addTarget typed', 'target');
    expect(calls[1], '{"type":1,"text":"abc","textId":42,"targetId":"typed"}', 'pattern request');
    expect(p.requests[0].body.tp, '1,3.2,0,0,3,42|0,80|150,80|150,80#m#z', 'pattern sent as given');
    expect(calls.slice(2).join(), 'removeTarget typed,stop', 'detached after the reveal');
  },
  async 'TypingDNA: recorder missing'() {
    const p = page([verified()], { tdna: 'missing' });
    expect(p.els.status.textContent, 'msg.recorder', 'status');
    expect(p.els.typed.disabled, true, 'input disabled');
  },
  async 'motion permission where the browser asks'() {
    function TypingDNA() {}
    TypingDNA.prototype.addTarget = () => {};
    const p = page([verified()], { tdna: TypingDNA, motion: true, motionPermission: 'granted' });
    expect(p.els.motion.hidden, false, 'panel shown');
    expect(p.els.typed.disabled, true, 'typing waits for the permission');
    await p.click('motion-allow');
    expect(p.els.motion.hidden, true, 'panel gone');
    expect(p.els.typed.disabled, false, 'typing enabled');
    const q = page([verified()], { tdna: TypingDNA, motion: true, motionPermission: 'denied' });
    await q.click('motion-allow');
    expect(q.els.status.textContent, 'motion.denied', 'denied');
    const r = page([verified()], { tdna: TypingDNA, motion: true });
    expect(r.els.motion.hidden, true, 'no panel where no permission is needed');
  },
};

class Failure extends Error {}
function expect(got, want, what) {
  if (got !== want) {
    throw new Failure(`${what}: got ${JSON.stringify(got)}, want ${JSON.stringify(want)}`);
  }
}

(async () => {
  let failed = 0;
  for (const [name, run] of Object.entries(tests)) {
    try {
      await run();
      console.log(`ok   ${name}`);
    } catch (e) {
      failed++;
      console.log(`FAIL ${name}: ${e instanceof Failure ? e.message : e.stack}`);
    }
  }
  process.exit(failed ? 1 : 0);
})();
