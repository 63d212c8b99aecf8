// A WebSocket client on a bare TCP socket, for what the built-in WebSocket cannot do: stop
// reading (a frozen tablet) and cut the connection without a close handshake (a dead network).
// Otherwise it behaves as a browser's: pings answered, a close frame answered with a close.
import net from 'node:net';
import tls from 'node:tls';
import { randomBytes } from 'node:crypto';

export class RawSocket {
  // url: ws://host:port/path (the hub directly) or wss://... (through nginx; the CA from
  // NODE_EXTRA_CA_CERTS). onFrame(text) for each text frame.
  constructor(url, token, onFrame) {
    this.url = new URL(url);
    this.token = token;
    this.onFrame = onFrame;
    this.buf = Buffer.alloc(0);
    this.upgraded = false;
    this.closeCode = null;
    this.closed = new Promise((resolve) => { this.resolveClosed = resolve; });
  }

  open() {
    return new Promise((resolve, reject) => {
      const secure = this.url.protocol === 'wss:';
      const s = secure ? tls.connect({ port: Number(this.url.port), host: this.url.hostname })
        : net.connect(Number(this.url.port), this.url.hostname);
      this.sock = s;
      s.on(secure ? 'secureConnect' : 'connect', () => {
        s.write(`GET ${this.url.pathname} HTTP/1.1\r\nHost: ${this.url.host}\r\nUpgrade: websocket\r\n` +
          `Connection: Upgrade\r\nSec-WebSocket-Key: ${randomBytes(16).toString('base64')}\r\n` +
          `Sec-WebSocket-Version: 13\r\nAuthorization: Bearer ${this.token}\r\n\r\n`);
      });
      s.on('data', (chunk) => {
        this.buf = Buffer.concat([this.buf, chunk]);
        if (!this.upgraded) {
          const end = this.buf.indexOf('\r\n\r\n');
          if (end < 0) return;
          const head = this.buf.subarray(0, end).toString();
          this.buf = this.buf.subarray(end + 4);
          if (!/^HTTP\/1\.1 101/.test(head)) {
            reject(new Error(`upgrade refused: ${head.split('\r\n')[0]}`));
            s.destroy();
            return;
          }
          this.upgraded = true;
          resolve();
        }
        this.parse();
      });
      s.on('error', (e) => { if (!this.upgraded) reject(e); });
      s.on('close', () => this.resolveClosed(this.closeCode));
    });
  }

  parse() {
    for (;;) {
      if (this.buf.length < 2) return;
      const op = this.buf[0] & 0x0f;
      let len = this.buf[1] & 0x7f;
      let off = 2;
      if (len === 126) {
        if (this.buf.length < 4) return;
        len = this.buf.readUInt16BE(2);
        off = 4;
      } else if (len === 127) {
        if (this.buf.length < 10) return;
        len = Number(this.buf.readBigUInt64BE(2));
        off = 10;
      }
      if (this.buf.length < off + len) return;
      const payload = this.buf.subarray(off, off + len);
      this.buf = this.buf.subarray(off + len);
      if (op === 0x1) this.onFrame(payload.toString());
      else if (op === 0x9) this.sendFrame(0xa, payload); // ping: pong
      else if (op === 0x8) {
        // The closing handshake, as a browser does it (RFC 6455 5.5.1): the code echoed at once,
        // and the server ends the TCP connection. Without the echo the hub waits for it (a
        // draining hub up to its 3 s), and this client saw every close that much late.
        if (this.closeCode === null) this.sendFrame(0x8, payload.subarray(0, 2));
        this.closeCode = payload.length >= 2 ? payload.readUInt16BE(0) : 1005;
      }
    }
  }

  sendFrame(op, data) {
    const payload = Buffer.isBuffer(data) ? data : Buffer.from(data);
    const mask = randomBytes(4);
    const head = payload.length < 126 ? Buffer.from([0x80 | op, 0x80 | payload.length])
      : Buffer.from([0x80 | op, 0x80 | 126, payload.length >> 8, payload.length & 0xff]);
    const body = Buffer.from(payload.map((b, i) => b ^ mask[i % 4]));
    this.sock.write(Buffer.concat([head, mask, body]));
  }

  send(msg) { this.sendFrame(0x1, JSON.stringify(msg)); }

  // Stop reading: the kernel buffers fill and the hub can no longer write to us.
  freeze() { this.sock.pause(); }
  thaw() { this.sock.resume(); }

  // Gone without a close handshake, as when a network path dies.
  cut() { this.sock.destroy(); }
}
