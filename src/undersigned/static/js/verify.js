// Verified signing in the browser (verification/protocol.md). Loaded by the verify page, after
// blindrsa.bundle.js, and by the letter page (alone), where it only submits tokens kept for later.
//
// Without WebCrypto (no JavaScript, or not a secure context) the page's plain forms are left alone:
// they use the weaker fallback in which the server prepares the token.
(function () {
  'use strict';

  var PENDING = 'undersigned-pending-signatures';
  var RECEIPT_PREFIX = 'undersigned-receipt:v1:';

  function b64urlOfText(text) {
    var bytes = new TextEncoder().encode(text);
    var binary = '';
    for (var i = 0; i < bytes.length; i++) binary += String.fromCharCode(bytes[i]);
    return btoa(binary).replace(/\+/g, '-').replace(/\//g, '_').replace(/=+$/, '');
  }

  function sortedJson(object) {
    var sorted = {};
    Object.keys(object).sort().forEach(function (key) { sorted[key] = object[key]; });
    return JSON.stringify(sorted);
  }

  function receiptText(receipt) {
    return RECEIPT_PREFIX + b64urlOfText(sortedJson(receipt));
  }

  async function postJson(url, body) {
    var response = await fetch(url, {
      method: 'POST', headers: { 'Content-Type': 'application/json' }, body: JSON.stringify(body),
      credentials: 'omit', cache: 'no-store',
    });
    var data = {};
    try { data = await response.json(); } catch (e) { /* not JSON */ }
    return { status: response.status, ok: response.ok, data: data };
  }

  // --- tokens kept for later ---------------------------------------------------------------------

  function readPending() {
    try { return JSON.parse(localStorage.getItem(PENDING) || '[]'); } catch (e) { return []; }
  }

  function writePending(items) {
    try {
      if (items.length) localStorage.setItem(PENDING, JSON.stringify(items));
      else localStorage.removeItem(PENDING);
    } catch (e) { /* storage disabled */ }
  }

  async function submitDue(onSubmitted) {
    var items = readPending();
    if (!items.length) return;
    var now = Date.now();
    var keep = [];
    for (var i = 0; i < items.length; i++) {
      var item = items[i];
      if (item.site !== location.origin || item.due > now) { keep.push(item); continue; }
      try {
        var result = await postJson('/api/v1/letters/' + encodeURIComponent(item.letter) + '/signatures',
          Object.assign({ token: item.token }, item.display));
        if (result.status >= 500) keep.push(item);  // try again on a later visit
        else if (result.ok && onSubmitted) onSubmitted();
      } catch (e) {
        keep.push(item);  // offline: later
      }
    }
    writePending(keep);
  }

  var strings = {};
  var template = document.getElementById('verify-strings');
  if (template) strings = template.dataset;

  submitDue(function () {
    var main = document.getElementById('main');
    if (main && strings.pendingSubmitted) {
      var note = document.createElement('p');
      note.className = 'notice';
      note.setAttribute('role', 'status');
      note.textContent = strings.pendingSubmitted;
      main.insertBefore(note, main.firstChild);
    }
  });

  // --- the verify page ---------------------------------------------------------------------------

  var app = document.getElementById('verify-app');
  var api = window.UndersignedBlindRSA;
  if (!app || !api || !window.isSecureContext || !window.crypto || !crypto.subtle) return;

  var slug = app.dataset.slug;
  var language = app.dataset.language || undefined;  // the page's language, for the code's email
  var base = '/api/v1/letters/' + encodeURIComponent(slug);
  var $ = function (id) { return document.getElementById(id); };
  var state = {};

  $('js-fallback-note').hidden = true;

  // Every message shown here comes from the page, translated (the #verify-strings template). The API
  // answers in English; its refusals carry a stable error_code, which names the page's message:
  // "wrong_code" → data-error-wrong-code. Anything else gets the page's generic message.
  function Refusal(code) { this.code = code; }

  function refusalOf(result) {
    return new Refusal((result.data && result.data.error_code) || '');
  }

  function messageFor(error) {
    if (error instanceof Refusal && error.code) {
      var key = 'error' + error.code.split('_').map(function (word) {
        return word.charAt(0).toUpperCase() + word.slice(1);
      }).join('');
      if (Object.prototype.hasOwnProperty.call(strings, key) && strings[key]) return strings[key];
    }
    return strings.errorGeneric || '';
  }

  function showError(error) {
    var box = $('verify-error');
    box.textContent = messageFor(error);
    box.hidden = false;
  }

  function clearError() { $('verify-error').hidden = true; }

  function busy(form, on) {
    Array.prototype.forEach.call(form.querySelectorAll('button'), function (b) { b.disabled = on; });
  }

  async function keysFor(query) {
    var response = await fetch(base + '/keys?' + query, { credentials: 'omit', cache: 'no-store' });
    var data = await response.json();
    return data.keys || [];
  }

  async function commitmentOf(secret) {
    var digest = await crypto.subtle.digest('SHA-256', new TextEncoder().encode(secret));
    return api.toB64url(new Uint8Array(digest));
  }

  // The client's half of RFC 9474, then the server's blind signature, then Finalize.
  async function getToken(key, credentials) {
    var secret = api.randomMessage(32);
    var message = 'undersigned-token:v1:' + slug + ':' + (await commitmentOf(secret));
    var prepared = api.prepare(b64urlOfText(message));
    var publicKey = await api.importPublicKey(key.public_key);
    var blinded = await api.blind(publicKey, prepared);
    var result = await postJson(base + '/tokens', Object.assign(
      { key_id: key.key_id, blinded_msg: blinded.blindedMsg }, credentials));
    if (!result.ok) throw refusalOf(result);
    var signature = await api.finalize(publicKey, prepared, result.data.blind_signature, blinded.inv);
    state.token = { key_id: key.key_id, message: prepared, signature: signature };
    state.receipt = {
      type: 'undersigned-receipt', version: 1, site: location.origin, letter: slug, company: key.company,
      key_id: key.key_id, message: prepared, signature: signature, withdrawal_secret: secret,
    };
    $('step-email').hidden = true;
    $('step-code').hidden = true;
    $('step-invitation').hidden = true;
    $('token-ready').textContent = (strings.tokenReady || '') + ' ' + key.company_name + '.';
    $('step-sign').hidden = false;
    $('step-sign-heading').focus();
  }

  $('email-form').addEventListener('submit', async function (event) {
    event.preventDefault();
    clearError();
    var form = event.target;
    var email = form.email.value.trim();
    busy(form, true);
    try {
      var result = await postJson(base + '/verifications', { email: email, language: language });
      if (result.status !== 202) throw refusalOf(result);
      state.email = email;
      var domain = email.slice(email.lastIndexOf('@') + 1);
      var found = await keysFor('domain=' + encodeURIComponent(domain));
      state.key = found[0] || null;
      $('domain-note').hidden = !!state.key;
      $('domain-note').textContent = state.key ? '' : (strings.noDomain || '');
      if (state.key) {
        $('step-code').hidden = false;
        $('code').focus();
      }
    } catch (error) {
      showError(error);
    } finally {
      busy(form, false);
    }
  });

  $('code-form').addEventListener('submit', async function (event) {
    event.preventDefault();
    clearError();
    var form = event.target;
    busy(form, true);
    try {
      await getToken(state.key, { email: state.email, code: form.code.value.trim() });
    } catch (error) {
      showError(error);
    } finally {
      busy(form, false);
    }
  });

  $('invitation-form').addEventListener('submit', async function (event) {
    event.preventDefault();
    clearError();
    var form = event.target;
    var code = form.invitation.value.trim();
    busy(form, true);
    try {
      var company = code.toLowerCase().slice(0, code.lastIndexOf('-'));
      var found = await keysFor('company=' + encodeURIComponent(company));
      if (!found.length) throw new Refusal('invitation_invalid');
      await getToken(found[0], { invitation: code });
    } catch (error) {
      showError(error);
    } finally {
      busy(form, false);
    }
  });

  function display(form) {
    var named = form.querySelector('input[name=visibility]:checked').value === 'named';
    return { name: form.name.value.trim(), role: form.role.value.trim(), comment: form.comment.value.trim(), show_name: named };
  }

  function showReceipt(receipt, message) {
    var text = receiptText(receipt);
    $('receipt-output').value = text;
    var link = $('download-receipt');
    link.href = URL.createObjectURL(new Blob([text + '\n'], { type: 'text/plain' }));
    link.download = 'undersigned-receipt-' + slug + '.txt';
    $('done-message').textContent = message;
    $('step-sign').hidden = true;
    $('step-done').hidden = false;
    $('step-done-heading').focus();
  }

  $('sign-form').addEventListener('submit', async function (event) {
    event.preventDefault();
    clearError();
    var form = event.target;
    var when = form.querySelector('input[name=when]:checked').value;
    var fields = display(form);
    if (fields.show_name && !fields.name) { showError(new Refusal('name_required')); form.name.focus(); return; }
    busy(form, true);
    try {
      if (when === 'now') {
        var result = await postJson(base + '/signatures', Object.assign({ token: state.token }, fields));
        if (result.status !== 201) throw refusalOf(result);
        showReceipt(Object.assign({}, result.data, { withdrawal_secret: state.receipt.withdrawal_secret }), strings.submitted || '');
      } else if (when === 'later') {
        // A random moment between 30 minutes and 6 hours from now.
        var delay = (30 + Math.floor(crypto.getRandomValues(new Uint32Array(1))[0] / 4294967296 * 330)) * 60000;
        var due = Date.now() + delay;
        var items = readPending();
        items.push({ site: location.origin, letter: slug, token: state.token, display: fields, due: due });
        writePending(items);
        showReceipt(state.receipt, (strings.scheduled || '') + ' ' + new Date(due).toLocaleString(language));
      } else {
        showReceipt(state.receipt, strings.elsewhere || '');
      }
    } catch (error) {
      showError(error);
    } finally {
      busy(form, false);
    }
  });

  $('copy-receipt').addEventListener('click', async function () {
    var output = $('receipt-output');
    output.select();
    try { await navigator.clipboard.writeText(output.value); } catch (e) { document.execCommand('copy'); }
    $('done-message').textContent = strings.copied || '';
  });
})();
