#!/usr/bin/env node
/**
 * legacy-app -c /etc/legacy/app.conf
 * SIGHUP re-reads the config; SIGTERM stops after open requests finish.
 */

import { LegacyApp } from './app.js';

function configPath(argv: string[]): string {
  const index = argv.findIndex((arg) => arg === '-c' || arg === '--config');
  if (index >= 0 && argv[index + 1]) return argv[index + 1] as string;
  return process.env.LEGACY_CONFIG ?? '/etc/legacy/app.conf';
}

async function main(): Promise<number> {
  // Shows as `legacy-app` in ps and /proc/<pid>/comm, so a sidecar can find it by name.
  process.title = 'legacy-app';
  let app: LegacyApp;
  try {
    app = new LegacyApp(configPath(process.argv.slice(2)));
  } catch (err) {
    console.error(`legacy-app: cannot start: ${(err as Error).message}`);
    return 2;
  }
  const address = await app.start();
  console.log(`legacy-app listening on ${address}`);
  process.on('SIGHUP', () => void app.reload());
  await new Promise<void>((resolve) => {
    process.once('SIGTERM', resolve);
    process.once('SIGINT', resolve);
  });
  await app.close();
  return 0;
}

main().then(
  (code) => process.exit(code),
  (err) => {
    console.error(`legacy-app: ${(err as Error).stack}`);
    process.exit(1);
  },
);
