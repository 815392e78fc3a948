/**
 * Lines of a JSON Lines stream: split on "\n" only. node:readline also ends a line at "\r", U+2028 and
 * U+2029, which JSON.stringify leaves raw inside strings, so readline cuts valid records in two.
 */

import { StringDecoder } from 'node:string_decoder';

/** Calls onLine for each line of the stream (without its "\n"); resolves when the stream ends. */
export function readJsonLines(stream: NodeJS.ReadableStream, onLine: (line: string) => void): Promise<void> {
  const decoder = new StringDecoder('utf8');
  let pending = '';
  const take = (text: string) => {
    pending += text;
    let end = pending.indexOf('\n');
    while (end !== -1) {
      onLine(pending.slice(0, end));
      pending = pending.slice(end + 1);
      end = pending.indexOf('\n');
    }
  };
  return new Promise((resolve) => {
    stream.on('data', (chunk: Buffer | string) =>
      take(typeof chunk === 'string' ? chunk : decoder.write(chunk)),
    );
    stream.once('end', () => {
      take(decoder.end());
      if (pending) onLine(pending);
      pending = '';
      resolve();
    });
    stream.once('close', resolve);
  });
}
