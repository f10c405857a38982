// The browser side of undersigned's verified-anonymous signing (DESIGN.md, "The verified-anonymous
// signing protocol"): @cloudflare/blindrsa-ts, variant RSABSSA-SHA384-PSS-Randomized (RFC 9474),
// behind a small global API that speaks base64url strings, the encoding of every byte string in our
// HTTP API. Built into src/undersigned/static/js/blindrsa.bundle.js by js/build.sh.
//
//   const api = window.UndersignedBlindRSA;
//   const key = await api.importPublicKey(spki);          // spki: base64url SPKI DER from /keys
//   const prepared = api.prepare(api.randomMessage());     // keep secret until submission
//   const { blindedMsg, inv } = await api.blind(key, prepared);  // send blindedMsg, keep inv
//   const sig = await api.finalize(key, prepared, blindSig, inv); // blindSig from the server
//   // submit { message: prepared, signature: sig }; anyone can check with api.verify(key, prepared, sig)
//
// Every function that takes `publicKey` accepts either a CryptoKey from importPublicKey() or the
// base64url SPKI string itself. Errors are thrown as Error (TypeError for malformed base64url).

import { RSABSSA } from '@cloudflare/blindrsa-ts';

const VARIANT = 'RSABSSA-SHA384-PSS-Randomized';
const suite = RSABSSA.SHA384.PSS.Randomized();
const B64URL = /^[A-Za-z0-9_-]*$/;

function toB64url(bytes) {
  let binary = '';
  for (const b of new Uint8Array(bytes)) binary += String.fromCharCode(b);
  return btoa(binary).replace(/\+/g, '-').replace(/\//g, '_').replace(/=+$/, '');
}

// Strict: URL-safe alphabet, no padding, canonical (the inverse of toB64url).
function fromB64url(text) {
  if (typeof text !== 'string' || !B64URL.test(text) || text.length % 4 === 1) {
    throw new TypeError('not base64url');
  }
  const padded = text.replace(/-/g, '+').replace(/_/g, '/') + '='.repeat((4 - (text.length % 4)) % 4);
  const binary = atob(padded);
  const bytes = new Uint8Array(binary.length);
  for (let i = 0; i < binary.length; i++) bytes[i] = binary.charCodeAt(i);
  if (toB64url(bytes) !== text) throw new TypeError('not base64url');
  return bytes;
}

// WebCrypto wants the rsaEncryption SubjectPublicKeyInfo; blindrsa-ts wants an extractable RSA-PSS
// SHA-384 key (it reads n and e through a JWK export).
async function importPublicKey(spkiB64url) {
  return crypto.subtle.importKey(
    'spki',
    fromB64url(spkiB64url),
    { name: 'RSA-PSS', hash: 'SHA-384' },
    true,
    ['verify'],
  );
}

async function asKey(publicKey) {
  return typeof publicKey === 'string' ? importPublicKey(publicKey) : publicKey;
}

// Key id as the server computes it: lowercase hex SHA-256 of the SPKI DER.
async function keyId(spkiB64url) {
  const digest = new Uint8Array(await crypto.subtle.digest('SHA-256', fromB64url(spkiB64url)));
  return Array.from(digest, (b) => b.toString(16).padStart(2, '0')).join('');
}

// A fresh random token message (default 32 bytes), base64url.
function randomMessage(length = 32) {
  return toB64url(crypto.getRandomValues(new Uint8Array(length)));
}

// RFC 9474 Prepare: 32 random bytes || msg. Synchronous; returns base64url.
function prepare(msgB64url) {
  return toB64url(suite.prepare(fromB64url(msgB64url)));
}

// RFC 9474 Blind: returns { blindedMsg, inv }, both base64url of the modulus length.
async function blind(publicKey, preparedB64url) {
  const { blindedMsg, inv } = await suite.blind(await asKey(publicKey), fromB64url(preparedB64url));
  return { blindedMsg: toB64url(blindedMsg), inv: toB64url(inv) };
}

// RFC 9474 Finalize: returns the RSASSA-PSS signature, base64url; throws if it does not verify.
async function finalize(publicKey, preparedB64url, blindSigB64url, invB64url) {
  const sig = await suite.finalize(
    await asKey(publicKey),
    fromB64url(preparedB64url),
    fromB64url(blindSigB64url),
    fromB64url(invB64url),
  );
  return toB64url(sig);
}

// RSASSA-PSS verification (SHA-384, MGF1-SHA-384, salt 48). Resolves to true or false.
async function verify(publicKey, preparedB64url, sigB64url) {
  return suite.verify(await asKey(publicKey), fromB64url(sigB64url), fromB64url(preparedB64url));
}

const api = Object.freeze({
  variant: VARIANT,
  importPublicKey,
  keyId,
  randomMessage,
  prepare,
  blind,
  finalize,
  verify,
  toB64url,
  fromB64url,
});

globalThis.UndersignedBlindRSA = api;
