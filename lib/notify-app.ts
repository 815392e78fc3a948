/**
 * Telling the app about an update (options: option-groups/notify.ts), the one implementation config-sync
 * and git-pull share: a signal to the app's process, found by name or pid file afresh each time, or an
 * HTTP call through lib/http-client.ts. How often a failed call is tried again is the caller's choice
 * (`attempts`), because the two components retry for reasons their users see differently.
 */

import type { HttpClient } from './http-client.js';
import type { NotifySettings } from './option-groups/notify.js';
import { redactUrl } from './option-types.js';
import { signalProcesses } from './process-signal.js';
import { callWebhook } from './webhook.js';

export interface Notified {
  /** One line for logs: `SIGHUP to pid 42`, `HTTP 204`. */
  detail: string;
  [fact: string]: unknown;
}

/** What a webhook call carries besides the method: a component's own headers and body. */
export interface WebhookMessage {
  headers?: Record<string, string>;
  body?: string;
}

export interface AppNotifier {
  readonly kind: 'signal' | 'webhook';
  /** For logs: what is notified and how. */
  readonly target: string;
  /** Resolves with what was done; rejects with a coded error (PODKIT_ERR_SIGNAL, PODKIT_ERR_WEBHOOK). */
  notify(abort: AbortSignal, message?: WebhookMessage): Promise<Notified>;
}

/** A signal to the app, when --process-name or --pid-file says where it is. */
export function signalNotifier(o: NotifySettings): AppNotifier | undefined {
  const { signal, processName, pidFile } = o;
  if (!processName && !pidFile) return undefined;
  const target = pidFile ? { pidFile } : { name: processName as string };
  return {
    kind: 'signal',
    target: `${signal} to ${pidFile ? `the pid in ${pidFile}` : `processes named ${JSON.stringify(processName)}`}`,
    async notify() {
      const pids = (await signalProcesses(target, signal)).map((found) => found.pid);
      return { detail: `${signal} to pid ${pids.join(', ')}`, signal, pids };
    },
  };
}

/** An HTTP call to --webhook-url, tried up to `attempts` times (network errors and 5xx only). */
export function webhookNotifier(
  o: NotifySettings,
  client: HttpClient,
  retry: { attempts: number },
): AppNotifier | undefined {
  const url = o.webhookUrl;
  if (!url) return undefined;
  const method = o.webhookMethod;
  return {
    kind: 'webhook',
    target: `${method} ${redactUrl(url)}`,
    async notify(abort, message = {}) {
      const result = await callWebhook({
        client,
        url,
        method,
        ...(message.headers ? { headers: message.headers } : {}),
        ...(message.body !== undefined && method !== 'GET' ? { body: message.body } : {}),
        timeoutMs: o.webhookTimeout,
        attempts: retry.attempts,
        ...(o.webhookSuccessStatus ? { successStatus: o.webhookSuccessStatus } : {}),
        signal: abort,
      });
      return { detail: `HTTP ${result.status}`, status: result.status, attempts: result.attempts };
    },
  };
}
