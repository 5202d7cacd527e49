// Exercises static/page.js (with the real recorder) against a minimal stand-in
// DOM and a fake fetch, one scenario per server answer. Run by web_test.go.
'use strict';

const fs = require('fs');
const path = require('path');
const vm = require('vm');

const read = (name) => fs.readFileSync(path.join(__dirname, '..', 'static', name), 'utf8');
const recorderJS = read('recorder.js');
const pageJS = read('page.js');

function element(id, props) {
  const handlers = {};
  const attrs = {};
  return Object.assign({
    id,
    hidden: false,
    textContent: '',
    className: '',
    value: '',
    disabled: false,
    dataset: {},
    focused: 0,
    addEventListener(type, fn) { (handlers[type] = handlers[type] || []).push(fn); },
    removeEventListener(type, fn) { handlers[type] = (handlers[type] || []).filter((f) => f !== fn); },
    fire(type, props) {
      const ev = Object.assign({ type, timeStamp: 0, preventDefault() { this.prevented = true; }, getModifierState: () => false }, props);
      (handlers[type] || []).forEach((fn) => fn(ev));
      return ev;
    },
    setAttribute(k, v) { attrs[k] = String(v); },
    removeAttribute(k) { delete attrs[k]; },
    getAttribute(k) { return k in attrs ? attrs[k] : null; },
    focus() { this.focused++; },
  }, props);
}

// page builds the DOM, loads both scripts and returns handles for a scenario.
function page(answer, opts) {
  opts = opts || {};
  let clock = 1000;
  const els = {};
  for (const id of ['challenge', 'form', 'typed', 'submit', 'status', 'result', 'otp', 'copy', 'enroll', 'progress', 'progress-text']) {
    els[id] = element(id);
  }
  els.result.hidden = true;
  els.copy.hidden = true;
  els.challenge.dataset = { cid: 'CID123', textId: '42', length: '3', enrolling: String(!!opts.enrolling), samples: '1', required: '3', engine: 'local' };
  const requests = [];
  const windowHandlers = {};
  const copied = [];
  const win = {
    performance: { now: () => clock },
    isSecureContext: opts.secure !== false,
    addEventListener(type, fn) { windowHandlers[type] = fn; },
    fetch(url, init) {
      requests.push({ url, init });
      if (answer === 'network') {
        return Promise.reject(new TypeError('Failed to fetch'));
      }
      return Promise.resolve({
        status: answer.status,
        json: () => (answer.body === undefined ? Promise.reject(new SyntaxError('no json')) : Promise.resolve(answer.body)),
      });
    },
  };
  const navigator = opts.clipboard === false ? {} : { clipboard: { writeText: (s) => { copied.push(s); return Promise.resolve(); } } };
  const document = { getElementById: (id) => els[id] || null };
  const ctx = { window: win, document, navigator, fetch: win.fetch, console };
  ctx.window.document = document;
  vm.createContext(ctx);
  vm.runInContext(recorderJS, ctx);
  ctx.SMSPlusRecorder = win.SMSPlusRecorder;
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
  async function submit() {
    const ev = els.form.fire('submit', {});
    for (let i = 0; i < 10; i++) await Promise.resolve();
    await new Promise((r) => setImmediate(r));
    return ev;
  }
  return { els, requests, type, submit, copied, windowHandlers };
}

