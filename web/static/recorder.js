/*
 * SMS+ keystroke recorder.
 *
 * Attaches to one text input and records, for every character in it, when the key
 * that typed it went down and came up (milliseconds, performance.now clock). It
 * never records which characters were typed.
 *
 *   var rec = SMSPlusRecorder.attach(input);
 *   rec.pattern(textId, length) // "sp1:..." or null when the recording is incomplete
 *   rec.reset()                 // after clearing the input
 *   rec.detach()
 *
 * Pattern format "sp1" (the server's parser is host/internal/biometrics/local/pattern.go):
 *
 *   sp1:<textId>:<n>:<d1>,<u1>;<d2>,<u2>;...;<dn>,<un>
 *
 * n is the phrase length; d_i and u_i are the key-down and key-up times of the key
 * that typed character i, in whole milliseconds since the first key-down (d1 = 0).
 *
 * How characters are matched to keys: the recorder compares the input's value
 * before and after every "input" event, so it knows where characters were added
 * or removed whatever the keyboard reports. A single added character belongs to
 * the latest key-down since the previous change. That works for hardware keyboards
 * (real key values) and for virtual keyboards that report every key as
 * "Unidentified" / keyCode 229. Deleted characters drop their timings. Text that
 * arrives without a key press of its own (paste, drop, autocomplete, autocorrect,
 * a held key repeating) has no timing, and pattern() returns null until it is
 * typed again.
 */
