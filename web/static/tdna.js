/*
 * SMS+ adapter for the TypingDNA recorder.
 *
 * In TypingDNA mode the page loads TypingDNA's own recorder (typingdna.js, from
 * the URL in TYPINGDNA_RECORDER_URL) and then this file, which gives page.js the
 * interface recorder.js gives in local mode:
 *
 *   var rec = SMSPlusRecorder.attach(input);
 *   rec.pattern(textId, length) // TypingDNA same-text pattern, or null
 *   rec.reset()                 // after clearing the input
 *   rec.detach()
 *
 * pattern() asks the recorder for a type 1 ("diagram") pattern of the text in the
 * input, under the user's text id: key timings (and, on phones, motion) in typing
 * order, never the characters. TypingDNA matches it against the user's profile
 * for that text id. When the recorder did not load, SMSPlusRecorder is null and
 * the page says so.
 */
(function (global) {
  'use strict';

  var TDNA = global.TypingDNA;
  if (typeof TDNA !== 'function') {
    global.SMSPlusRecorder = null;
    return;
  }

  function Adapter(input) {
    this.input = input;
    this.tdna = new TDNA(); // a singleton: it records from the moment it exists
    this.tdna.addTarget(input.id);
  }

  Adapter.prototype.pattern = function (textId, length) {
    var text = (this.input.value || '').trim();
    if (!(length > 0) || text.length !== length) {
      return null;
    }
    var tp = this.tdna.getTypingPattern({
      type: 1,
      text: text,
      textId: Number(textId),
      targetId: this.input.id
    });
    return typeof tp === 'string' && tp !== '' ? tp : null;
  };

  Adapter.prototype.reset = function () {
    this.tdna.reset();
  };

  Adapter.prototype.detach = function () {
    this.tdna.removeTarget(this.input.id);
    this.tdna.stop();
  };

  global.SMSPlusRecorder = {
    FORMAT: 'typingdna',
    attach: function (input) { return new Adapter(input); }
  };
})(typeof window !== 'undefined' ? window : this);
