// Signing in for tests, as a program does: POST /api/v1/session, then
// "Authorization: Bearer <token>" on REST and on the WebSocket upgrade.
import { createHmac } from 'node:crypto';

export const DEMO_PASSWORD = process.env.EDLIVE_DEMO_PASSWORD || 'edlive-demo';
export const ADMIN_TOTP_SECRET = process.env.EDLIVE_DEMO_ADMIN_TOTP || 'JBSWY3DPEHPK3PXPJBSWY3DPEHPK3PXP';

function base32Decode(text) {
  const alphabet = 'ABCDEFGHIJKLMNOPQRSTUVWXYZ234567';
  let bits = 0, value = 0;
  const out = [];
  for (const ch of text.replace(/=+$/, '').toUpperCase()) {
    const v = alphabet.indexOf(ch);
    if (v < 0) throw new Error('not base32');
    value = (value << 5) | v;
    bits += 5;
    if (bits >= 8) {
      out.push((value >>> (bits - 8)) & 0xff);
      bits -= 8;
    }
  }
  return Buffer.from(out);
}

// RFC 6238: HMAC-SHA1, 30 s steps, 6 digits; `step` defaults to now.
export function totpCode(secretBase32, step = Math.floor(Date.now() / 1000 / 30)) {
  const msg = Buffer.alloc(8);
  msg.writeBigUInt64BE(BigInt(step));
  const mac = createHmac('sha1', base32Decode(secretBase32)).update(msg).digest();
  const offset = mac[mac.length - 1] & 0x0f;
  const code = (mac.readUInt32BE(offset) & 0x7fffffff) % 1000000;
  return String(code).padStart(6, '0');
}

// Signs in at apiUrl (ed-api directly, http) and returns { status, token, body }.
export async function signIn(apiUrl, username, { password = DEMO_PASSWORD, totp, headers = {} } = {}) {
  const body = { username, password };
  if (totp) body.totp = totp;
  const res = await fetch(`${apiUrl}/api/v1/session`, {
    method: 'POST',
    headers: { 'content-type': 'application/json', ...headers },
    body: JSON.stringify(body),
  });
  const json = await res.json().catch(() => null);
  return { status: res.status, token: json && json.token, body: json, headers: res.headers };
}

// The token of a demo user, or a thrown error naming the user.
export async function tokenFor(apiUrl, username, options) {
  const r = await signIn(apiUrl, username, options);
  if (r.status !== 201) throw new Error(`sign-in of ${username} failed: ${r.status} ${JSON.stringify(r.body)}`);
  return r.token;
}

export const bearer = (token) => ({ authorization: `Bearer ${token}` });
