/**
 * The chart's probes as a kubelet would run them, from inside a played pod. podman 4.3's `kube play`
 * turns only a container's livenessProbe into a podman healthcheck (`curl -f http://localhost:<port><path>
 * || exit 1`, run by systemd timers): the images have neither curl nor a shell, and these machines no
 * systemd, so the test runs each rendered probe itself (GET path on port, over the pod's loopback).
 */

import { podman } from '../support/images.js';

export type ProbeKind = 'startupProbe' | 'livenessProbe' | 'readinessProbe';

export interface RenderedProbe {
  container: string;
  kind: ProbeKind;
  path: string;
  port: number;
}

export interface ProbeAnswer extends RenderedProbe {
  /** The HTTP status, or 0 when the connection failed (a kubelet counts both as failures). */
  status: number;
  body: string;
}

export interface ProbedContainer {
  name: string;
  startupProbe?: { httpGet?: { path: string; port: number } };
  livenessProbe?: { httpGet?: { path: string; port: number } };
  readinessProbe?: { httpGet?: { path: string; port: number } };
}

const kinds: ProbeKind[] = ['startupProbe', 'livenessProbe', 'readinessProbe'];

/** Every httpGet probe of the rendered containers, path and port exactly as the manifest has them. */
export function renderedProbes(containers: ProbedContainer[]): RenderedProbe[] {
  return containers.flatMap((container) =>
    kinds.flatMap((kind) => {
      const get = container[kind]?.httpGet;
      return get ? [{ container: container.name, kind, path: get.path, port: Number(get.port) }] : [];
    }),
  );
}

/** A kubelet's verdict on an httpGet probe: a status from 200 to 399 passes. */
export function probePasses(answer: ProbeAnswer): boolean {
  return answer.status >= 200 && answer.status < 400;
}

// Runs in the pod (node is the images' only program besides tini): one GET per probe, with a kubelet's
// default one-second timeout, the answers as JSON on stdout.
const probeScript = `
const probes = JSON.parse(process.argv[1]);
Promise.all(probes.map(async (p) => {
  try {
    const res = await fetch('http://127.0.0.1:' + p.port + p.path, { signal: AbortSignal.timeout(1000) });
    return { ...p, status: res.status, body: (await res.text()).slice(0, 2000) };
  } catch (err) {
    return { ...p, status: 0, body: String(err.cause ?? err) };
  }
})).then((answers) => process.stdout.write(JSON.stringify(answers)));
`;

/** Runs `probes` from inside the pod, in the network namespace every container shares, through `via`. */
export async function runProbes(via: string, probes: RenderedProbe[]): Promise<ProbeAnswer[]> {
  const out = await podman(['exec', via, 'node', '-e', probeScript, JSON.stringify(probes)], {
    timeoutMs: 60_000,
  });
  return JSON.parse(out) as ProbeAnswer[];
}
