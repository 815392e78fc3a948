/**
 * Requests in flight per client address (--max-requests-per-ip): a map from address to count,
 * entries removed at zero, so its size is bounded by the requests in flight.
 */

import type { ServerResponse } from 'node:http';
import type { Http2ServerResponse } from 'node:http2';

export class RequestsPerIp {
  readonly #inFlight = new Map<string, number>();

  constructor(readonly max: number) {}

  /** Counts a request until its response closes; false (nothing counted) when the address is at the cap. */
  admit(address: string, res: ServerResponse | Http2ServerResponse): boolean {
    const count = this.#inFlight.get(address) ?? 0;
    if (count >= this.max) return false;
    this.#inFlight.set(address, count + 1);
    res.once('close', () => this.#release(address));
    return true;
  }

  #release(address: string): void {
    const count = (this.#inFlight.get(address) ?? 1) - 1;
    if (count <= 0) this.#inFlight.delete(address);
    else this.#inFlight.set(address, count);
  }
}
