/**
 * undici's Pool, from the package's public exports, in a module of its own so upstream-pool.ts can load
 * it on first use. Not `import('undici')` there: bundled, a dynamically imported CommonJS package
 * exposes only a default export, while a static named import is resolved by the bundler.
 */

export { Pool } from 'undici';
