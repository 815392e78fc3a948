/**
 * A request body streamed to one upstream while a bounded copy is kept for another (a traffic split's
 * mirror). Chunks pass through as they come, with the source's own backpressure; the copy is given up
 * at `maxBytes`, so a large body costs no more memory than the limit and is never held back for it.
 */

import type { Readable } from 'node:stream';
import { finished, Transform } from 'node:stream';

export type BodyCopy = { ok: true; body: Buffer } | { ok: false; reason: 'too-large' | 'aborted' };

export interface BodyTee {
  /** What the upstream reads (the exchange's `body`). */
  body: Readable;
  /** Settles once the body has passed through whole, was over the limit, or was cut short. */
  copy: Promise<BodyCopy>;
}

export function teeBody(source: Readable, maxBytes: number): BodyTee {
  let settle!: (copy: BodyCopy) => void;
  const copy = new Promise<BodyCopy>((resolve) => {
    settle = resolve;
  });
  let chunks: Buffer[] | undefined = [];
  let size = 0;
  const body = new Transform({
    transform(chunk: Buffer, _encoding, callback) {
      size += chunk.length;
      if (size > maxBytes) chunks = undefined;
      else chunks?.push(chunk);
      callback(null, chunk);
    },
    flush(callback) {
      settle(chunks ? { ok: true, body: Buffer.concat(chunks, size) } : { ok: false, reason: 'too-large' });
      callback();
    },
  });
  // The first settlement wins: a body that ended whole has settled before its stream closes.
  body.once('close', () => settle({ ok: false, reason: 'aborted' }));
  finished(source, (err) => {
    if (err) body.destroy(err);
  });
  source.pipe(body);
  return { body, copy };
}