const tests = {
  async 'enroll answer shows progress and clears'() {
    const p = page({ status: 200, body: { result: 1, action: 'enroll', enrollment: { samples: 2, required: 3 } } }, { enrolling: true });
    p.type('abc');
    const ev = await p.submit();
    expect(ev.prevented, true, 'default submit prevented');
    expect(p.requests.length, 1, 'one request');
    const r = p.requests[0];
    expect(r.url, '/verify-otp', 'url');
    expect(r.init.method, 'POST', 'method');
    expect(r.init.headers['Content-Type'], 'application/json', 'content type');
    const body = JSON.parse(r.init.body);
    expect(Object.keys(body).sort().join(), 'cid,textId,tp', 'body keys');
    expect(body.cid, 'CID123', 'cid');
    expect(body.textId, '42', 'textId');
    expect(/^sp1:42:3:0,80;230,310;460,540$/.test(body.tp), true, 'tp ' + body.tp);
    expect(p.els.progress.value, 2, 'progress value');
    expect(p.els['progress-text'].textContent, '2 of 3 done', 'progress text');
    expect(p.els.typed.value, '', 'input cleared');
    expect(p.els.form.hidden, false, 'form still shown');
    expect(p.els.submit.disabled, false, 'button enabled again');
  },
  async 'last enroll sample asks for one more'() {
    const p = page({ status: 200, body: { result: 1, action: 'enroll', enrollment: { samples: 3, required: 3 } } }, { enrolling: true });
    p.type('abc');
    await p.submit();
    expect(p.els.status.textContent, 'Enrolled. Type the phrase once more to unlock your code.', 'status');
  },
  async 'verified shows the code'() {
    const p = page({ status: 200, body: { result: 1, action: 'verify', otp: '123456' } });
    p.type('abc');
    await p.submit();
    expect(p.els.otp.textContent, '123456', 'code shown');
    expect(p.els.result.hidden, false, 'result visible');
    expect(p.els.form.hidden, true, 'form hidden');
    expect(p.els.copy.hidden, false, 'copy button shown');
    p.els.copy.fire('click', {});
    await Promise.resolve();
    expect(p.copied.join(), '123456', 'copied');
    p.windowHandlers.pagehide({ persisted: true });
    expect(p.els.otp.textContent, '', 'code cleared when the page goes to the back-forward cache');
  },
  async 'no clipboard: no copy button'() {
    const p = page({ status: 200, body: { result: 1, action: 'verify', otp: '123456' } }, { clipboard: false });
    p.type('abc');
    await p.submit();
    expect(p.els.otp.textContent, '123456', 'code shown');
    expect(p.els.copy.hidden, true, 'copy button hidden');
  },
  async 'mismatch with attempts left'() {
    const p = page({ status: 200, body: { result: 0, action: 'verify', attemptsLeft: 2 } });
    p.type('abc');
    await p.submit();
    expect(p.els.status.textContent, 'That did not match how you usually type. Try again (2 attempts left).', 'status');
    expect(p.els.typed.value, '', 'cleared');
    expect(p.els.form.hidden, false, 'form shown');
  },
  async 'mismatch with one attempt left'() {
    const p = page({ status: 200, body: { result: 0, action: 'verify', attemptsLeft: 1 } });
    p.type('abc');
    await p.submit();
    expect(p.els.status.textContent, 'That did not match how you usually type. Try again (1 attempt left).', 'status');
  },
  async 'locked'() {
    const p = page({ status: 403, body: { code: 105, message: 'Too many failed attempts. Try again in 15 minutes.', tryAgainMinutes: 15 } });
    p.type('abc');
    await p.submit();
    expect(p.els.status.textContent, 'Too many failed attempts. Try again in 15 minutes.', 'status');
    expect(p.els.form.hidden, true, 'form hidden');
  },
  async 'locked without message'() {
    const p = page({ status: 403, body: { code: 104, tryAgainMinutes: 15 } });
    p.type('abc');
    await p.submit();
    expect(p.els.status.textContent, 'Too many attempts. Try again in 15 minutes.', 'status');
  },
  async 'expired link'() {
    const p = page({ status: 410, body: { code: 101, message: 'This link has expired.' } });
    p.type('abc');
    await p.submit();
    expect(p.els.status.textContent, 'This link has expired.', 'status');
    expect(p.els.form.hidden, true, 'form hidden');
  },
  async 'bad request keeps the form'() {
    const p = page({ status: 400, body: { code: 110, message: 'Please type the phrase again.' } });
    p.type('abc');
    await p.submit();
    expect(p.els.status.textContent, 'Please type the phrase again.', 'status');
    expect(p.els.form.hidden, false, 'form shown');
    expect(p.els.typed.value, '', 'cleared');
  },
  async 'server error without JSON'() {
    const p = page({ status: 502 });
    p.type('abc');
    await p.submit();
    expect(p.els.status.textContent, 'Something went wrong on our side. Try again in a moment.', 'status');
    expect(p.els.typed.value, 'abc', 'typing kept');
  },
  async 'network error keeps the typing'() {
    const p = page('network');
    p.type('abc');
    await p.submit();
    expect(p.els.status.textContent, 'Network problem, try again.', 'status');
    expect(p.els.typed.value, 'abc', 'typing kept');
    expect(p.els.submit.disabled, false, 'button enabled');
  },
  async 'wrong length is not sent'() {
    const p = page({ status: 200, body: {} });
    p.type('abcd');
    await p.submit();
    expect(p.requests.length, 0, 'no request');
    expect(p.els.status.textContent, 'That does not match the phrase. Please type it again.', 'status');
    expect(p.els.typed.value, '', 'cleared');
  },
  async 'empty is not sent'() {
    const p = page({ status: 200, body: {} });
    await p.submit();
    expect(p.requests.length, 0, 'no request');
  },
  async 'pasted text is not sent'() {
    const p = page({ status: 200, body: {} });
    p.els.typed.fire('beforeinput', { inputType: 'insertFromPaste' });
    p.els.typed.value = 'abc';
    p.els.typed.fire('input', { inputType: 'insertFromPaste' });
    await p.submit();
    expect(p.requests.length, 0, 'no request');
    expect(p.els.typed.value, '', 'cleared');
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
