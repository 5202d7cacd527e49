/*
 * SMS+ challenge page. One page holds every stage of the flow; this script moves
 * between them:
 *
 *   challenge -> result (the code; then optionally reset-now or opt-out -> done)
 *             -> locked -> reset -> done
 *
 * It records the typing with window.SMSPlusRecorder (recorder.js for the local
 * engine, tdna.js over TypingDNA's recorder), posts the pattern to /verify-otp
 * with the proofs window.SMSPlusProof makes (device.js: which text was typed,
 * and this browser's signature) and shows the answer. A browser SMS+ does not
 * know gets the "device" stage: what happened and how to reset. The code is
 * only ever kept in the page: never in the URL or in browser storage. Texts come
 * from the page's JSON data block (#texts), in the page's language.
 */
(function () {
  'use strict';

  var root = document.getElementById('page');
  if (!root) {
    return;
  }
  function $(id) { return document.getElementById(id); }

  var texts = {};
  try {
    texts = JSON.parse($('texts').textContent) || {};
  } catch (e) {
    texts = {};
  }

  // t returns the text for key with each {name} replaced by args[name].
  function t(key, args) {
    var s = typeof texts[key] === 'string' ? texts[key] : key;
    if (args) {
      Object.keys(args).forEach(function (name) {
        s = s.split('{' + name + '}').join(String(args[name]));
      });
    }
    return s;
  }

  var data = root.dataset;
  var lang = data.lang || 'en';
  var cid = data.cid || '';
  var statusEl = $('status');
  var current = data.stage;
  var STAGES = ['challenge', 'result', 'locked', 'device', 'reset', 'disable', 'done'];
  var PHONE = /^\+[1-9][0-9]{6,14}$/;

  // say puts a message in the live region next to what the user is doing: the
  // result stage has its own, under the code; the challenge form its own,
  // between the label and the field (below it, a phone's keyboard would hide it
  // once the field has the focus again); the other stages share the one after
  // them. The others are emptied, so that one message shows at a time.
  var STATUS = ['status', 'result-status', 'typed-status'];
  function statusFor() {
    if (current === 'result') {
      return $('result-status');
    }
    var form = $('form');
    if (current === 'challenge' && form && !form.hidden && $('typed-status')) {
      return $('typed-status');
    }
    return statusEl;
  }
  function say(text, kind) {
    var el = statusFor();
    STATUS.forEach(function (id) {
      var other = $(id);
      if (other && other !== el && other.textContent) {
        other.textContent = '';
        other.className = 'status';
      }
    });
    el.textContent = text || '';
    el.className = 'status' + (kind ? ' ' + kind : '');
  }

  // show makes one stage visible and moves the focus to its heading, so that
  // screen readers announce it. The language switch reloads the page, so it is
  // offered only before a code is shown.
  function show(name, focus) {
    say('');
    current = name;
    STAGES.forEach(function (s) {
      var el = $('stage-' + s);
      if (el) {
        el.hidden = s !== name;
      }
    });
    var langs = $('langs');
    if (langs) {
      langs.hidden = name !== 'challenge' && name !== 'locked' && name !== 'device';
    }
    var target = focus || $(name + '-title');
    if (target) {
      target.focus();
    }
  }

  function done(titleKey, text, more) {
    $('done-title').textContent = t(titleKey);
    $('done-text').textContent = text;
    $('done-more').textContent = more || '';
    show('done');
  }

  // post sends a JSON body and resolves with the status and the parsed answer
  // (null when it is not JSON); it rejects only on a network failure.
  function post(path, body) {
    return fetch(path, {
      method: 'POST',
      headers: { 'Content-Type': 'application/json' },
      body: JSON.stringify(body),
      credentials: 'same-origin',
      cache: 'no-store',
      referrerPolicy: 'no-referrer'
    }).then(function (res) {
      return res.json().catch(function () { return null; }).then(function (b) {
        return { status: res.status, body: b && typeof b === 'object' ? b : {} };
      });
    });
  }

  // busy disables a form's buttons while its request runs.
  function busy(form, on) {
    Array.prototype.forEach.call(form.querySelectorAll('button'), function (b) { b.disabled = on; });
    if (on) {
      form.setAttribute('aria-busy', 'true');
    } else {
      form.removeAttribute('aria-busy');
    }
  }

  // phoneOf reads a phone field in E.164: spaces, dots, dashes and brackets go,
  // and a leading 00 becomes +. An invalid number is reported on the field.
  function phoneOf(input) {
    var v = (input.value || '').replace(/[\s().-]/g, '');
    if (v.indexOf('00') === 0) {
      v = '+' + v.slice(2);
    }
    if (!PHONE.test(v)) {
      fieldError(input, t('phone.invalid'));
      return '';
    }
    input.removeAttribute('aria-invalid');
    return v;
  }

  function fieldError(input, text) {
    input.setAttribute('aria-invalid', 'true');
    say(text, 'error');
    input.focus();
  }

  // common handles the failures every request shares (rate limit, server
  // error); it returns false for anything else.
  function common(res) {
    if (res.status === 429) {
      say(t('msg.rate'), 'error');
      return true;
    }
    if (res.status >= 500) {
      say(t('msg.server'), 'error');
      return true;
    }
    return false;
  }

  function networkError() {
    say(t('msg.network'), 'error');
  }

  function formatDelay(mins) {
    if (mins >= 60 && mins % 60 === 0) {
      return t('unit.hours', { n: mins / 60 });
    }
    if (mins > 60) {
      return t('unit.hours', { n: Math.floor(mins / 60) }) + ' ' + t('unit.minutes', { n: mins % 60 });
    }
    return t('unit.minutes', { n: mins });
  }

  function formatTime(at, mins) {
    var opts = { hour: '2-digit', minute: '2-digit' };
    if (mins >= 12 * 60) {
      opts.weekday = 'short';
    }
    try {
      return at.toLocaleString(lang, opts);
    } catch (e) {
      return at.toLocaleString();
    }
  }

  // ---- Locked and reset ------------------------------------------------------

  function locked(minutes) {
    $('locked-text').textContent = typeof minutes === 'number' && minutes > 0 ?
      t('locked.user', { minutes: minutes }) : t('locked.link');
    show('locked');
  }

  // unknownDevice says this browser is not the one SMS+ knows for the user,
  // and offers the reset.
  function unknownDevice() {
    show('device');
  }

  function initReset() {
    var form = $('reset-form');
    var phone = $('reset-phone');
    var from = 'locked'; // the stage the reset was opened from
    $('reset-open').addEventListener('click', function () { from = 'locked'; show('reset', phone); });
    var deviceReset = $('device-reset');
    if (deviceReset) {
      deviceReset.addEventListener('click', function () { from = 'device'; show('reset', phone); });
    }
    $('reset-back').addEventListener('click', function () { show(from); });
    form.addEventListener('submit', function (e) {
      e.preventDefault();
      var number = phoneOf(phone);
      if (!number) {
        return;
      }
      busy(form, true);
      post('/reset-account', { cid: cid, phone: number }).then(function (res) {
        var b = res.body;
        if (res.status === 200) {
          var mins = typeof b.resetInMinutes === 'number' ? b.resetInMinutes : 0;
          var at = b.resetAt ? new Date(b.resetAt) : new Date(Date.now() + mins * 60000);
          phone.value = '';
          done('reset.title', t('reset.done', { delay: formatDelay(mins), time: formatTime(at, mins) }), t('reset.after'));
        } else if (b.code === 112) {
          fieldError(phone, t('phone.invalid'));
        } else if (b.code === 111) {
          fieldError(phone, t('phone.mismatch'));
        } else if (res.status === 404) {
          form.hidden = true;
          say(t('msg.link_dead'), 'error');
        } else if (!common(res)) {
          say(t('msg.server'), 'error');
        }
      }, networkError).then(function () { busy(form, false); });
    });
  }

  // ---- Result: the code, reset-now, opt-out ------------------------------------

  var otpEl = $('otp');
  var disableTid = '';
  var resetNowTid = '';

  function showCode(otp) {
    otpEl.textContent = otp;
    otpEl.setAttribute('aria-label', t('result.code_label', { digits: otp.split('').join(' ') }));
    var copy = $('copy');
    copy.hidden = !(navigator.clipboard && navigator.clipboard.writeText && window.isSecureContext);
    $('resetnow').hidden = !resetNowTid;
    $('disable-open').hidden = !disableTid;
    show('result', otpEl);
    say(t('result.ok'), 'ok');
  }

  function initResult() {
    $('copy').addEventListener('click', function () {
      var fail = function () { say(t('result.copy_failed'), 'error'); };
      try {
        navigator.clipboard.writeText(otpEl.textContent).then(function () { say(t('result.copied'), 'ok'); }, fail);
      } catch (e) {
        fail();
      }
    });

    var rnForm = $('resetnow-form');
    var rnPhone = $('resetnow-phone');
    var rnText = $('resetnow-text');
    $('resetnow-skip').addEventListener('click', function () {
      $('resetnow').hidden = true;
      otpEl.focus();
    });
    rnForm.addEventListener('submit', function (e) {
      e.preventDefault();
      var number = phoneOf(rnPhone);
      if (!number) {
        return;
      }
      busy(rnForm, true);
      post('/reset-account-now', { resetNowTid: resetNowTid, phoneNumber: number }).then(function (res) {
        var b = res.body;
        var end = function (text, kind) {
          resetNowTid = '';
          rnForm.hidden = true;
          rnText.textContent = text;
          say(text, kind);
        };
        if (res.status === 200) {
          end(t('resetnow.done'), 'ok');
        } else if (b.code === 112) {
          fieldError(rnPhone, t('phone.invalid'));
        } else if (b.code === 111) {
          end(t('phone.mismatch_once'), 'error'); // the token is used up
        } else if (res.status === 404) {
          end(t('msg.token_dead'), 'error');
        } else if (!common(res)) {
          say(t('msg.server'), 'error');
        }
      }, networkError).then(function () { busy(rnForm, false); });
    });

    var dForm = $('disable-form');
    var dPhone = $('disable-phone');
    $('disable-open').addEventListener('click', function () { show('disable', dPhone); });
    $('disable-back').addEventListener('click', function () { show('result', otpEl); });
    dForm.addEventListener('submit', function (e) {
      e.preventDefault();
      var number = phoneOf(dPhone);
      if (!number) {
        return;
      }
      busy(dForm, true);
      post('/disable-account', { disableTid: disableTid, phone: number }).then(function (res) {
        var b = res.body;
        var end = function (text) {
          disableTid = '';
          $('disable-open').hidden = true;
          dForm.hidden = true;
          say(text, 'error');
        };
        if (res.status === 200) {
          disableTid = '';
          done('disable.title', t('disable.done'));
        } else if (b.code === 112) {
          fieldError(dPhone, t('phone.invalid'));
        } else if (b.code === 111) {
          end(t('phone.mismatch_once'));
        } else if (res.status === 404) {
          end(t('msg.token_dead'));
        } else if (!common(res)) {
          say(t('msg.server'), 'error');
        }
      }, networkError).then(function () { busy(dForm, false); });
    });

    // Do not keep the code in a page the browser stores for the back button.
    window.addEventListener('pagehide', function (e) {
      if (e.persisted) {
        otpEl.textContent = '';
      }
    });
  }

  // ---- Challenge ------------------------------------------------------------------

  function initChallenge() {
    var form = $('form');
    var input = $('typed');
    var button = $('submit');
    var terms = $('terms');
    var enrollEl = $('enroll');
    var progress = $('progress');
    var progressText = $('progress-text');
    var textId = data.textId;
    var length = parseInt(data.length, 10);
    var samples = parseInt(data.samples, 10) || 0;
    var required = parseInt(data.required, 10) || 0;
    var enrolling = data.enrolling === 'true';
    var sending = false;

    if (!window.SMSPlusRecorder) {
      input.disabled = true;
      button.disabled = true;
      say(t('msg.recorder'), 'error');
      return;
    }
    var recorder = window.SMSPlusRecorder.attach(input);

    // retype clears the field and the recording for a fresh attempt.
    function retype(text, kind) {
      input.value = '';
      recorder.reset();
      say(text, kind);
      input.focus();
      // The field may have had the focus already (no scroll then), or the page
      // may have scrolled it to the top edge: bring its message into view too.
      var line = $('typed-status');
      if (line && line.scrollIntoView) {
        line.scrollIntoView({ block: 'nearest' });
      }
    }

    // stop ends typing on this page.
    function stop(text) {
      form.hidden = true;
      input.value = '';
      recorder.detach();
      say(text, 'error');
    }

    function showProgress() {
      if (!progress) {
        return;
      }
      var n = Math.min(samples, required);
      progress.max = required;
      progress.value = n;
      progressText.textContent = t('enroll.progress', { done: n, required: required });
    }

    function enrolled() {
      enrolling = false;
      if (enrollEl) {
        enrollEl.hidden = true;
      }
      $('lead').textContent = $('spelled') ? t('challenge.lead_spelled') : t('challenge.lead');
      button.textContent = t('input.submit');
    }

    function handle(res) {
      var b = res.body;
      // An enrollment sample was taken. (The local engine answers result 1,
      // TypingDNA result 0: nothing was compared.)
      if (res.status === 200 && b.action === 'enroll') {
        var e = b.enrollment || {};
        samples = typeof e.samples === 'number' ? e.samples : samples + 1;
        required = typeof e.required === 'number' ? e.required : required;
        showProgress();
        if (samples >= required) {
          enrolled();
          retype(t('msg.enroll_done'), 'ok');
        } else {
          retype(t('msg.enroll_next', { done: samples, required: required }), 'ok');
        }
        return;
      }
      if (res.status === 200 && b.result === 1 && b.otp) {
        disableTid = typeof b.disableTid === 'string' ? b.disableTid : '';
        resetNowTid = typeof b.resetNowTid === 'string' ? b.resetNowTid : '';
        input.value = '';
        recorder.detach();
        showCode(String(b.otp));
        return;
      }
      if (res.status === 200 && b.result === 0) {
        var left = { left: typeof b.attemptsLeft === 'number' ? b.attemptsLeft : '?' };
        if (b.reason === 'phrase') {
          retype(t('msg.phrase', left), 'error'); // other words than the picture's
        } else if (b.device === 'new') {
          retype(t('msg.device_strict', left), 'error'); // held to the strict standard
        } else {
          retype(t('msg.miss', left), 'error');
        }
        return;
      }
      if (res.status === 403 && b.code === 114) {
        recorder.detach();
        unknownDevice();
        return;
      }
      if (b.code === 115) {
        retype(t('msg.phrase_enroll'), 'error');
        return;
      }
      if (res.status === 403 && b.code === 105) {
        recorder.detach();
        locked(b.tryAgainMinutes);
        return;
      }
      if (res.status === 403 && b.code === 104) {
        recorder.detach();
        locked(0);
        return;
      }
      if (b.code === 109) {
        retype(t('msg.position_retry'), 'error');
        return;
      }
      if (b.code === 108) {
        stop(t('msg.position'));
        return;
      }
      if (res.status === 404 || b.code === 113) {
        stop(t('msg.link_dead'));
        return;
      }
      if (res.status === 400) {
        retype(t('msg.bad_pattern'), 'error');
        return;
      }
      if (!common(res)) {
        say(t('msg.server'), 'error');
      }
    }

    form.addEventListener('submit', function (e) {
      e.preventDefault();
      if (sending) {
        return;
      }
      if (terms && !terms.checked) {
        say(t('terms.required'), 'error');
        terms.focus();
        return;
      }
      var typed = input.value.trim();
      if (typed.length === 0) {
        retype(t('msg.empty'), 'error');
        return;
      }
      if (typed.length !== length) {
        retype(t('msg.length'), 'error');
        return;
      }
      var tp = recorder.pattern(textId, length);
      if (!tp) {
        retype(t('msg.untimed'), 'error');
        return;
      }
      var proofs = window.SMSPlusProof;
      if (!proofs) {
        stop(t('msg.crypto'));
        return;
      }
      sending = true;
      busy(form, true);
      say(t('msg.checking'));
      proofs.make(cid, typed, tp).then(function (p) {
        var body = { cid: cid, tp: tp, textId: textId, phraseProof: p.phraseProof };
        if (p.deviceKey && p.deviceProof) {
          body.deviceKey = p.deviceKey;
          body.deviceProof = p.deviceProof;
        }
        return post('/verify-otp', body).then(function (res) {
          if (res.status === 200 && terms) {
            // Agreed once; the first answer means the sample was taken.
            $('consent').hidden = true;
            terms = null;
          }
          handle(res);
        }, function () {
          // The typing is still recorded: sending again needs no retyping.
          networkError();
        });
      }, function () {
        stop(t('msg.crypto'));
      }).then(function () {
        sending = false;
        busy(form, false);
      });
    });

    // Engines that use motion data need the user's permission on some phones
    // (iOS asks once per page, after a tap).
    var motion = $('motion');
    var DME = window.DeviceMotionEvent;
    if (motion && data.motion === 'true' && DME && typeof DME.requestPermission === 'function') {
      motion.hidden = false;
      input.disabled = true;
      button.disabled = true;
      $('motion-allow').addEventListener('click', function () {
        DME.requestPermission().then(function (answer) {
          if (answer === 'granted') {
            motion.hidden = true;
            input.disabled = false;
            button.disabled = false;
            input.focus();
          } else {
            say(t('motion.denied'), 'error');
          }
        }, function () { say(t('motion.denied'), 'error'); });
      });
    }
    showProgress();
  }

  if (data.stage === 'challenge') {
    initChallenge();
  }
  initResult();
  initReset();
  root.setAttribute('data-ready', 'true');
  if (window.performance && performance.mark) {
    performance.mark('smsplus-ready');
  }
})();
