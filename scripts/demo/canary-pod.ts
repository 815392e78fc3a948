/**
 * A canary pod: the app calls its service through traffic-split on localhost. Three versions of the
 * legacy app stand for the service's Deployments (production, a beta that takes 20% of users, sticky by
 * cookie, and the next version, which gets a copy of every request and whose answers are compared).
 */

import { mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import type { DemoContainer, DemoContext } from './context.js';

async function version(
  ctx: DemoContext,
  name: string,
  preferredPort: number,
  greeting: string,
): Promise<{ url: string; container: DemoContainer }> {
  const port = await ctx.port(preferredPort);
  const dir = join(ctx.dir, `canary-${name}`);
  mkdirSync(dir, { recursive: true });
  const config = join(dir, 'app.conf');
  writeFileSync(config, `port = ${port}\ngreeting = ${greeting}\nlog_dir = ${dir}\n`);
  return {
    url: `http://127.0.0.1:${port}`,
    container: {
      name: `orders-${name}`,
      script: 'examples/legacy-app/src/main.js',
      args: ['-c', config],
      readyUrl: `http://127.0.0.1:${port}/health`,
      tryLines: [`the ${name} version of the service, on 127.0.0.1:${port}`],
    },
  };
}

export async function canaryPod(ctx: DemoContext): Promise<DemoContainer[]> {
  const production = await version(ctx, 'production', 8101, 'Hello from production');
  const beta = await version(ctx, 'beta', 8102, 'Hello from the beta');
  const next = await version(ctx, 'next', 8103, 'Hello from the next version');
  const port = await ctx.port(8000);
  const admin = await ctx.port(9405);
  const experiment = join(ctx.dir, 'canary-split.yaml');
  writeFileSync(
    experiment,
    `primary: ${production.url}\nvariant: [beta=${beta.url}:20]\nsticky: cookie:podkit_variant\nmirror: ${next.url}\ncompare: true\n`,
  );
  const split = `http://127.0.0.1:${port}`;
  return [
    production.container,
    beta.container,
    next.container,
    {
      name: 'traffic-split',
      script: 'cli.js',
      args: [
        'traffic-split',
        ...['--listen', `127.0.0.1:${port}`, '--config-file', experiment],
        ...['--admin-address', `127.0.0.1:${admin}`],
      ],
      readyUrl: `http://127.0.0.1:${admin}/readyz`,
      tryLines: [
        `curl -i ${split}/             X-Podkit-Variant says which version answered (20% of users get the beta)`,
        `curl -c /tmp/jar -b /tmp/jar ${split}/   the cookie keeps a user on the same version`,
        `curl -H 'X-Podkit-Variant: beta' ${split}/   the override header picks a version`,
        `for i in $(seq 300); do curl -s -o /dev/null ${split}/; done   some traffic, then:`,
        `open http://127.0.0.1:${admin}/ui   the experiment page: rates, errors, latency per version, the next version's differences`,
        `edit ${experiment} (beta ...:50) then: pkill -HUP -f 'cli.js traffic-split'   a new weight, no restart`,
        `curl -s http://127.0.0.1:${admin}/metrics | grep ^podkit_traffic_split   its metrics`,
      ],
    },
  ];
}
