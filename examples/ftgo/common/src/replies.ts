/**
 * A saga participant's answer to a command: `Success` (with what the step hands back) or `Failure` (with
 * the reason), on the channel the command names in `replyTo`, with its `correlationId` (the saga id),
 * written to the outbox in the handler's transaction.
 */

import type { PoolConnection } from 'mysql2/promise';
import type { Message } from './messages.js';
import { addToOutbox } from './outbox.js';

export async function replySuccess(
  conn: PoolConnection,
  command: Message,
  payload: Record<string, unknown> = {},
): Promise<void> {
  await reply(conn, command, 'Success', payload);
}

export async function replyFailure(conn: PoolConnection, command: Message, reason: string): Promise<void> {
  await reply(conn, command, 'Failure', { reason });
}

async function reply(
  conn: PoolConnection,
  command: Message,
  type: 'Success' | 'Failure',
  payload: Record<string, unknown>,
): Promise<void> {
  // A command without a reply channel is one nobody waits for: its effect stands, nothing is sent.
  if (!command.replyTo) return;
  await addToOutbox(conn, {
    destination: command.replyTo,
    type,
    ...(command.correlationId ? { correlationId: command.correlationId } : {}),
    payload,
  });
}
