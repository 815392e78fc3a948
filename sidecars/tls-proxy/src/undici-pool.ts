/**
 * undici's Pool without the rest of undici. `import { Pool } from 'undici'` also loads fetch, WebSocket,
 * caching and mocks, about 10 MB more resident memory for a sidecar that uses none of them. The package
 * has no `exports` map and its own index.js loads Pool from this path.
 */

import { createRequire } from 'node:module';
import type { Pool as UndiciPool } from 'undici';

const require = createRequire(import.meta.url);

export const Pool = require('undici/lib/dispatcher/pool.js') as typeof UndiciPool;
