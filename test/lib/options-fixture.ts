/** What the options tests share: a spec with one option of each type, and files it points at. */

import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { loadComponent } from '../../components.js';
import { ConfigError } from '../../lib/errors.js';
import { parseHostPort } from '../../lib/option-types.js';
import { opt, parseOptions } from '../../lib/options.js';

export const dir = mkdtempSync(join(tmpdir(), 'podkit-options-'));
export const existing = join(dir, 'cert.pem');
writeFileSync(existing, 'CERT');
export const secretFile = join(dir, 'password');
writeFileSync(secretFile, 's3cret-from-file\n');

export const spec = {
  name: opt.string({ description: 'A name.' }),
  count: opt.int({ default: 3, min: 1, max: 10, description: 'How many.' }),
  ratio: opt.number({ default: 0.5, min: 0, max: 1, description: 'A fraction.' }),
  timeout: opt.duration({ default: '10s', description: 'How long.' }),
  verbose: opt.bool({ description: 'Talk more.' }),
  mode: opt.enum(['l7', 'l4'], { default: 'l7', description: 'Mode.' }),
  backends: opt.list({ item: parseHostPort, itemName: 'host:port', description: 'Backends.' }),
  listen: opt.hostPort({ default: '0.0.0.0:8443', description: 'Listen.' }),
  upstream: opt.url({
    default: 'http://127.0.0.1:8080',
    protocols: ['http', 'https'],
    description: 'Upstream.',
  }),
  certFile: opt.file({ mustExist: true, description: 'Cert.' }),
  password: opt.secret({ description: 'Password.' }),
};

export const parse = (argv: string[], env: NodeJS.ProcessEnv = {}) => parseOptions(spec, argv, env);
export const loadTlsProxy = () => loadComponent('tls-proxy');

export function configError(fn: () => unknown): ConfigError {
  try {
    fn();
  } catch (err) {
    if (err instanceof ConfigError) return err;
    throw err;
  }
  throw new Error('expected a ConfigError');
}
