// adt_client.mjs: a registration system's side of ed-mllp, with an HL7 v2 MLLP client nobody on
// the team wrote (@medplum/hl7 4.5.2, the last release whose engines allow Node 20; package.json
// beside this file, installed by deploy/local/test with `npm ci`). Not a test itself: the
// integration test mllp_medplum.test.mjs and the browser test web/tests/adt_board.browser.test.mjs
// use it.
//
//   EDLIVE_MLLP_PORT   ed-mllp's port (deploy/local/test exports it with the others)
//
// send() hands medplum the message text: a message medplum can parse goes through sendAndWait()
// (which matches the ACK by MSA-2 = MSH-10); one it cannot (a BOM before MSH, a batch, no MSH,
// no MSH-10: the files meant to be refused) goes through the connection's send() as it is, and
// the next ACK on that connection is its answer. Either way medplum frames it and parses the ACK.
import { Hl7Client } from '@medplum/hl7';
import { Hl7Message } from '@medplum/core';

export const MLLP_HOST = '127.0.0.1';
export const MLLP_PORT = Number(process.env.EDLIVE_MLLP_PORT || 0);

// A client of ed-mllp; encoding 'latin1' sends each character as one byte (for a sender that
// is not UTF-8), the default is UTF-8.
export function client({ encoding, port = MLLP_PORT } = {}) {
  return new Hl7Client({ host: MLLP_HOST, port, encoding, connectTimeout: 5000 });
}

// The message's MSH-10 as medplum reads it, or null when medplum cannot parse the message.
function medplumControlId(text) {
  try {
    const msg = Hl7Message.parse(text);
    const id = msg.getSegment('MSH')?.getField(10)?.toString();
    return id ? { msg, id } : null;
  } catch {
    return null;
  }
}

// Sends one message and resolves to its ACK (read by readAck). Rejects after timeoutMs.
// byId false: the next ACK on the connection is the answer, whatever its MSA-2 (an AR for a
// message whose MSH could not be read has none).
export async function send(c, text, { timeoutMs = 15000, byId = true } = {}) {
  const parsed = byId ? medplumControlId(text) : null;
  if (parsed) {
    // Our own time limit: medplum 4.5.2 leaves its timeoutMs timer running after the ACK came,
    // which keeps the process alive that long.
    let timer;
    const late = new Promise((_, reject) => {
      timer = setTimeout(() => reject(new Error(`no ACK for ${parsed.id} within ${timeoutMs} ms`)), timeoutMs);
    });
    try {
      return readAck(await Promise.race([c.sendAndWait(parsed.msg), late]));
    } finally {
      clearTimeout(timer);
    }
  }
  const conn = await c.connect();
  const ack = await new Promise((resolve, reject) => {
    const timer = setTimeout(() => {
      conn.removeEventListener('message', on);
      reject(new Error(`no ACK within ${timeoutMs} ms`));
    }, timeoutMs);
    const on = (ev) => {
      clearTimeout(timer);
      conn.removeEventListener('message', on);
      resolve(ev.message);
    };
    conn.addEventListener('message', on);
    conn.send({ toString: () => text }); // medplum's send() only needs the text
  });
  return readAck(ack);
}

// The parts of an ACK a sender looks at: MSH-9, MSH-11, MSH-12, MSA-1, MSA-2 and each ERR as
// {segment, seq, field, rep, comp, sub, code, severity, message}. ERR-2 (v2.5 and later) or
// ERR-1 (v2.3, v2.4: segment^sequence^field^code&text&HL70357) give the position.
export function readAck(ack) {
  const msh = ack.getSegment('MSH');
  const msa = ack.getSegment('MSA');
  const raw = (seg, n) => seg?.getField(n)?.toString() ?? '';
  const comps = (seg, n) => (seg?.getField(n)?.components?.[0] ?? []).map((x) => x ?? '');
  const num = (s) => (s ? Number(s) : 0);
  const errors = ack.getAllSegments('ERR').map((e) => {
    const loc = comps(e, 2);
    if (loc.length && loc[0]) {
      return {
        segment: loc[0], seq: num(loc[1]), field: num(loc[2]), rep: num(loc[3]), comp: num(loc[4]), sub: num(loc[5]),
        code: Number(comps(e, 3)[0]), severity: raw(e, 4), message: raw(e, 8),
      };
    }
    const eld = comps(e, 1);
    if (eld.length > 1 || (eld[0] && eld[0].includes('&'))) {
      const code = (eld[3] || '').split('&')[0];
      return { segment: eld[0] || '', seq: num(eld[1]), field: num(eld[2]), rep: 0, comp: 0, sub: 0, code: Number(code), severity: '', message: '' };
    }
    return { segment: '', seq: 0, field: 0, rep: 0, comp: 0, sub: 0, code: Number(comps(e, 3)[0]), severity: raw(e, 4), message: raw(e, 8) };
  });
  return {
    text: ack.toString(),
    type: raw(msh, 9),
    version: raw(msh, 12),
    processingId: raw(msh, 11),
    code: raw(msa, 1),
    controlId: raw(msa, 2),
    errors,
  };
}

// "PID-3", "PV1-3.1", "OBX-5", "MSH-9.2", "-" as {segment, field, comp}.
export function parseLocation(text) {
  if (!text || text === '-') return null;
  const m = /^([A-Z][A-Z0-9]{2})-(\d+)(?:\.(\d+))?$/.exec(text);
  if (!m) throw new Error(`not a location: ${text}`);
  return { segment: m[1], field: Number(m[2]), comp: m[3] ? Number(m[3]) : 0 };
}

// A short description of an ACK for assertion messages (codes and positions, never contents).
export function describeAck(a) {
  const errs = a.errors.map((e) => `${e.severity || '?'} ${e.code} at ${e.segment || '-'}-${e.field}${e.comp ? `.${e.comp}` : ''} "${e.message}"`);
  return `${a.type} MSA ${a.code}|${a.controlId}${errs.length ? `; ERR ${errs.join('; ')}` : ''}`;
}

// One HL7 DTM with an explicit offset: 20261204093000+0000.
export function dtm(ms) {
  return `${new Date(ms).toISOString().replace(/[-:T]/g, '').slice(0, 14)}+0000`;
}
