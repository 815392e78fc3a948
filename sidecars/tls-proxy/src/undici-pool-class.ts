/**
 * undici's Pool without the rest of undici. `import { Pool } from 'undici'` also loads fetch, WebSocket,
 * caching and mocks, about 10 MB more resident memory for a sidecar that uses none of them. The package
 * has no `exports` map and its own index.js loads Pool from this path; a static import lets the bundle
 * (scripts/bundle.ts) carry it. Imported only by upstream-pool.ts, on first use.
 */

import type { Pool as UndiciPool } from 'undici';
// @ts-expect-error undici publishes types for its index only; the class is the same.
import PoolClass from 'undici/lib/dispatcher/pool.js';

export const Pool = PoolClass as typeof UndiciPool;
