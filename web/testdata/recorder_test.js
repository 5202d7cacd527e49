// Exercises static/recorder.js in Node with simulated key and input events.
// Run by web_test.go (TestRecorder); exits non-zero on the first failure.
'use strict';

const fs = require('fs');
const path = require('path');
const vm = require('vm');

const source = fs.readFileSync(path.join(__dirname, '..', 'static', 'recorder.js'), 'utf8');

let clock = 0;
function load() {
  const window = { performance: { now: () => clock } };
  vm.runInNewContext(source, { window });
  return window.SMSPlusRecorder;
}

// A stand-in for an <input>: a value, a caret at the end, and event listeners.
function fakeInput() {
  const handlers = {};
  return {
    value: '',
    addEventListener(type, fn) { (handlers[type] = handlers[type] || []).push(fn); },
    removeEventListener(type, fn) { handlers[type] = (handlers[type] || []).filter((f) => f !== fn); },
    fire(type, props) {
      const ev = Object.assign({ type, timeStamp: clock, getModifierState: () => false }, props);
      (handlers[type] || []).forEach((fn) => fn(ev));
    },
  };
}

// A simulated typist. Times are absolute ms on the fake clock.
function typist(input) {
  function at(t) { clock = t; }
  function code(ch) {
    if (ch === ' ') return 'Space';
    return 'Key' + ch.toUpperCase();
  }
  function change(newValue, inputType, data) {
    input.fire('beforeinput', { inputType, data });
    input.value = newValue;
    input.fire('input', { inputType, data });
  }
  return {
    // Hardware key: keydown (real key and code), the character, keyup later.
    down(t, ch) { at(t); input.fire('keydown', { key: ch, code: code(ch), keyCode: ch.toUpperCase().charCodeAt(0) }); change(input.value + ch, 'insertText', ch); },
    up(t, ch) { at(t); input.fire('keyup', { key: ch, code: code(ch), keyCode: ch.toUpperCase().charCodeAt(0) }); },
    key(t, ch, hold) { this.down(t, ch); this.up(t + hold, ch); },
    backspace(t) {
      at(t); input.fire('keydown', { key: 'Backspace', code: 'Backspace', keyCode: 8 });
      change(input.value.slice(0, -1), 'deleteContentBackward', null);
      at(t + 50); input.fire('keyup', { key: 'Backspace', code: 'Backspace', keyCode: 8 });
    },
    modifier(t, key, hold) {
      at(t); input.fire('keydown', { key, code: key + 'Left', keyCode: 16 });
      at(t + hold); input.fire('keyup', { key, code: key + 'Left', keyCode: 16 });
    },
    // Virtual keyboard: every key is "Unidentified" / 229 with no code.
    vkey(t, ch, hold) {
      at(t); input.fire('keydown', { key: 'Unidentified', code: '', keyCode: 229 });
      change(input.value + ch, 'insertCompositionText', ch);
      at(t + hold); input.fire('keyup', { key: 'Unidentified', code: '', keyCode: 229 });
    },
    vbackspace(t, hold) {
      at(t); input.fire('keydown', { key: 'Unidentified', code: '', keyCode: 229 });
      change(input.value.slice(0, -1), 'deleteContentBackward', null);
      at(t + hold); input.fire('keyup', { key: 'Unidentified', code: '', keyCode: 229 });
    },
    paste(t, text) { at(t); change(input.value + text, 'insertFromPaste', text); },
    replace(t, from, to) { at(t); change(input.value.replace(from, to), 'insertReplacementText', to); },
  };
}

