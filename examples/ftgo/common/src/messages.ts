/**
 * Messages between the FTGO services: commands, replies and events, all JSON on one topic exchange, routed
 * by channel name (a command channel such as `consumerService`, an event channel named after the
 * aggregate type such as `Consumer`, a saga's reply channel).
 */

export const exchange = 'ftgo';

export interface Message<T = unknown> {
  readonly messageId: string;
  readonly destination: string;
  readonly type: string;
  readonly payload: T;
  readonly aggregateType?: string;
  readonly aggregateId?: string;
  /** A saga's id on its commands and their replies. */
  readonly correlationId?: string;
  /** The channel a command's reply goes to. */
  readonly replyTo?: string;
  /** The sender's outbox sequence: increases with each message a service sends, so per aggregate too. */
  readonly eventId?: number;
}

export type OutgoingMessage<T = unknown> = Omit<Message<T>, 'messageId' | 'eventId'>;
