import { basename, dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

/** The repository root, whether this runs from source (scripts/) or from the build (dist/scripts/). */
const here = join(dirname(fileURLToPath(import.meta.url)), '..');
export const repoRoot = basename(here) === 'dist' ? dirname(here) : here;
