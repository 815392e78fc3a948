/**
 * npm run bench -- traffic-split: in one run, on the same upstream (one nginx answering `return 200` on
 * two ports, one per version), podkit traffic-split vs nginx's split_clients vs a bare Node http +
 * undici proxy that splits at random, each sending 10% to the variant; one process (one nginx worker)
 * each; wrk over kept-alive connections. Then the primary's latency at a steady rate (kept-alive,
 * open loop) through podkit without a mirror, with a mirror that answers after 500 ms, and with a mirror
 * that is down: the mirror must cost the primary nothing a client notices.
 */

import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { repoRoot } from '../scripts/repo-root.js';
import { children, freePort, nginxConfig, waitUntilServing } from './lib/children.js';
import { pacedLoad } from './lib/paced-http.js';
import { podkitArgs } from './lib/podkit-command.js';
import { compare, formatComparison } from './lib/side-by-side.js';
import { wrk } from './lib/wrk.js';

const durationSeconds = 8;
const connections = 32;
/** Requests per second for the mirror's latency comparison: a load the machine carries without queueing. */
const pacedRate = 300;

export async function run(): Promise<string> {
  const dir = mkdtempSync(join(tmpdir(), 'podkit-bench-traffic-split-'));
  const processes = children();
  try {
    const [primaryPort, variantPort] = [await freePort(), await freePort()];
    const upstream = processes.start('nginx', [
      '-c',
      nginxConfig(
        dir,
        'upstream',
        1,
        `  server { listen 127.0.0.1:${primaryPort}; listen 127.0.0.1:${variantPort}; location / { return 200 "hello\\n"; } }`,
      ),
    ]);
    await waitUntilServing(`http://127.0.0.1:${primaryPort}/`, upstream, 'upstream nginx');

    const nginxPort = await freePort();
    const nginx = processes.start('nginx', [
      '-c',
      nginxConfig(
        dir,
        'split',
        1,
        `  upstream primary { server 127.0.0.1:${primaryPort}; keepalive 128; }
  upstream beta { server 127.0.0.1:${variantPort}; keepalive 128; }
  split_clients "\${remote_addr}\${request_id}" $version { 10% beta; * primary; }
  server {
    listen 127.0.0.1:${nginxPort};
    location / {
      proxy_pass http://$version; proxy_http_version 1.1; proxy_set_header Connection "";
      proxy_set_header X-Forwarded-For $proxy_add_x_forwarded_for; proxy_set_header X-Forwarded-Proto http;
      add_header X-Podkit-Variant $version;
    }
  }`,
      ),
    ]);
    await waitUntilServing(`http://127.0.0.1:${nginxPort}/`, nginx, 'nginx split_clients');

    const podkit = async (name: string, extra: string[] = []) => {
      const port = await freePort();
      const child = processes.start(process.execPath, [
        ...podkitArgs('traffic-split'),
        ...['--listen', `127.0.0.1:${port}`, '--primary', `http://127.0.0.1:${primaryPort}`],
        ...['--variant', `beta=http://127.0.0.1:${variantPort}:10`],
        ...['--admin-address', '127.0.0.1:0', '--log-level', 'warn', ...extra],
      ]);
      await waitUntilServing(`http://127.0.0.1:${port}/`, child, name);
      return { name, port, pid: child.pid };
    };
    const splitProxy = await podkit('podkit traffic-split (10% to beta)');
    const barePort = await freePort();
    const bare = processes.start(process.execPath, [
      join(repoRoot, 'dist/bench/lib/node-http-split-proxy.js'),
      ...[String(barePort), String(primaryPort), String(variantPort), '10'],
    ]);
    await waitUntilServing(`http://127.0.0.1:${barePort}/`, bare, 'bare Node split proxy');

    const load = (port: number) => () =>
      wrk({ url: `http://127.0.0.1:${port}/`, durationSeconds, connections, threads: 1 });
    const throughput = await compare(
      `traffic-split vs nginx split_clients, 10% to a variant, one process each (wrk -c${connections}, keep-alive, ${durationSeconds} s x 3)`,
      { name: 'nginx split_clients (worker_processes 1)', load: load(nginxPort), pid: nginx.pid },
      { name: splitProxy.name, load: load(splitProxy.port), pid: splitProxy.pid },
      {
        references: [
          {
            name: 'bare Node http + undici split proxy (no forwarded headers, stickiness, limits or metrics)',
            load: load(barePort),
            pid: bare.pid,
          },
        ],
      },
    );

    // The mirror: a node server answering every copy after 500 ms, or a port nobody listens on.
    const mirrorPort = await freePort();
    const mirror = processes.start(process.execPath, [
      join(repoRoot, 'dist/test/fixtures/http-upstream.js'),
      ...['--port', String(mirrorPort), '--delay-ms', '500'],
    ]);
    await waitUntilServing(`http://127.0.0.1:${mirrorPort}/`, mirror, 'slow mirror');
    // At the paced rate, copies held 500 ms each: all of them fit in flight.
    const mirrorArgs = (port: number) => [
      '--mirror',
      `http://127.0.0.1:${port}`,
      '--mirror-max-inflight',
      '512',
    ];
    const withSlow = await podkit(
      'podkit traffic-split, mirror answering after 500 ms',
      mirrorArgs(mirrorPort),
    );
    const withDown = await podkit('podkit traffic-split, mirror down', mirrorArgs(await freePort()));
    const paced = (port: number) => () =>
      pacedLoad({
        url: `http://127.0.0.1:${port}/`,
        ratePerSecond: pacedRate,
        durationSeconds,
        keepAlive: true,
      });
    // Each once before measuring: a mirror's pool opens its connections (a copy holds one for 500 ms)
    // and the code warms up, which a cold first round would count against the mirror.
    for (const port of [splitProxy.port, withSlow.port, withDown.port])
      await pacedLoad({
        url: `http://127.0.0.1:${port}/`,
        ratePerSecond: pacedRate,
        durationSeconds: 2,
        keepAlive: true,
      });
    const latency = await compare(
      `the primary's latency with a mirror (${pacedRate} req/s, kept-alive, ${durationSeconds} s x 3; anchor: no mirror)`,
      { name: 'podkit traffic-split, no mirror', load: paced(splitProxy.port), pid: splitProxy.pid },
      { name: withSlow.name, load: paced(withSlow.port), pid: withSlow.pid },
      { references: [{ name: withDown.name, load: paced(withDown.port), pid: withDown.pid }] },
    );
    const [, slowRow, downRow] = latency.rows;
    const noMirror = latency.rows[0]?.median.p99Ms ?? Number.NaN;
    return [
      formatComparison(throughput),
      formatComparison(latency),
      `primary p99 with a 500 ms mirror: ${((slowRow?.median.p99Ms ?? Number.NaN) / noMirror).toFixed(2)}x without; with the mirror down: ${((downRow?.median.p99Ms ?? Number.NaN) / noMirror).toFixed(2)}x`,
      '',
    ].join('\n');
  } finally {
    await processes.stopAll();
    rmSync(dir, { recursive: true, force: true });
  }
}
