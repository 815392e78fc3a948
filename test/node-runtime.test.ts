/**
 * podkit runs on the Node LTS that `npm ci` installs (the `node` devDependency), not on whatever node the
 * machine has: tap runs on it, the components the tests spawn run on it, and the images' base names it.
 */

import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import t from 'tap';
import { repoRoot } from '../scripts/repo-root.js';
import { majorOf, nodeLtsMajor } from './support/node-lts.js';
import { startComponent } from './support/process.js';

const lts = nodeLtsMajor();

t.test('tap runs on the LTS binary from node_modules', async (t) => {
  t.equal(majorOf(process.version), lts, `node ${process.version}`);
  t.ok(
    process.execPath.startsWith(join(repoRoot, 'node_modules', 'node', 'bin')),
    `${process.execPath}: the binary npm ci put in node_modules`,
  );
});

t.test('a component the tests start runs on the same node', async (t) => {
  const dir = mkdtempSync(join(tmpdir(), 'podkit-node-runtime-'));
  t.teardown(() => rmSync(dir, { recursive: true, force: true }));
  writeFileSync(join(dir, 'app.conf'), 'greeting = hello\n');
  const sync = await startComponent(t, 'config-sync', [
    ...['--source', 'dir', '--source-dir', dir, '--target-dir', join(dir, 'target')],
  ]);
  const metrics = await (await fetch(`${sync.adminUrl}/metrics`)).text();
  const major = /^nodejs_version_info\{[^}]*major="(\d+)"/m.exec(metrics)?.[1];
  t.equal(Number(major), lts, 'nodejs_version_info on its /metrics names the LTS major');
});

t.test("the images' default base is the same LTS", async (t) => {
  const dockerfile = readFileSync(join(repoRoot, 'Dockerfile.base'), 'utf8');
  t.match(dockerfile, new RegExp(`^ARG NODE_IMAGE=node:${lts}-`, 'm'));
});