const tests = {
  'desktop, overlapping keys'() {
    const input = fakeInput(); const rec = load().attach(input); const k = typist(input);
    k.down(1000, 'a'); k.down(1080, 'b'); k.up(1100, 'a'); k.up(1190, 'b');
    k.key(1300, ' ', 70); k.key(1450.6, 'c', 90.2);
    return [rec.pattern('42', 4), 'sp1:42:4:0,100;80,190;300,370;451,541'];
  },
  'backspace drops the deleted key'() {
    const input = fakeInput(); const rec = load().attach(input); const k = typist(input);
    k.key(0, 'a', 80); k.key(200, 'b', 80); k.key(400, 'x', 80); k.backspace(600); k.key(800, 'c', 80);
    return [rec.pattern('7', 3), 'sp1:7:3:0,80;200,280;800,880'];
  },
  'shift is ignored'() {
    const input = fakeInput(); const rec = load().attach(input); const k = typist(input);
    k.key(0, 'a', 80); k.modifier(150, 'Shift', 200); k.key(200, 'B', 60); k.key(400, 'c', 70);
    return [rec.pattern('7', 3), 'sp1:7:3:0,80;200,260;400,470'];
  },
  'virtual keyboard (229)'() {
    const input = fakeInput(); const rec = load().attach(input); const k = typist(input);
    k.vkey(5000, 'h', 3); k.vkey(5210, 'i', 2); k.vkey(5400, ' ', 4); k.vkey(5650, 'y', 1);
    return [rec.pattern('9', 4), 'sp1:9:4:0,3;210,212;400,404;650,651'];
  },
  'virtual backspace is not matched to the next key'() {
    const input = fakeInput(); const rec = load().attach(input); const k = typist(input);
    k.vkey(0, 'a', 5); k.vkey(200, 'q', 5); k.vbackspace(400, 5); k.vkey(700, 'b', 5);
    return [rec.pattern('9', 2), 'sp1:9:2:0,5;700,705'];
  },
  'key without keyup is incomplete'() {
    const input = fakeInput(); const rec = load().attach(input); const k = typist(input);
    k.key(0, 'a', 80); k.down(200, 'b');
    return [rec.pattern('7', 2), null];
  },
  'pasted text has no timing'() {
    const input = fakeInput(); const rec = load().attach(input); const k = typist(input);
    k.key(0, 'a', 80); k.paste(300, 'bc');
    return [rec.pattern('7', 3), null];
  },
  'pasting one character has no timing'() {
    const input = fakeInput(); const rec = load().attach(input); const k = typist(input);
    k.key(0, 'a', 80); k.key(200, 'b', 80); k.paste(300, 'c');
    return [rec.pattern('7', 3), null];
  },
  'autocorrect replacement has no timing'() {
    const input = fakeInput(); const rec = load().attach(input); const k = typist(input);
    k.key(0, 't', 80); k.key(200, 'e', 80); k.key(400, 'h', 80); k.replace(500, 'teh', 'the');
    return [rec.pattern('7', 3), null];
  },
  'retyping after a paste recovers'() {
    const input = fakeInput(); const rec = load().attach(input); const k = typist(input);
    k.key(0, 'a', 80); k.paste(300, 'b'); k.backspace(400); k.key(600, 'b', 90);
    return [rec.pattern('7', 2), 'sp1:7:2:0,80;600,690'];
  },
  'surrounding spaces are trimmed'() {
    const input = fakeInput(); const rec = load().attach(input); const k = typist(input);
    k.key(0, ' ', 50); k.key(300, 'a', 80); k.key(500, 'b', 70); k.key(700, ' ', 60);
    return [rec.pattern('7', 2), 'sp1:7:2:0,80;200,270'];
  },
  'wrong length'() {
    const input = fakeInput(); const rec = load().attach(input); const k = typist(input);
    k.key(0, 'a', 80); k.key(200, 'b', 80);
    return [rec.pattern('7', 3), null];
  },
  'held key repeating has no timing'() {
    const input = fakeInput(); const rec = load().attach(input); const k = typist(input);
    k.down(0, 'a');
    clock = 500; input.fire('keydown', { key: 'a', code: 'KeyA', keyCode: 65, repeat: true });
    input.value += 'a'; input.fire('input', { inputType: 'insertText' });
    k.up(600, 'a');
    return [rec.pattern('7', 2), null];
  },
  'hold over 2 s is refused'() {
    const input = fakeInput(); const rec = load().attach(input); const k = typist(input);
    k.key(0, 'a', 2500); k.key(2600, 'b', 80);
    return [rec.pattern('7', 2), null];
  },
  'sub-millisecond hold becomes 1 ms'() {
    const input = fakeInput(); const rec = load().attach(input); const k = typist(input);
    k.vkey(0, 'a', 0.2); k.vkey(150, 'b', 0);
    return [rec.pattern('7', 2), 'sp1:7:2:0,1;150,151'];
  },
  'reset after clearing'() {
    const input = fakeInput(); const rec = load().attach(input); const k = typist(input);
    k.key(0, 'a', 80); k.key(200, 'b', 80);
    input.value = ''; rec.reset();
    k.key(1000, 'c', 70); k.key(1100, 'd', 60);
    return [rec.pattern('7', 2), 'sp1:7:2:0,70;100,160'];
  },
  'detach stops recording'() {
    const input = fakeInput(); const rec = load().attach(input); const k = typist(input);
    rec.detach();
    k.key(0, 'a', 80); k.key(200, 'b', 80);
    return [rec.pattern('7', 2), null];
  },
};

let failed = 0;
for (const [name, run] of Object.entries(tests)) {
  const [got, want] = run();
  if (got !== want) {
    failed++;
    console.log(`FAIL ${name}: got ${JSON.stringify(got)}, want ${JSON.stringify(want)}`);
  } else {
    console.log(`ok   ${name}`);
  }
}
process.exit(failed ? 1 : 0);
