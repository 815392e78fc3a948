/**
 * "Tell the app": the options config-sync and git-pull share to notify the app after an update, by a
 * signal to its process (found by name or pid file in a shared PID namespace) or by an HTTP call named
 * like git-sync's and configmap-reload's. The code that uses them is lib/notify-app.ts; this module
 * imports only lib/options, so another component can read these names cheaply.
 */

import { Expected } from '../option-types.js';
import { invalid, opt } from '../options.js';

/** Signals an app commonly handles as "reload" (HUP, USR1, USR2) or "restart" (TERM, INT, QUIT, KILL). */
export const notifySignals = [
  'SIGHUP',
  'SIGUSR1',
  'SIGUSR2',
  'SIGTERM',
  'SIGINT',
  'SIGQUIT',
  'SIGKILL',
] as const;
export type NotifySignal = (typeof notifySignals)[number];

/** `HUP`, `SIGHUP`, `hup` and `sighup` are all SIGHUP. */
export function parseSignal(raw: string): NotifySignal {
  const text = raw.trim().toUpperCase();
  const name = text.startsWith('SIG') ? text : `SIG${text}`;
  if ((notifySignals as readonly string[]).includes(name)) return name as NotifySignal;
  throw new Expected(`a signal: ${notifySignals.join(', ')} (the SIG prefix and case are optional)`);
}

export const notifyOptions = {
  signal: opt.custom(parseSignal, {
    default: 'SIGHUP',
    placeholder: '<signal>',
    typeName: 'signal',
    description:
      'Signal sent to the app after each update, when --process-name or --pid-file finds it: SIGHUP to reload, SIGTERM or SIGKILL to have it restarted (HUP works too).',
  }),
  processName: opt.string({
    description:
      "The app's process to signal: its name (comm or argv[0]), or a command-line pattern when it has a space or /; the pod needs shareProcessNamespace: true.",
  }),
  pidFile: opt.file({
    description: "File holding the app's pid, re-read before every signal.",
  }),
  webhookUrl: opt.url({
    protocols: ['http', 'https'],
    description:
      'URL called after each update (credentials in it are sent as Basic auth); what it gets and how failures are retried is in the README.',
  }),
  webhookMethod: opt.enum(['POST', 'PUT', 'GET'], {
    default: 'POST',
    description: 'HTTP method for --webhook-url.',
  }),
  webhookTimeout: opt.duration({
    default: '5s',
    min: '10ms',
    description: 'Longest time one --webhook-url call may take.',
  }),
  webhookSuccessStatus: opt.int({
    default: 0,
    min: 0,
    max: 599,
    description: 'Status that counts as success for --webhook-url; 0 accepts any 2xx.',
  }),
};

export interface NotifySettings {
  signal: NotifySignal;
  processName?: string | undefined;
  pidFile?: string | undefined;
  webhookUrl?: URL | undefined;
  webhookMethod: 'POST' | 'PUT' | 'GET';
  webhookTimeout: number;
  webhookSuccessStatus: number;
}

/** Rules of the group, for a component's check(). */
export function checkNotifyOptions(o: NotifySettings, given: ReadonlySet<string>): void {
  if (o.processName && o.pidFile)
    throw invalid('processName', 'and --pid-file cannot both be set: choose one way to find the app');
  if (given.has('signal') && !o.processName && !o.pidFile)
    throw invalid('signal', 'needs --process-name or --pid-file to know whom to signal');
}
