/*
 * SMS+ challenge page: checks what was typed, sends the keystroke pattern to
 * POST /verify-otp and shows the outcome. The code is only ever kept in the page
 * (never in the URL or in storage).
 */
(function () {
  'use strict';

  var root = document.getElementById('challenge');
  if (!root || !window.SMSPlusRecorder) {
    return;
  }
  function $(id) { return document.getElementById(id); }
  var form = $('form');
  var input = $('typed');
  var button = $('submit');
  var statusEl = $('status');
  var result = $('result');
  var otpEl = $('otp');
  var copyBtn = $('copy');
  var enrollEl = $('enroll');
  var progress = $('progress');
  var progressText = $('progress-text');

  var cid = root.dataset.cid;
  var textId = root.dataset.textId;
  var length = parseInt(root.dataset.length, 10);
  var samples = parseInt(root.dataset.samples, 10) || 0;
  var required = parseInt(root.dataset.required, 10) || 0;

  var recorder = window.SMSPlusRecorder.attach(input);
  var busy = false;

  function say(text, kind) {
    statusEl.textContent = text;
    statusEl.className = 'status' + (kind ? ' ' + kind : '');
  }

  // retype clears the field and the recording for a fresh attempt.
  function retype(text, kind) {
    input.value = '';
    recorder.reset();
    say(text, kind);
    input.focus();
  }

  // done ends the page: nothing more can be typed.
  function done(text, kind) {
    say(text, kind);
    form.hidden = true;
    if (enrollEl) {
      enrollEl.hidden = true;
    }
    input.value = '';
    recorder.detach();
  }

  function plural(n, one, many) {
    return n + ' ' + (n === 1 ? one : many);
  }

  function showProgress() {
    if (!progress) {
      return;
    }
    var n = Math.min(samples, required);
    progress.max = required;
    progress.value = n;
    progressText.textContent = n + ' of ' + required + ' done';
  }

  function showCode(otp) {
    otpEl.textContent = otp;
    result.hidden = false;
    done('Verified. Here is your code.', 'ok');
    var canCopy = !!(navigator.clipboard && navigator.clipboard.writeText && window.isSecureContext);
    copyBtn.hidden = !canCopy;
    otpEl.setAttribute('tabindex', '-1');
    otpEl.focus();
  }

  function copyCode() {
    var otp = otpEl.textContent;
    try {
      navigator.clipboard.writeText(otp).then(
        function () { say('Code copied.', 'ok'); },
        function () { say('Could not copy. Select the code and copy it.', 'error'); }
      );
    } catch (e) {
      say('Could not copy. Select the code and copy it.', 'error');
    }
  }

  function handle(status, body) {
    body = body && typeof body === 'object' ? body : {};
    var message = typeof body.message === 'string' && body.message ? body.message : '';

    if (status === 200 && body.action === 'enroll' && body.result === 1) {
      var e = body.enrollment || {};
      samples = typeof e.samples === 'number' ? e.samples : samples + 1;
      required = typeof e.required === 'number' ? e.required : required;
      showProgress();
      if (samples >= required) {
        retype('Enrolled. Type the phrase once more to unlock your code.', 'ok');
      } else {
        retype('Got it. Type the phrase again (' + samples + ' of ' + required + ' done).', 'ok');
      }
      return;
    }
    if (status === 200 && body.action === 'verify' && body.result === 1 && body.otp) {
      showCode(String(body.otp));
      return;
    }
    if (status === 200 && body.action === 'verify' && body.result === 0) {
      var left = body.attemptsLeft;
      var miss = 'That did not match how you usually type.';
      if (typeof left === 'number' && left <= 0) {
        done(miss + ' No attempts left.', 'error');
      } else if (typeof left === 'number') {
        retype(miss + ' Try again (' + plural(left, 'attempt', 'attempts') + ' left).', 'error');
      } else {
        retype(miss + ' Try again.', 'error');
      }
      return;
    }
    if (status === 403 && (body.code === 104 || body.code === 105)) {
      var mins = body.tryAgainMinutes;
      done(message || ('Too many attempts. Try again' +
        (typeof mins === 'number' ? ' in ' + plural(mins, 'minute', 'minutes') : ' later') + '.'), 'error');
      return;
    }
    if (status === 403 || status === 404 || status === 410) {
      // The link has expired, was used already, or is not valid.
      done(message || 'This link is no longer valid. Sign in again to get a new one.', 'error');
      return;
    }
    if (status === 429) {
      say(message || 'Too many requests. Wait a moment and try again.', 'error');
      return;
    }
    if (status >= 400 && status < 500) {
      retype(message || 'Something was wrong with that attempt. Please type the phrase again.', 'error');
      return;
    }
    say(message || 'Something went wrong on our side. Try again in a moment.', 'error');
  }

  function submit(e) {
    e.preventDefault();
    if (busy) {
      return;
    }
    var typed = input.value.trim().toLowerCase();
    if (typed.length === 0) {
      retype('Type the phrase shown in the picture.', 'error');
      return;
    }
    if (typed.length !== length) {
      retype('That does not match the phrase. Please type it again.', 'error');
      return;
    }
    var tp = recorder.pattern(textId, length);
    if (!tp) {
      retype('Please type the phrase again, key by key (pasted or corrected text cannot be measured).', 'error');
      return;
    }
    busy = true;
    button.disabled = true;
    root.setAttribute('aria-busy', 'true');
    say('Checking\u2026');
    var status = 0;
    fetch('/verify-otp', {
      method: 'POST',
      headers: { 'Content-Type': 'application/json' },
      body: JSON.stringify({ cid: cid, tp: tp, textId: textId }),
      credentials: 'same-origin',
      cache: 'no-store',
      referrerPolicy: 'no-referrer'
    }).then(function (res) {
      status = res.status;
      return res.json().catch(function () { return null; });
    }).then(function (body) {
      handle(status, body);
    }, function () {
      // The typing is still recorded: sending again needs no retyping.
      say('Network problem, try again.', 'error');
    }).catch(function () {
      say('Something went wrong. Reload the page and try again.', 'error');
    }).then(function () {
      busy = false;
      button.disabled = false;
      root.removeAttribute('aria-busy');
    });
  }

  form.addEventListener('submit', submit);
  copyBtn.addEventListener('click', copyCode);
  // Do not keep the code in a page the browser stores for the back button.
  window.addEventListener('pagehide', function (e) {
    if (e.persisted) {
      otpEl.textContent = '';
    }
  });
  showProgress();
})();
