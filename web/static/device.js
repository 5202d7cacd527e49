/*
 * SMS+ proofs: what page.js sends with a typing pattern besides its timings.
 *
 *   SMSPlusProof.make(cid, typed, tp)
 *     -> Promise of {phraseProof, deviceKey, deviceProof} (the last two only
 *        where the browser can keep a key); rejects without WebCrypto.
 *
 * phraseProof proves which text was typed without sending it:
 * base64url(HMAC-SHA256(key = the challenge id, message = the text typed,
 * normalized as the server normalizes the phrase: words separated by one
 * space, lower case)). The server compares it with the same digest of the
 * phrase shown (host/internal/challenge, PhraseProof).
 *
 * deviceKey and deviceProof bind the request to this browser and this link: a
 * non-extractable ECDSA P-256 key, made the first time and kept in IndexedDB
 * (database "smsplus", store "keys"), signs
 *   "smsplus-device-proof-v1\n" + cid + "\n" + phraseProof + "\n" + tp
 * (SHA-256, IEEE P1363 r||s, base64url); deviceKey is its public key (SPKI,
 * base64url). The private key can be used by this page but never read, not
 * even by this script. Where IndexedDB is missing or fails (some private
 * modes), no key is sent: the device cookie alone vouches for the browser.
 * Safari deletes script-written storage after 7 days without a visit; the
 * page then makes a new key, which the server registers after the next pass.
 *
 * This is the only script that touches browser storage, and all it stores is
 * that key pair: never the code, the phrase or the typing.
 */
(function (global) {
  'use strict';

  var DB = 'smsplus';
  var STORE = 'keys';
  var KEY = 'device';
  var KEY_WAIT_MS = 1500; // a key that is not ready by then is left out
  var ALG = { name: 'ECDSA', namedCurve: 'P-256' };
  var SIGN = { name: 'ECDSA', hash: 'SHA-256' };

  var subtle = global.crypto && global.crypto.subtle;

  function b64url(buf) {
    var bytes = new Uint8Array(buf);
    var s = '';
    for (var i = 0; i < bytes.length; i++) {
      s += String.fromCharCode(bytes[i]);
    }
    return global.btoa(s).replace(/\+/g, '-').replace(/\//g, '_').replace(/=+$/, '');
  }

  function utf8(s) {
    return new global.TextEncoder().encode(s);
  }

  function normalize(text) {
    var words = String(text || '').split(/\s+/).filter(function (w) { return w !== ''; });
    return words.join(' ').toLowerCase();
  }

  function phraseProof(cid, typed) {
    return subtle.importKey('raw', utf8(cid), { name: 'HMAC', hash: 'SHA-256' }, false, ['sign'])
      .then(function (k) { return subtle.sign('HMAC', k, utf8(normalize(typed))); })
      .then(b64url);
  }

  // request wraps an IndexedDB request in a promise.
  function request(r) {
    return new Promise(function (resolve, reject) {
      r.onsuccess = function () { resolve(r.result); };
      r.onerror = function () { reject(r.error); };
    });
  }

  function openDB() {
    var idb = global.indexedDB;
    if (!idb) {
      return Promise.reject(new Error('no IndexedDB'));
    }
    var open = idb.open(DB, 1);
    open.onupgradeneeded = function () { open.result.createObjectStore(STORE); };
    return request(open);
  }

  function usable(pair) {
    return !!(pair && pair.privateKey && pair.publicKey);
  }

  // loadKey returns the browser's key pair: the stored one, or a new one
  // stored now. Of two pages making one at once, the first stored wins.
  function loadKey() {
    return openDB().then(function (db) {
      var read = db.transaction(STORE, 'readonly').objectStore(STORE).get(KEY);
      return request(read).then(function (pair) {
        if (usable(pair)) {
          return pair;
        }
        return subtle.generateKey(ALG, false, ['sign', 'verify']).then(function (made) {
          var tx = db.transaction(STORE, 'readwrite');
          var store = tx.objectStore(STORE);
          return request(store.get(KEY)).then(function (other) {
            if (usable(other)) {
              return other;
            }
            store.put(made, KEY);
            return new Promise(function (resolve, reject) {
              tx.oncomplete = function () { resolve(made); };
              tx.onerror = function () { reject(tx.error); };
              tx.onabort = function () { reject(tx.error); };
            });
          });
        });
      });
    });
  }

  var keyPair = null; // a promise, started as soon as the page loads
  function key() {
    if (!keyPair) {
      keyPair = subtle ? loadKey().then(function (pair) {
        return subtle.exportKey('spki', pair.publicKey).then(function (spki) {
          return { privateKey: pair.privateKey, publicKey: b64url(spki) };
        });
      }) : Promise.reject(new Error('no WebCrypto'));
      keyPair.catch(function () {});
    }
    return keyPair;
  }

  // withDeadline resolves with p's value, or null if p fails or takes too long.
  function withDeadline(p, ms) {
    return new Promise(function (resolve) {
      var timer = global.setTimeout(function () { resolve(null); }, ms);
      p.then(function (v) { global.clearTimeout(timer); resolve(v); },
        function () { global.clearTimeout(timer); resolve(null); });
    });
  }

  function make(cid, typed, tp) {
    if (!subtle || !global.TextEncoder) {
      return Promise.reject(new Error('no WebCrypto'));
    }
    return phraseProof(cid, typed).then(function (proof) {
      var out = { phraseProof: proof };
      return withDeadline(key(), KEY_WAIT_MS).then(function (k) {
        if (!k) {
          return out;
        }
        var msg = 'smsplus-device-proof-v1\n' + cid + '\n' + proof + '\n' + tp;
        return subtle.sign(SIGN, k.privateKey, utf8(msg)).then(function (sig) {
          out.deviceKey = k.publicKey;
          out.deviceProof = b64url(sig);
          return out;
        }, function () { return out; });
      });
    });
  }

  if (subtle) {
    key(); // load or make the key while the user reads the phrase
  }
  global.SMSPlusProof = { make: make, normalize: normalize };
})(typeof window !== 'undefined' ? window : this);
