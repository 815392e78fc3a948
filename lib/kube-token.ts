/**
 * The bearer token of a service account, read from its file for every request. The kubelet rotates the
 * projected token in place and the API server stops taking the old one when it expires; client-node's
 * own reader keeps a token for a minute, so a request after a rotation could carry one that is refused.
 */

import { readFile } from 'node:fs/promises';
import type { KubeConfig } from '@kubernetes/client-node';

/** `Bearer <token>` when the current user's token lives in a file (in-cluster); else undefined. */
export async function freshBearer(kc: KubeConfig): Promise<string | undefined> {
  const tokenFile = kc.getCurrentUser()?.authProvider?.config?.tokenFile;
  if (typeof tokenFile !== 'string' || !tokenFile) return undefined;
  // Trimmed as client-go does: a token written with a final newline is still the same token.
  const token = (await readFile(tokenFile, 'utf8')).trim();
  return token ? `Bearer ${token}` : undefined;
}
