/**
 * npm run bench -- tls-proxy: nginx as a TLS reverse proxy vs podkit tls-proxy (l7 and l4), side by
 * side in one run, with the same number of worker processes (nginx worker_processes = --workers, 1 and
 * 2), the same certificate and the same upstream: a separate nginx answering `return 200` on loopback,
 * so the proxies are what is measured. Load: wrk over kept-alive HTTPS connections. With one worker,
 * podkit is also run beside a bare Node proxy of the same kind (https + undici for l7, a TLS pipe for
 * l4): the floor of Node's own stack.
 */

import { type ChildProcess, execFileSync, spawn } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { repoRoot } from '../scripts/repo-root.js';
import { podkitArgs } from './lib/podkit-command.js';
import { compare, formatComparison } from './lib/side-by-side.js';
import { wrk } from './lib/wrk.js';

const durationSeconds = 8;
const connections = 32;

function freePort(): Promise<number> {
  return new Promise((resolve) => {
    const server = createServer().listen(0, '127.0.0.1', () => {
      const { port } = server.address() as { port: number };
      server.close(() => resolve(port));
    });
  });
}

function nginxConfig(dir: string, name: string, workers: number, body: string): string {
  const path = join(dir, `${name}.conf`);
  const temp = join(dir, `${name}-tmp`);
  writeFileSync(
    path,
    `worker_processes ${workers};
daemon off;
pid ${join(dir, `${name}.pid`)};
error_log ${join(dir, `${name}-error.log`)} warn;
events { worker_connections 4096; }
http {
  access_log off;
  client_body_temp_path ${temp}-body; proxy_temp_path ${temp}-proxy; fastcgi_temp_path ${temp}-fcgi;
  uwsgi_temp_path ${temp}-uwsgi; scgi_temp_path ${temp}-scgi;
  keepalive_requests 1000000;
  keepalive_timeout 300s;
${body}
}
`,
  );
  return path;
}

async function waitUntilServing(url: string, child: ChildProcess, name: string): Promise<void> {
  for (let i = 0; i < 300; i++) {
    if (child.exitCode !== null) throw new Error(`${name} exited with ${child.exitCode}`);
    try {
      execFileSync('curl', ['-sk', '-o', '/dev/null', '--fail', '--max-time', '1', url], { stdio: 'ignore' });
      return;
    } catch {
      await sleep(100);
    }
  }
  throw new Error(`${name} did not serve ${url}`);
}

async function stop(child: ChildProcess): Promise<void> {
  if (child.exitCode !== null || child.signalCode !== null) return;
  const exited = new Promise((resolve) => child.once('exit', resolve));
  child.kill('SIGTERM');
  await Promise.race([exited, sleep(5000)]);
  if (child.exitCode === null) child.kill('SIGKILL');
}

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
      const load = (port: number) => () =>
        wrk({ url: `https://127.0.0.1:${port}/`, durationSeconds, connections, threads: 1 });

      for (const mode of ['l7', 'l4'] as const) {
        const proxy = await podkit(mode);
        const result = await compare(
          `tls-proxy ${mode} vs nginx, ${workers} worker${workers > 1 ? 's' : ''} each (wrk -c${connections}, keep-alive, ${durationSeconds} s x 3)`,
          { name: `nginx (worker_processes ${workers})`, load: load(nginxPort) },
          { name: `podkit tls-proxy --mode ${mode} --workers ${workers}`, load: load(proxy.port) },
        );
        sections.push(formatComparison(result));
        await stop(proxy.child);
      }
      if (workers === 1) {
        // How much of the gap to nginx is Node's own HTTP and TLS stack: the same load through a bare
        // Node proxy beside podkit, https + undici for l7 (bench/lib/node-https-proxy.ts) and a TLS
        // server piped to TCP for l4 (bench/lib/node-tls-pipe.ts).
        const floors = [
          {
            mode: 'l7',
            script: 'node-https-proxy.js',
            what: 'a bare Node https + undici proxy',
            lacks: 'no forwarded headers, limits or metrics',
          },
          {
            mode: 'l4',
            script: 'node-tls-pipe.js',
            what: 'a bare Node TLS pipe',
            lacks: 'no timeouts, drain or metrics',
          },
        ] as const;
        for (const { mode, script, what, lacks } of floors) {
          const proxy = await podkit(mode);
          const barePort = await freePort();
          const bare = startChild(process.execPath, [
            join(repoRoot, 'dist/bench/lib', script),
            ...[String(barePort), String(upstreamPort), cert, key],
          ]);
          await waitUntilServing(`https://127.0.0.1:${barePort}/`, bare, what);
          const result = await compare(
            `tls-proxy ${mode} vs ${what}, 1 process each (wrk -c${connections}, keep-alive, ${durationSeconds} s x 3)`,
            { name: `${what} (${lacks})`, load: load(barePort) },
            { name: `podkit tls-proxy --mode ${mode} --workers 1`, load: load(proxy.port) },
          );
          sections.push(formatComparison(result));
          await stop(proxy.child);
          await stop(bare);
        }
      }
      await stop(nginx);
    }
    return sections.join('\n');
  } finally {
    for (const child of children) await stop(child);
    rmSync(dir, { recursive: true, force: true });
  }
}
