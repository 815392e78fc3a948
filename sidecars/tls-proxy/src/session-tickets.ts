/**
 * What the TLS servers serve with, changed one update at a time: checked certificate sets from the
 * reloader, and new session ticket keys every --ticket-key-rotation and at once when the client trust
 * (CA bundle, CRL) changes, so a session resumed from an older ticket cannot keep an identity the new
 * trust would refuse. node holds one ticket key per context, so a rotation also ends resumption of
 * tickets sealed before it: those clients make one full handshake. Tickets live at most the session
 * timeout anyway, which is far shorter than the rotation period.
 */

import { randomBytes } from 'node:crypto';
import type { Logger } from 'pino';
import { clientTrust, type TlsMaterial } from './tls-material.js';
import type { TlsState } from './tls-server.js';

export type TicketRotationReason = 'schedule' | 'client_trust_changed';

export class TlsStateKeeper {
  #state: TlsState;
  #queue: Promise<unknown> = Promise.resolve();
  #timer: NodeJS.Timeout | undefined;

  constructor(
    material: TlsMaterial,
    private readonly apply: (state: TlsState) => Promise<void> | void,
    private readonly log: Logger,
  ) {
    this.#state = { material, ticketKeys: newTicketKeys() };
  }

  get state(): TlsState {
    return this.#state;
  }

  /** Rotates the ticket keys every `intervalMs` until close(). */
  rotateEvery(intervalMs: number): void {
    this.#timer = setInterval(() => {
      this.rotate('schedule').catch((err: Error) =>
        this.log.warn({ err: err.message }, 'session ticket key rotation failed; the keys stay'),
      );
    }, intervalMs);
    this.#timer.unref();
  }

  /** Serves a new certificate set; new ticket keys with it when the client trust changed. */
  setMaterial(material: TlsMaterial): Promise<void> {
    return this.#enqueue(() => {
      const trustChanged = clientTrust(material) !== clientTrust(this.#state.material);
      return this.#put(
        { material, ticketKeys: trustChanged ? newTicketKeys() : this.#state.ticketKeys },
        trustChanged ? 'client_trust_changed' : undefined,
      );
    });
  }

  rotate(reason: TicketRotationReason): Promise<void> {
    return this.#enqueue(() =>
      this.#put({ material: this.#state.material, ticketKeys: newTicketKeys() }, reason),
    );
  }

  close(): void {
    clearInterval(this.#timer);
  }

  /** One update at a time, so a scheduled rotation never puts back a certificate set just replaced. */
  #enqueue(update: () => Promise<void>): Promise<void> {
    const next = this.#queue.then(update, update);
    this.#queue = next.catch(() => {});
    return next;
  }

  async #put(state: TlsState, rotation: TicketRotationReason | undefined): Promise<void> {
    await this.apply(state);
    this.#state = state;
    if (rotation === 'client_trust_changed') {
      this.log.info(
        { reason: rotation },
        'session ticket keys rotated: resumed sessions need a full handshake',
      );
    } else if (rotation) {
      this.log.debug({ reason: rotation }, 'session ticket keys rotated');
    }
  }
}

function newTicketKeys(): Buffer {
  return randomBytes(48);
}
