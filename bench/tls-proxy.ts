/**
 * npm run bench -- tls-proxy: nginx as a TLS reverse proxy vs podkit tls-proxy (l7 and l4), side by
 * side in one run, with the same number of worker processes (nginx worker_processes = --workers, 1 and
 * 2), the same certificate and the same upstream: a separate nginx answering `return 200` on loopback,
 * so the proxies are what is measured. Load: wrk over kept-alive HTTPS connections. With one worker,
 * bare Node proxies run in the same rotation: one of the same kind (https + undici for l7, a TLS pipe
 * for l4), the most Node's own HTTP and TLS stack gives on this machine, and for l7 a lean raw-socket
 * HTTP/1.1 engine (bench/lib/node-raw-h1-proxy.ts): roughly how far an l7 path that leaves node's HTTP
 * server and undici could go. Every proxy's CPU time per request is shown beside its speed.
 */

import { type ChildProcess, execFileSync, spawn } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { repoRoot } from '../scripts/repo-root.js';
import { freePort, nginxConfig, stop, waitUntilServing } from './lib/children.js';
import { podkitArgs } from './lib/podkit-command.js';
import { compare, formatComparison } from './lib/side-by-side.js';
import { wrk } from './lib/wrk.js';

const durationSeconds = 8;
const connections = 32;

interface Reference {
  script: string;
  what: string;
  lacks: string;
}

/**
 * Bare Node proxies run in the same rotation, one process each: the least a Node proxy of each kind
 * does, and for l7 also a lean raw-socket HTTP/1.1 engine without node's HTTP server or undici.
 */
const references: Record<'l7' | 'l4', Reference[]> = {
  l7: [
    {
      script: 'node-https-proxy.js',
      what: 'bare Node https + undici proxy',
      lacks: 'no forwarded headers, limits or metrics',
    },
    {
      script: 'node-raw-h1-proxy.js',
      what: 'raw-socket Node HTTP/1.1 proxy',
      lacks: 'heads rewritten, Content-Length only: no limits, timeouts, smuggling checks or errors',
    },
  ],
  l4: [{ script: 'node-tls-pipe.js', what: 'bare Node TLS pipe', lacks: 'no timeouts, drain or metrics' }],
};

export async function run(): Promise<string> {
  const dir = mkdtempSync(join(tmpdir(), 'podkit-bench-tls-proxy-'));
  const cert = join(dir, 'tls.crt');
  const key = join(dir, 'tls.key');
  execFileSync(
    'openssl',
    [
      ...['req', '-x509', '-newkey', 'ec', '-pkeyopt', 'ec_paramgen_curve:P-256', '-nodes', '-days', '2'],
      ...['-subj', '/CN=localhost', '-addext', 'subjectAltName=DNS:localhost,IP:127.0.0.1'],
      ...['-keyout', key, '-out', cert],
    ],
    { stdio: 'ignore' },
  );
  const children: ChildProcess[] = [];
  const startChild = (command: string, args: string[]) => {
    const child = spawn(command, args, { stdio: 'ignore' });
    children.push(child);
    return child;
  };

  try {
    const upstreamPort = await freePort();
    const upstream = startChild('nginx', [
      '-c',
      nginxConfig(
        dir,
        'upstream',
        1,
        `  server { listen 127.0.0.1:${upstreamPort}; location / { return 200 "hello\\n"; } }`,
      ),
    ]);
    await waitUntilServing(`http://127.0.0.1:${upstreamPort}/`, upstream, 'upstream nginx');

    const sections: string[] = [];
    for (const workers of [1, 2]) {
      const nginxPort = await freePort();
      const nginx = startChild('nginx', [
        '-c',
        nginxConfig(
          dir,
          `proxy-${workers}`,
          workers,
          `  upstream app { server 127.0.0.1:${upstreamPort}; keepalive 128; }
  server {
    listen 127.0.0.1:${nginxPort} ssl;
    ssl_certificate ${cert}; ssl_certificate_key ${key};
    ssl_protocols TLSv1.2 TLSv1.3;
    location / {
      proxy_pass http://app; proxy_http_version 1.1; proxy_set_header Connection "";
      proxy_set_header Host $host; proxy_set_header X-Forwarded-For $proxy_add_x_forwarded_for;
      proxy_set_header X-Forwarded-Proto https; proxy_set_header X-Forwarded-Host $host;
    }
  }`,
        ),
      ]);
      await waitUntilServing(`https://127.0.0.1:${nginxPort}/`, nginx, 'nginx proxy');

      const podkit = async (mode: 'l7' | 'l4') => {
        const port = await freePort();
        const child = startChild(process.execPath, [
          ...podkitArgs('tls-proxy'),
          ...['--mode', mode, '--workers', String(workers), '--listen', `127.0.0.1:${port}`],
          ...['--upstream', `${mode === 'l7' ? 'http' : 'tcp'}://127.0.0.1:${upstreamPort}`],
          ...[
            '--cert-file',
            cert,
            '--key-file',
            key,
            '--admin-address',
            '127.0.0.1:0',
            '--log-level',
            'warn',
          ],
        ]);
        await waitUntilServing(`https://127.0.0.1:${port}/`, child, `podkit ${mode}`);
        return { port, child };
      };
      const startReference = async ({ script, what, lacks }: Reference) => {
        const port = await freePort();
        const child = startChild(process.execPath, [
          join(repoRoot, 'dist/bench/lib', script),
          ...[String(port), String(upstreamPort), cert, key],
        ]);
        await waitUntilServing(`https://127.0.0.1:${port}/`, child, what);
        return { name: `${what}, 1 process (${lacks})`, port, child };
      };
      const load = (port: number) => () =>
        wrk({ url: `https://127.0.0.1:${port}/`, durationSeconds, connections, threads: 1 });
      const anchor = { name: `nginx (worker_processes ${workers})`, load: load(nginxPort), pid: nginx.pid };

      for (const mode of ['l7', 'l4'] as const) {
        const proxy = await podkit(mode);
        // With one process each, the bare Node servers show how much of the gap to nginx is Node's own
        // HTTP and TLS stack.
        const bare = workers === 1 ? await Promise.all(references[mode].map(startReference)) : [];
        const result = await compare(
          `tls-proxy ${mode} vs nginx, ${workers} worker${workers > 1 ? 's' : ''} each (wrk -c${connections}, keep-alive, ${durationSeconds} s x 3)`,
          anchor,
          {
            name: `podkit tls-proxy --mode ${mode} --workers ${workers}`,
            load: load(proxy.port),
            pid: proxy.child.pid,
          },
          { references: bare.map(({ name, port, child }) => ({ name, load: load(port), pid: child.pid })) },
        );
        sections.push(formatComparison(result));
        await stop(proxy.child);
        for (const { child } of bare) await stop(child);
      }
      await stop(nginx);
    }
    return sections.join('\n');
  } finally {
    for (const child of children) await stop(child);
    rmSync(dir, { recursive: true, force: true });
  }
}
