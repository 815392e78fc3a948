/**
 * npm run images [-- --engine podman|docker] [--node-image IMAGE] [--tag TAG] [--only base,legacy-app,...]
 *
 * Builds localhost/podkit-base:<tag> from Dockerfile.base, then every image FROM it: the legacy example
 * app, each component that has a Dockerfile, and each FTGO service (localhost/podkit-ftgo-<dir>:<tag>).
 * Uses podman, or docker where an engine runs.
 */

import { spawn, spawnSync } from 'node:child_process';
import { existsSync, readdirSync } from 'node:fs';
import { join } from 'node:path';
import { parseArgs } from 'node:util';
import { ftgoPorts, ftgoServices } from '../examples/ftgo/common/src/services.js';
import { podkitVersion } from '../lib/version.js';
import { repoRoot as root } from './repo-root.js';

export interface ImageSpec {
  name: string;
  dockerfile: string;
  /** The build context: the repository, or for an FTGO service the folder of its bundle. */
  context: string;
  buildArgs?: Record<string, string>;
}

/** The base image, the legacy example app, every component with a Dockerfile, then the FTGO services. */
export function imageSpecs(): ImageSpec[] {
  const specs: ImageSpec[] = [
    { name: 'base', dockerfile: 'Dockerfile.base', context: '.' },
    { name: 'legacy-app', dockerfile: 'examples/legacy-app/Dockerfile', context: '.' },
  ];
  for (const group of ['sidecars', 'ambassadors', 'adapters']) {
    const dir = join(root, group);
    if (!existsSync(dir)) continue;
    for (const component of readdirSync(dir).sort()) {
      const dockerfile = join(group, component, 'Dockerfile');
      if (existsSync(join(root, dockerfile))) specs.push({ name: component, dockerfile, context: '.' });
    }
  }
  // Each copies the one file `npm run build` bundled for it (scripts/bundle.ts): pure JavaScript with its
  // packages inlined, so building it again inside the image would only repeat the base's npm ci.
  for (const service of ftgoServices) {
    specs.push({
      name: `ftgo-${service}`,
      dockerfile: 'examples/ftgo/Dockerfile',
      context: 'dist/examples/ftgo',
      buildArgs: { SERVICE: service, PORT: String(ftgoPorts[service]) },
    });
  }
  return specs;
}

export function imageReference(name: string, tag: string): string {
  return `localhost/podkit-${name}:${tag}`;
}

function detectEngine(): string {
  for (const engine of ['podman', 'docker']) {
    const probe = spawnSync(engine, ['info'], { stdio: 'ignore' });
    if (probe.status === 0) return engine;
  }
  throw new Error('neither podman nor a running docker engine was found (apt-get install podman)');
}

function run(command: string, args: string[]): Promise<void> {
  return new Promise((resolve, reject) => {
    const child = spawn(command, args, { cwd: root, stdio: 'inherit' });
    child.once('error', reject);
    child.once('exit', (code) =>
      code === 0 ? resolve() : reject(new Error(`${command} ${args.slice(0, 2).join(' ')} exited ${code}`)),
    );
  });
}

export interface BuildOptions {
  engine?: string;
  nodeImage?: string;
  tag?: string;
  only?: string[];
  /** Extra flags for every build, e.g. ['--layers=false'] in tests that must leave no cache behind. */
  buildFlags?: string[];
}

/** An image's size in bytes, as the engine reports it (uncompressed, all layers). */
export function imageSize(engine: string, reference: string): number {
  const inspect = spawnSync(engine, ['image', 'inspect', '--format', '{{.Size}}', reference], {
    encoding: 'utf8',
  });
  if (inspect.status !== 0) throw new Error(`${engine} image inspect ${reference}: ${inspect.stderr.trim()}`);
  return Number(inspect.stdout.trim());
}

export async function buildImages(options: BuildOptions = {}): Promise<string[]> {
  const engine = options.engine ?? detectEngine();
  const tag = options.tag ?? podkitVersion();
  const wanted = imageSpecs().filter((spec) => !options.only || options.only.includes(spec.name));
  const built: string[] = [];
  for (const spec of wanted) {
    const reference = imageReference(spec.name, tag);
    const args = [
      'build',
      '-f',
      spec.dockerfile,
      '-t',
      reference,
      ...(options.nodeImage ? ['--build-arg', `NODE_IMAGE=${options.nodeImage}`] : []),
      '--build-arg',
      `BASE_IMAGE=${imageReference('base', tag)}`,
      ...Object.entries(spec.buildArgs ?? {}).flatMap(([name, value]) => ['--build-arg', `${name}=${value}`]),
      ...(options.buildFlags ?? []),
      spec.context,
    ];
    console.log(`\n== ${reference} (${spec.dockerfile})`);
    await run(engine, args);
    built.push(reference);
  }
  return built;
}

async function main(): Promise<void> {
  const { values } = parseArgs({
    options: {
      engine: { type: 'string' },
      'node-image': { type: 'string' },
      tag: { type: 'string' },
      only: { type: 'string' },
    },
  });
  const engine = values.engine ?? detectEngine();
  const built = await buildImages({
    engine,
    ...(values['node-image'] ? { nodeImage: values['node-image'] } : {}),
    ...(values.tag ? { tag: values.tag } : {}),
    ...(values.only ? { only: values.only.split(',') } : {}),
  });
  const sizes = built.map(
    (reference) => `  ${reference}  ${(imageSize(engine, reference) / 1e6).toFixed(1)} MB`,
  );
  // Each component image is its base plus a few kilobytes: the base's size is what a node pulls once.
  console.log(`\nbuilt:\n${sizes.join('\n')}`);
}

if (process.argv[1] === import.meta.filename) {
  main().catch((err) => {
    console.error(`images: ${(err as Error).message}`);
    process.exit(1);
  });
}
