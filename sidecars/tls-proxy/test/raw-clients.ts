/**
 * Clients that say exactly what a test wants on the wire: HTTP/1.1 over TLS written by hand (from a
 * chosen local address, stopping mid-body), and HTTP/2 frames written by hand (streams past the
 * server's limit, which node's own client would never open).
 */

import { readFileSync } from 'node:fs';
import { connect as netConnect } from 'node:net';
import { type TLSSocket, connect as tlsConnect } from 'node:tls';
import type { TestPki } from './helpers.js';

export interface RawExchange {
  socket: TLSSocket;
  /** Everything received so far. */
  received(): string;
  /** Resolves when the server closes the connection. */
  closed: Promise<void>;
}

/** Opens a TLS connection (HTTP/1.1) from `localAddress` and writes `text`. */
export async function rawHttp1(
  pki: TestPki,
  port: number,
  text: string,
  localAddress = '127.0.0.1',
): Promise<RawExchange> {
  const socket = tlsConnect({
    socket: netConnect({ port, host: '127.0.0.1', localAddress }),
    ca: readFileSync(pki.caFile),
    servername: 'localhost',
    ALPNProtocols: ['http/1.1'],
  });
  socket.on('error', () => {});
  await new Promise((resolve) => socket.once('secureConnect', resolve));
  let received = '';
  socket.setEncoding('utf8');
  socket.on('data', (chunk: string) => {
    received += chunk;
  });
  const closed = new Promise<void>((resolve) => socket.once('close', () => resolve()));
  socket.write(text);
  return { socket, received: () => received, closed };
}

export interface H2Frame {
  type: number;
  flags: number;
  stream: number;
  payload: Buffer;
}

export const h2FrameType = { HEADERS: 1, RST_STREAM: 3, SETTINGS: 4, GOAWAY: 7 } as const;

/** An HTTP/2 connection spoken frame by frame. */
export class RawH2 {
  readonly frames: H2Frame[] = [];
  readonly closed: Promise<void>;
  #buffer = Buffer.alloc(0);
  #nextStream = 1;

  private constructor(readonly socket: TLSSocket) {
    socket.on('error', () => {});
    socket.on('data', (chunk: Buffer) => this.#read(chunk));
    this.closed = new Promise((resolve) => socket.once('close', () => resolve()));
  }

  /** Connects, exchanges SETTINGS (acknowledging the server's) and resolves once the server's arrived. */
  static async connect(pki: TestPki, port: number): Promise<RawH2> {
    const socket = tlsConnect({
      port,
      host: '127.0.0.1',
      ca: readFileSync(pki.caFile),
      servername: 'localhost',
      ALPNProtocols: ['h2'],
    });
    await new Promise((resolve) => socket.once('secureConnect', resolve));
    const h2 = new RawH2(socket);
    socket.write(Buffer.from('PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n'));
    h2.#frame(h2FrameType.SETTINGS, 0, 0, Buffer.alloc(0));
    while (!h2.frames.some((f) => f.type === h2FrameType.SETTINGS && (f.flags & 1) === 0)) {
      await new Promise((resolve) => socket.once('data', resolve));
    }
    h2.#frame(h2FrameType.SETTINGS, 1, 0, Buffer.alloc(0));
    return h2;
  }

  /** The SETTINGS the server sent, by identifier. */
  serverSettings(): Map<number, number> {
    const settings = new Map<number, number>();
    const frame = this.frames.find((f) => f.type === h2FrameType.SETTINGS && (f.flags & 1) === 0);
    for (let i = 0; frame && i + 6 <= frame.payload.length; i += 6) {
      settings.set(frame.payload.readUInt16BE(i), frame.payload.readUInt32BE(i + 2));
    }
    return settings;
  }

  /** Sends a complete GET (HEADERS with END_STREAM) on a new stream; returns the stream id. */
  get(path: string): number {
    const stream = this.#nextStream;
    this.#nextStream += 2;
    const literal = (index: number, value: string) =>
      Buffer.concat([Buffer.from([index, value.length]), Buffer.from(value, 'latin1')]);
    const block = Buffer.concat([
      Buffer.from([0x82, 0x87]), // :method GET, :scheme https (static table)
      literal(0x04, path), // :path, literal without indexing
      literal(0x01, 'localhost'), // :authority
    ]);
    this.#frame(h2FrameType.HEADERS, 0x5 /* END_STREAM | END_HEADERS */, stream, block);
    return stream;
  }

  /** RST_STREAM error codes the server sent, by stream. */
  resets(): Map<number, number> {
    const resets = new Map<number, number>();
    for (const f of this.frames) {
      if (f.type === h2FrameType.RST_STREAM) resets.set(f.stream, f.payload.readUInt32BE(0));
    }
    return resets;
  }

  destroy(): void {
    this.socket.destroy();
  }

  #frame(type: number, flags: number, stream: number, payload: Buffer): void {
    const head = Buffer.alloc(9);
    head.writeUIntBE(payload.length, 0, 3);
    head.writeUInt8(type, 3);
    head.writeUInt8(flags, 4);
    head.writeUInt32BE(stream, 5);
    if (this.socket.writable) this.socket.write(Buffer.concat([head, payload]));
  }

  #read(chunk: Buffer): void {
    this.#buffer = Buffer.concat([this.#buffer, chunk]);
    while (this.#buffer.length >= 9) {
      const length = this.#buffer.readUIntBE(0, 3);
      if (this.#buffer.length < 9 + length) return;
      this.frames.push({
        type: this.#buffer.readUInt8(3),
        flags: this.#buffer.readUInt8(4),
        stream: this.#buffer.readUInt32BE(5) & 0x7fffffff,
        payload: this.#buffer.subarray(9, 9 + length),
      });
      this.#buffer = this.#buffer.subarray(9 + length);
    }
  }
}
