/**
 * Property tests of the checks file parser: any text gives checks or a ConfigError (exit 2 at start, a
 * refused reload later), never another exception; and the bugs they found, each as an example.
 */

import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import fc from 'fast-check';
import t from 'tap';
import { stringify } from 'yaml';
import { ConfigError } from '../../../lib/errors.js';
import { runPodkit } from '../../../test/support/process.js';
import { maxChecksFileBytes, parseChecksFile } from '../src/checks-file.js';

const runs = { numRuns: 300 };

/** True for checks, false for a ConfigError; anything else thrown fails the property. */
function parses(text: string): boolean {
  try {
    const specs = parseChecksFile(text, 'checks.yaml');
    return (
      Array.isArray(specs) && specs.every((s) => typeof s.name === 'string' && typeof s.sql === 'string')
    );
  } catch (err) {
    if (err instanceof ConfigError) return false;
    throw err;
  }
}

const tokens = [
  '- ',
  'name: ',
  'sql: ',
  'expect: ',
  'probes: ',
  'min: ',
  'max: ',
  'rows: ',
  'equals: ',
  'regex: ',
  '&a ',
  '*a',
  '&b ',
  '*b',
  '<<: ',
  '!!binary ',
  '!!set ',
  '!!map ',
  '!!str ',
  '? ',
  ': ',
  '[',
  ']',
  '{',
  '}',
  ',',
  '"',
  "'",
  '#',
  '|',
  '>',
  '\n',
  '  ',
  '\t',
  '---\n',
  '...\n',
  '%YAML 1.2\n',
  '__proto__',
  'constructor',
  '1e999',
  '.inf',
  '-.inf',
  '.nan',
  '~',
  'null',
  'true',
  '0x10',
  '99999999999999999999',
  '(',
  '\\',
  'ok',
  'readiness',
  'liveness',
  'startup',
  'SELECT 1',
];

t.test('random text: checks or a ConfigError', async (t) => {
  fc.assert(
    fc.property(fc.string({ unit: 'binary', maxLength: 400 }), (text) => {
      parses(text);
    }),
    runs,
  );
  t.pass('held for every input');
});

t.test('YAML-shaped token soup: checks or a ConfigError', async (t) => {
  fc.assert(
    fc.property(fc.array(fc.constantFrom(...tokens), { maxLength: 80 }), (parts) => {
      parses(parts.join(''));
    }),
    runs,
  );
  t.pass('held for every input');
});

t.test('entries of any shape, written as YAML: checks or a ConfigError', async (t) => {
  // fewer runs: each writes and parses a whole file
  const value = fc.oneof(
    fc.anything({ maxDepth: 2 }),
    fc.double(),
    fc.constantFrom('readiness', 'liveness', 'startup', 'ok-name', 'SELECT 1', '('),
  );
  const entry = fc.record(
    {
      name: fc.oneof(fc.stringMatching(/^[A-Za-z0-9][A-Za-z0-9_.-]{0,70}$/), value),
      sql: value,
      expect: fc.oneof(
        value,
        fc.record({ min: value, max: value }, { requiredKeys: [] }),
        fc.record({ rows: fc.oneof(value, fc.record({ min: value, max: value }, { requiredKeys: [] })) }),
        fc.record({ equals: value }),
        fc.record({ regex: fc.string({ maxLength: 20 }) }),
      ),
      probes: fc.oneof(value, fc.array(value, { maxLength: 4 })),
    },
    { requiredKeys: [] },
  );
  fc.assert(
    fc.property(fc.array(entry, { maxLength: 5 }), (entries) => {
      let text: string;
      try {
        text = stringify(entries);
      } catch {
        return true; // not representable as YAML: nothing to parse
      }
      parses(text);
      return true;
    }),
    { numRuns: 200 },
  );
  t.pass('held for every input');
});

// Found by the token soup above (counterexample ["*a"]): an alias to no anchor threw a ReferenceError.

t.test('an alias to no anchor is a ConfigError, not a ReferenceError', async (t) => {
  t.throws(() => parseChecksFile('*a', 'checks.yaml'), ConfigError);
  t.throws(() => parseChecksFile('- name: q\n  sql: *nowhere\n', 'checks.yaml'), /not usable YAML/);
});

// Found by feeding the parser adversarial files by hand, alongside the properties.

t.test(
  'aliases that expand past the limit ("billion laughs") are a ConfigError, not a ReferenceError',
  async (t) => {
    const laughs = [
      'a: &a [x, x, x, x, x, x, x, x, x, x]',
      'b: &b [*a, *a, *a, *a, *a, *a, *a, *a, *a, *a]',
      'c: &c [*b, *b, *b, *b, *b, *b, *b, *b, *b, *b]',
      `d: [${Array(120).fill('*c').join(', ')}]`,
    ].join('\n');
    t.throws(() => parseChecksFile(laughs, 'checks.yaml'), ConfigError);
    t.throws(() => parseChecksFile(laughs, 'checks.yaml'), /not usable YAML: Excessive alias count/);
  },
);

t.test('an infinite bound is named as such, not as null', async (t) => {
  t.throws(
    () => parseChecksFile('- name: q\n  sql: SELECT 1\n  expect: { min: .inf }\n', 'checks.yaml'),
    /expect\.min must be a number \(got Infinity\)/,
  );
});

t.test('a checks file over the size limit is refused before it is parsed', async (t) => {
  const big = `# ${'x'.repeat(maxChecksFileBytes)}\n- name: q\n  sql: SELECT 1\n`;
  t.throws(() => parseChecksFile(big, 'checks.yaml'), /over the 1048576 a checks file may be/);
});

t.test('db-health refuses a checks file over the limit before reading it (exit 2)', async (t) => {
  const path = join(t.testdir(), 'checks.yaml');
  writeFileSync(path, `# ${'x'.repeat(maxChecksFileBytes + 1)}\n`);
  const run = await runPodkit([
    'db-health',
    '--mysql-url',
    'mysql://health@127.0.0.1:1/',
    '--checks-file',
    path,
  ]);
  t.equal(run.code, 2, run.stderr);
  t.match(run.stderr, /--checks-file .*checks\.yaml: is \d+ bytes, over the 1048576 a checks file may be/);
});