(function (global) {
  'use strict';

  var FORMAT = 'sp1';
  var MAX_HOLD_MS = 2000;
  var MAX_TOTAL_MS = 60000;
  var MAX_PRESSES = 64;

  var MODIFIERS = {
    Alt: 1, AltGraph: 1, CapsLock: 1, Control: 1, Fn: 1, FnLock: 1, Hyper: 1, Meta: 1,
    NumLock: 1, OS: 1, ScrollLock: 1, Shift: 1, Super: 1, Symbol: 1, SymbolLock: 1
  };

  function clock() {
    return global.performance && global.performance.now ? global.performance.now() : Date.now();
  }

  // The event's own time stamp is the moment the key event happened; browsers
  // give it on the performance.now clock. Fall back to the clock when it looks
  // like an old-style epoch time stamp or is missing.
  function eventTime(e) {
    var now = clock();
    var t = e && e.timeStamp;
    if (typeof t === 'number' && t > 0 && t <= now + 1 && now - t < 10000) {
      return t;
    }
    return now;
  }

  // Whether a key-down may type a character. Virtual keyboards and input methods
  // report "Unidentified" / "Process" / keyCode 229; the input event then tells.
  function typingKey(e) {
    if (e.keyCode === 229 || e.key === 'Unidentified' || e.key === 'Process' || !e.key) {
      return true;
    }
    if (MODIFIERS[e.key]) {
      return false;
    }
    var altGraph = e.getModifierState && e.getModifierState('AltGraph');
    if ((e.ctrlKey || e.metaKey) && !altGraph) {
      return false; // shortcuts such as paste
    }
    return Array.from(e.key).length === 1;
  }

  function Recorder(input) {
    this.input = input;
    this.reset();
    var self = this;
    this.handlers = {
      keydown: function (e) { self.onKeyDown(e); },
      keyup: function (e) { self.onKeyUp(e); },
      beforeinput: function (e) { self.onBeforeInput(e); },
      input: function () { self.sync(); }
    };
    for (var type in this.handlers) {
      input.addEventListener(type, this.handlers[type], true);
    }
  }

  Recorder.prototype.reset = function () {
    var v = this.input.value || '';
    this.chars = new Array(v.length).fill(null); // one entry per UTF-16 unit of the value
    this.presses = [];                              // recent key presses, oldest first
    this.prev = v;
    this.untyped = false;
  };

  Recorder.prototype.detach = function () {
    for (var type in this.handlers) {
      this.input.removeEventListener(type, this.handlers[type], true);
    }
  };

  Recorder.prototype.onKeyDown = function (e) {
    if (e.repeat || !typingKey(e)) {
      return;
    }
    this.presses.push({ down: eventTime(e), up: null, code: e.code || '', used: false });
    if (this.presses.length > MAX_PRESSES) {
      this.presses.shift();
    }
  };

  Recorder.prototype.onKeyUp = function (e) {
    var t = eventTime(e);
    var code = e.code || '';
    var i, p;
    if (code) {
      // Hardware keys: the latest press of the same physical key.
      for (i = this.presses.length - 1; i >= 0; i--) {
        p = this.presses[i];
        if (p.up === null && p.code === code) {
          p.up = t;
          return;
        }
      }
      return;
    }
    // Virtual keys carry no code: they come up in the order they went down.
    for (i = 0; i < this.presses.length; i++) {
      p = this.presses[i];
      if (p.up === null && p.code === '') {
        p.up = t;
        return;
      }
    }
  };

  Recorder.prototype.onBeforeInput = function (e) {
    var type = e.inputType || '';
    // Paste, drop, and replacements offered by the keyboard are not typing.
    if (type.indexOf('insertFrom') === 0 || type === 'insertReplacementText') {
      this.untyped = true;
    }
  };

  // sync brings the timings in line with the input's value.
  Recorder.prototype.sync = function () {
    var v = this.input.value || '';
    var old = this.prev;
    if (v === old) {
      this.untyped = false;
      return;
    }
    var shorter = Math.min(v.length, old.length);
    var start = 0;
    while (start < shorter && v.charCodeAt(start) === old.charCodeAt(start)) {
      start++;
    }
    var end = 0;
    while (end < shorter - start &&
      v.charCodeAt(v.length - 1 - end) === old.charCodeAt(old.length - 1 - end)) {
      end++;
    }
    var removed = old.length - start - end;
    var added = v.length - start - end;

    var entries = [];
    if (added === 1 && !this.untyped) {
      entries.push(this.claim());
    } else {
      for (var i = 0; i < added; i++) {
        entries.push(null);
      }
    }
    // Presses that typed nothing (a virtual backspace, a cursor key) must not be
    // matched to a later character.
    for (var j = 0; j < this.presses.length; j++) {
      this.presses[j].used = true;
    }
    Array.prototype.splice.apply(this.chars, [start, removed].concat(entries));
    this.prev = v;
    this.untyped = false;
  };

  // claim takes the latest unused key press.
  Recorder.prototype.claim = function () {
    for (var i = this.presses.length - 1; i >= 0; i--) {
      var p = this.presses[i];
      if (!p.used) {
        p.used = true;
        return p;
      }
    }
    return null;
  };

  // pattern returns the sp1 pattern of the input's trimmed value, or null unless
  // it is exactly `length` characters, each typed by a key seen going down and up,
  // in order, within the limits the server accepts.
  Recorder.prototype.pattern = function (textId, length) {
    this.sync();
    var v = this.input.value || '';
    var lead = v.length - v.replace(/^\s+/, '').length;
    if (!(length > 0) || v.trim().length !== length) {
      return null;
    }
    var keys = this.chars.slice(lead, lead + length);
    if (keys.length !== length || !keys[0]) {
      return null;
    }
    var base = keys[0].down;
    var parts = [];
    var prevDown = 0;
    for (var i = 0; i < keys.length; i++) {
      var k = keys[i];
      if (!k || k.up === null) {
        return null;
      }
      var d = Math.round(k.down - base);
      var u = Math.round(k.up - base);
      if (u <= d) {
        u = d + 1; // a sub-millisecond hold on a coarse clock
      }
      if (d < prevDown || u - d > MAX_HOLD_MS || u > MAX_TOTAL_MS) {
        return null;
      }
      prevDown = d;
      parts.push(d + ',' + u);
    }
    return FORMAT + ':' + textId + ':' + length + ':' + parts.join(';');
  };

  global.SMSPlusRecorder = {
    FORMAT: FORMAT,
    attach: function (input) { return new Recorder(input); }
  };
})(typeof window !== 'undefined' ? window : this);
