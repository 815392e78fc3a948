/**
 * Property tests of the bytes the broker reads (src/protocol.ts): any input gives a value or a verdict,
 * never a throw; a verdict never waits for more than the limit allows (so the bytes buffered for it are
 * bounded); and what the broker writes reads back as written.
 */

import fc from 'fast-check';
import t from 'tap';
import {
  checkClientFirstPacket,
  errPacket,
  loginPacket,
  maxGreetingBytes,
  packet,
  packetHeaderBytes,
  parseErrPayload,
  parseServerHello,
  readPacket,
} from '../src/protocol.js';

const runs = { numRuns: 400 };

/** Random bytes, and bytes that start with a plausible header (any length, any sequence). */
const bytes = fc.uint8Array({ maxLength: 300 }).map((a) => Buffer.from(a));
const framedBytes = fc
  .record({
    length: fc.oneof(fc.integer({ min: 0, max: 300 }), fc.integer({ min: 0, max: 0xff_ffff })),
    sequence: fc.integer({ min: 0, max: 255 }),
    body: fc.uint8Array({ maxLength: 300 }),
  })
  .map(({ length, sequence, body }) => {
    const header = Buffer.alloc(packetHeaderBytes);
    header.writeUIntLE(length, 0, 3);
    header[3] = sequence;
    return Buffer.concat([header, body]);
  });
const anyInput = fc.oneof(bytes, framedBytes);

t.test('readPacket: undefined or a packet inside the buffer', async (t) => {
  fc.assert(
    fc.property(anyInput, (buffer) => {
      const read = readPacket(buffer);
      if (!read) return buffer.length < packetHeaderBytes || buffer.readUIntLE(0, 3) + 4 > buffer.length;
      return read.size <= buffer.length && read.payload.length === read.size - packetHeaderBytes;
    }),
    runs,
  );
  t.pass('held for every input');
});

t.test('packet and readPacket round-trip', async (t) => {
  fc.assert(
    fc.property(fc.integer({ min: 0, max: 255 }), fc.uint8Array({ maxLength: 2000 }), (sequence, payload) => {
      const read = readPacket(packet(sequence, Buffer.from(payload)));
      return read?.sequence === sequence && Buffer.from(payload).equals(read.payload);
    }),
    runs,
  );
  t.pass('held for every input');
});

t.test('parseServerHello: never throws; waits only for a packet within maxGreetingBytes', async (t) => {
  fc.assert(
    fc.property(anyInput, (buffer) => {
      const hello = parseServerHello(buffer);
      if (hello === undefined) {
        // Incomplete, and completing it would stay within the limit.
        return buffer.length < packetHeaderBytes || buffer.readUIntLE(0, 3) <= maxGreetingBytes;
      }
      return ['greeting', 'error', 'other', 'oversized'].includes(hello.kind);
    }),
    runs,
  );
  t.pass('held for every input');
});

t.test('parseErrPayload: never throws; errPacket reads back', async (t) => {
  fc.assert(
    fc.property(bytes, (payload) => typeof parseErrPayload(payload).code === 'number'),
    runs,
  );
  fc.assert(
    fc.property(
      fc.integer({ min: 0, max: 0xffff }),
      fc.string({ maxLength: 200 }),
      fc.option(fc.stringMatching(/^[0-9A-Z]{5}$/), { nil: undefined }),
      (code, message, state) => {
        // Without a SQL state, a message starting with '#' would read as one: the broker's never do.
        fc.pre(state !== undefined || !message.startsWith('#'));
        const written = readPacket(errPacket(code, message, 2, state));
        const parsed = written && parseErrPayload(written.payload);
        return written?.sequence === 2 && parsed?.code === code && parsed.message === message;
      },
    ),
    runs,
  );
  t.pass('held for every input');
});

t.test('checkClientFirstPacket: a verdict once 4 + maxBytes bytes are in, never a throw', async (t) => {
  fc.assert(
    fc.property(anyInput, fc.integer({ min: 64, max: 1024 }), (buffer, maxBytes) => {
      const verdict = checkClientFirstPacket(buffer, maxBytes);
      if (buffer.length >= packetHeaderBytes + maxBytes && verdict.kind === 'incomplete') return false;
      if (verdict.kind === 'oversized') return buffer.readUIntLE(0, 3) > maxBytes;
      if (verdict.kind === 'ok') return verdict.size <= buffer.length && verdict.size <= 4 + maxBytes;
      return true;
    }),
    runs,
  );
  t.pass('held for every input');
});

t.test('checkClientFirstPacket: any prefix of a valid packet is incomplete, the whole ok', async (t) => {
  const user = fc.string({ minLength: 1, maxLength: 80 }).filter((u) => !u.includes('\0'));
  fc.assert(
    fc.property(user, fc.nat(), (name, cut) => {
      const login = loginPacket(name, 1);
      const prefix = login.subarray(0, cut % login.length);
      return (
        checkClientFirstPacket(prefix, 1024).kind === 'incomplete' &&
        checkClientFirstPacket(login, 1024).kind === 'ok'
      );
    }),
    runs,
  );
  t.pass('held for every input');
});
