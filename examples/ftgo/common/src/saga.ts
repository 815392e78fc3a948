/**
 * Orchestrated sagas (design notes 2.4): a saga is an ordered list of steps, each a command to a
 * participant with, where the step can be undone, its compensation. An instance lives in
 * `saga_instances`; starting one writes it and its first command in the caller's transaction, and each
 * reply (through the idempotent consumer, in the same transaction as its processed-message row) moves the
 * instance and writes the next command. So a crash anywhere loses nothing, and a reply delivered twice
 * is processed once. A `Failure` turns the saga around: the steps already done are compensated newest
 * first, then the saga ends rejected.
 */

import { randomUUID } from 'node:crypto';
import type { PoolConnection, RowDataPacket } from 'mysql2/promise';
import type { Logger } from 'pino';
import type { Handler } from './consumer.js';
import type { Migration } from './db.js';
import type { Message } from './messages.js';
import { addToOutbox } from './outbox.js';

export interface SagaCommand {
  readonly channel: string;
  readonly type: string;
  readonly payload: Record<string, unknown>;
}

export interface SagaStep<Data> {
  readonly command: (data: Data) => SagaCommand;
  /** Undoes the step once a later one failed; a step without one has nothing to undo. */
  readonly compensation?: (data: Data) => SagaCommand;
}

export interface SagaDefinition<Data> {
  /** Stored with each instance: how a reply finds its definition. */
  readonly type: string;
  readonly steps: readonly SagaStep<Data>[];
  /** Every step succeeded: the local end of the saga, in the last reply's transaction. */
  readonly completed: (conn: PoolConnection, data: Data) => Promise<void>;
  /** A step failed and the steps before it are compensated. */
  readonly rejected: (conn: PoolConnection, data: Data, reason: string) => Promise<void>;
}

export const sagaMigration: Migration = {
  id: '0000-saga-instances',
  sql: [
    `CREATE TABLE saga_instances (
      id CHAR(36) PRIMARY KEY,
      saga_type VARCHAR(100) NOT NULL,
      step INT NOT NULL,
      compensating BOOLEAN NOT NULL DEFAULT FALSE,
      state VARCHAR(20) NOT NULL,
      data TEXT NOT NULL,
      failure TEXT NULL,
      updated_at TIMESTAMP(3) NOT NULL DEFAULT CURRENT_TIMESTAMP(3) ON UPDATE CURRENT_TIMESTAMP(3)
    )`,
  ],
};

interface InstanceRow extends RowDataPacket {
  id: string;
  saga_type: string;
  step: number;
  compensating: number;
  state: string;
  data: string;
  failure: string | null;
}

export class SagaOrchestrator {
  private readonly definitions = new Map<string, SagaDefinition<never>>();

  /** `replyChannel`: where participants answer (`orderService.replies`). */
  constructor(
    readonly replyChannel: string,
    private readonly log: Logger,
  ) {}

  register<Data>(definition: SagaDefinition<Data>): void {
    this.definitions.set(definition.type, definition as SagaDefinition<never>);
  }

  /** Starts a saga in `conn`'s transaction: the instance and its first command are written together. */
  async start<Data>(conn: PoolConnection, definition: SagaDefinition<Data>, data: Data): Promise<string> {
    const id = randomUUID();
    await conn.query(
      `INSERT INTO saga_instances (id, saga_type, step, state, data) VALUES (?, ?, 0, 'RUNNING', ?)`,
      [id, definition.type, JSON.stringify(data)],
    );
    await this.send(conn, id, definition.steps[0]?.command(data));
    return id;
  }

  /** The handlers for the reply queue: both reply types move the saga named by the correlation id. */
  replyHandlers(): Record<string, Handler> {
    const handle: Handler = (conn, message) => this.onReply(conn, message);
    return { Success: handle, Failure: handle };
  }

  private async onReply(conn: PoolConnection, reply: Message): Promise<void> {
    const [rows] = await conn.query<InstanceRow[]>('SELECT * FROM saga_instances WHERE id = ? FOR UPDATE', [
      reply.correlationId ?? '',
    ]);
    const instance = rows[0];
    const definition = instance && this.definitions.get(instance.saga_type);
    if (!instance || !definition || instance.state !== 'RUNNING') {
      this.log.warn(
        { correlationId: reply.correlationId, type: reply.type },
        'reply for no running saga ignored',
      );
      return;
    }
    const data = JSON.parse(instance.data) as never;
    const compensating = instance.compensating === 1;
    if (compensating) {
      if (reply.type === 'Failure')
        this.log.error({ saga: instance.id, reply: reply.payload }, 'a compensation failed');
      return this.compensateFrom(conn, instance, definition, data, instance.step - 1);
    }
    if (reply.type === 'Failure') {
      const reason = String((reply.payload as { reason?: unknown } | undefined)?.reason ?? 'a step failed');
      await conn.query('UPDATE saga_instances SET compensating = TRUE, failure = ? WHERE id = ?', [
        reason,
        instance.id,
      ]);
      return this.compensateFrom(conn, { ...instance, failure: reason }, definition, data, instance.step - 1);
    }
    const next = instance.step + 1;
    const step = definition.steps[next];
    if (!step) {
      await conn.query(`UPDATE saga_instances SET step = ?, state = 'COMPLETED' WHERE id = ?`, [
        next,
        instance.id,
      ]);
      return definition.completed(conn, data);
    }
    await conn.query('UPDATE saga_instances SET step = ? WHERE id = ?', [next, instance.id]);
    await this.send(conn, instance.id, step.command(data));
  }

  /** Sends the compensation of the newest done step at or before `from`, or ends the saga rejected. */
  private async compensateFrom(
    conn: PoolConnection,
    instance: InstanceRow,
    definition: SagaDefinition<never>,
    data: never,
    from: number,
  ): Promise<void> {
    for (let index = from; index >= 0; index--) {
      const compensation = definition.steps[index]?.compensation;
      if (!compensation) continue;
      await conn.query('UPDATE saga_instances SET step = ? WHERE id = ?', [index, instance.id]);
      return this.send(conn, instance.id, compensation(data));
    }
    await conn.query(`UPDATE saga_instances SET step = -1, state = 'REJECTED' WHERE id = ?`, [instance.id]);
    await definition.rejected(conn, data, instance.failure ?? 'a step failed');
  }

  private async send(conn: PoolConnection, sagaId: string, command: SagaCommand | undefined): Promise<void> {
    if (!command) return;
    await addToOutbox(conn, {
      destination: command.channel,
      type: command.type,
      payload: command.payload,
      correlationId: sagaId,
      replyTo: this.replyChannel,
    });
  }
}
