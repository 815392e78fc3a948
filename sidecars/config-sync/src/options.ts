/**
 * config-sync's option spec: where configuration comes from (kubernetes | dir | http), where it is
 * published (the kubelet's ConfigMap-volume layout), how it is validated, how the app is told, and when
 * a change is rolled back.
 */

import { kubeOptions } from '../../../lib/option-groups/kube.js';
import { notifyOptions } from '../../../lib/option-groups/notify.js';
import { tlsClientOptions } from '../../../lib/option-groups/tls-client.js';
import { opt, withAliases } from '../../../lib/options.js';

export const options = {
  source: opt.enum(['kubernetes', 'dir', 'http'], {
    required: true,
    description:
      'Where configuration comes from: ConfigMaps (and Secrets) via the API, a directory, or a URL.',
  }),

  // kubernetes
  ...kubeOptions,
  configmap: opt.string({
    pattern: /^[a-z0-9]([-a-z0-9.]*[a-z0-9])?$/,
    expect: 'a ConfigMap name (lowercase letters, digits, - and .)',
    description: 'Name of the one ConfigMap to sync (kubernetes source); or use --selector.',
  }),
  selector: opt.string({
    description:
      'Label selector (e.g. app=web,tier!=db): every matching ConfigMap is merged into the target (kubernetes source).',
  }),
  folderAnnotation: opt.string({
    description:
      "Annotation whose value places an object's files in a subfolder of --target-dir, e.g. k8s-sidecar-target-directory.",
  }),
  includeSecrets: opt.bool({
    description:
      'Also sync Secrets: those matching --selector, or the Secret named like --configmap (kubernetes source).',
  }),
  resyncInterval: opt.duration({
    default: '5m',
    min: '1s',
    description:
      'Full re-list period (kubernetes source), so a watch that died silently cannot leave the files stale.',
  }),

  // dir
  sourceDir: opt.string({
    description:
      'Directory to sync from (dir source): a mounted ConfigMap volume (read through its ..data link) or a plain directory.',
  }),

  // http
  url: opt.url({
    protocols: ['http', 'https'],
    description:
      'URL answering a JSON object of file name -> text, or one file with --http-key (http source); polled with If-None-Match.',
  }),
  httpKey: opt.string({
    description:
      'Publish the whole response body as this one file instead of reading a JSON object (http source).',
  }),
  token: opt.secret({
    description: 'Bearer token sent to --url (http source), re-read from its file on every request.',
  }),
  ...tlsClientOptions,
  pollInterval: opt.duration({
    default: '10s',
    min: '100ms',
    description:
      'How often --url is polled (http source), and how often a source directory is re-read besides its change events (dir).',
  }),
  requestTimeout: opt.duration({
    default: '10s',
    min: '100ms',
    description: 'Deadline for one request to --url (http source).',
  }),

  // target
  targetDir: opt.string({
    required: true,
    description:
      'Shared directory the app reads: <target-dir>/<key>, laid out like a kubelet ConfigMap volume (..data link).',
  }),
  keepVersions: opt.int({
    default: 2,
    min: 0,
    max: 100,
    description: 'How many previous version directories to keep in --target-dir besides the live one.',
  }),
  fileMode: opt.string({
    default: '0644',
    pattern: /^0?[0-7]{3}$/,
    expect: 'an octal file mode like 0644 or 0600',
    description:
      'Mode of the published files, set as each is created; their folders get the matching search mode (0600 -> 0700).',
  }),

  // validation
  validate: opt.enum(['auto', 'json', 'yaml', 'none'], {
    default: 'auto',
    description:
      'Syntax check before publishing: auto checks *.json as JSON and *.yaml/*.yml as YAML; json or yaml check every file.',
  }),
  validateCommand: opt.string({
    description:
      'Shell command that must exit 0 before a version is published; it gets the candidate directory as $1 and $PODKIT_CONFIG_DIR.',
  }),
  validateTimeout: opt.duration({
    default: '30s',
    min: '100ms',
    description: 'Deadline for --validate-command; its whole process group is killed after it.',
  }),

  // notify
  ...notifyOptions,
  // Called --reload-url and --reload-method before the names were shared with git-pull.
  webhookUrl: withAliases(notifyOptions.webhookUrl, 'reload-url'),
  webhookMethod: withAliases(notifyOptions.webhookMethod, 'reload-method'),
  debounce: opt.duration({
    default: '100ms',
    max: '1m',
    description:
      'Quiet period after a change before publishing, so a burst of edits gives one publish and one reload (never delayed past 10x this).',
  }),

  // rollback
  healthUrl: opt.url({
    protocols: ['http', 'https'],
    description:
      'After a reload, the app must answer 2xx here; if not within --health-timeout the previous version is put back.',
  }),
  healthTimeout: opt.duration({
    default: '30s',
    min: '100ms',
    description: 'How long the app has to become healthy after a reload before the change is rolled back.',
  }),
  healthStable: opt.duration({
    default: '1s',
    description:
      'How long the app must stay healthy, without one failed check, for a new version to be accepted (covers a reload still in progress).',
  }),

  oneTime: opt.bool({
    description: 'Init-container mode: sync once, exit 0 with the files in place, or exit 1 with the reason.',
  }),
};

export type ConfigSyncSpec = typeof options;
