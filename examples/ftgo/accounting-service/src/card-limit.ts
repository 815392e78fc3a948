/**
 * ACCOUNTING_CARD_LIMIT: the largest charge a card takes, so tests (and demos) can make a payment
 * fail deterministically by ordering above it.
 */

import { ConfigError } from '../../common/src/config.js';
import { toCents } from '../../common/src/money.js';

export const defaultCardLimit = '1000.00';

/** The limit in cents; a value that is not an amount stops the service at start (exit 2). */
export function loadCardLimit(env: NodeJS.ProcessEnv): number {
  const raw = env.ACCOUNTING_CARD_LIMIT ?? defaultCardLimit;
  const cents = toCents(raw);
  if (cents === undefined)
    throw new ConfigError(`ACCOUNTING_CARD_LIMIT must be an amount such as ${defaultCardLimit}`);
  return cents;
}
