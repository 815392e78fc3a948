import t from 'tap';
import { ConfigError } from '../../../lib/errors.js';
import { parseChecksFile } from '../src/checks-file.js';

t.test('a checks file with every expectation kind', async (t) => {
  const specs = parseChecksFile(
    `
- name: mode
  sql: SELECT v FROM settings WHERE k = 'mode'
  expect: { equals: "on" }
  probes: [liveness]
- name: queue
  sql: SELECT COUNT(*) FROM jobs
  expect: { min: 0, max: 100 }
  probes: [readiness, startup]
- name: release
  sql: SELECT v FROM settings WHERE k = 'release'
  expect:
    regex: '^v\\d+'
- name: replicas
  sql: SELECT * FROM replicas
  expect: { rows: { min: 1 } }
  probes: startup
- name: exactly-two
  sql: SELECT 1 UNION SELECT 2
  expect: { rows: 2 }
  probes: []
- name: runs
  sql: "  DO 1  "
`,
    'checks.yaml',
  );
  t.same(
    specs.map(({ name, probes }) => [name, probes]),
    [
      ['mode', ['liveness']],
      ['queue', ['readiness', 'startup']],
      ['release', ['readiness']],
      ['replicas', ['startup']],
      ['exactly-two', []],
      ['runs', ['readiness']],
    ],
    'probes as written; readiness when omitted; a single name is a list of one',
  );
  t.same(specs[0]?.expect, { kind: 'equals', value: 'on' });
  t.same(specs[1]?.expect, { kind: 'range', min: 0, max: 100 });
  t.same(specs[2]?.expect, { kind: 'regex', pattern: /^v\d+/ });
  t.same(specs[3]?.expect, { kind: 'rows', min: 1 });
  t.same(specs[4]?.expect, { kind: 'rows', exactly: 2 });
  t.same(specs[5], { name: 'runs', sql: 'DO 1', expect: { kind: 'succeeds' }, probes: ['readiness'] });
  t.same(parseChecksFile('[]', 'empty-list.yaml'), [], 'an explicit empty list is allowed');
});

t.test('mistakes name the file, the entry and what is wrong', async (t) => {
  const mistakes: [string, string][] = [
    ['', 'f.yaml: is empty: expected a YAML list of checks'],
    ['name: x', 'f.yaml: expected a YAML list of checks'],
    ['- name: a\n  sql: [unclosed', 'f.yaml: not valid YAML: '],
    ['- just text', 'f.yaml: check 1: expected a mapping with name, sql, expect and probes'],
    ['- { sql: SELECT 1 }', 'f.yaml: check 1: name must be 1-63 letters'],
    ['- { name: "has space", sql: SELECT 1 }', 'f.yaml: check 1 ("has space"): name must be'],
    [
      '- { name: database-up, sql: SELECT 1 }',
      'f.yaml: check 1 ("database-up"): the name "database-up" belongs to a built-in check',
    ],
    [
      '- { name: a, sql: SELECT 1 }\n- { name: a, sql: SELECT 2 }',
      'f.yaml: check 2 ("a"): the name "a" is used twice',
    ],
    ['- { name: a }', 'f.yaml: check 1 ("a"): sql must be a non-empty string'],
    [
      '- { name: a, sql: SELECT 1, timeout: 3s }',
      'f.yaml: check 1 ("a"): unknown key "timeout" (known: name, sql, expect, probes)',
    ],
    [
      '- { name: a, sql: SELECT 1, probes: [ready] }',
      'f.yaml: check 1 ("a"): probes must be a list of liveness, readiness, startup (got "ready")',
    ],
    ['- { name: a, sql: SELECT 1, expect: 5 }', 'f.yaml: check 1 ("a"): expect must be a mapping'],
    [
      '- { name: a, sql: SELECT 1, expect: {} }',
      'f.yaml: check 1 ("a"): expect takes one of equals, regex, rows, or min and/or max',
    ],
    [
      '- { name: a, sql: SELECT 1, expect: { equals: 1, min: 0 } }',
      'f.yaml: check 1 ("a"): expect takes one of',
    ],
    [
      '- { name: a, sql: SELECT 1, expect: { above: 1 } }',
      'f.yaml: check 1 ("a"): expect has an unknown key "above"',
    ],
    [
      '- { name: a, sql: SELECT 1, expect: { equals: true } }',
      'f.yaml: check 1 ("a"): expect.equals must be a string, a number or null (got true); write 1/0 for booleans',
    ],
    [
      '- { name: a, sql: SELECT 1, expect: { min: "5" } }',
      'f.yaml: check 1 ("a"): expect.min must be a number (got "5")',
    ],
    [
      '- { name: a, sql: SELECT 1, expect: { min: 5, max: 1 } }',
      'f.yaml: check 1 ("a"): expect.min (5) is greater than expect.max (1)',
    ],
    [
      '- { name: a, sql: SELECT 1, expect: { regex: "(" } }',
      'f.yaml: check 1 ("a"): expect.regex is not a valid regular expression',
    ],
    [
      '- { name: a, sql: SELECT 1, expect: { rows: -1 } }',
      'f.yaml: check 1 ("a"): expect.rows must be a whole number (got -1)',
    ],
    [
      '- { name: a, sql: SELECT 1, expect: { rows: { least: 1 } } }',
      'f.yaml: check 1 ("a"): expect.rows has an unknown key "least"',
    ],
    [
      '- { name: a, sql: SELECT 1, expect: { rows: {} } }',
      'f.yaml: check 1 ("a"): expect.rows needs a count, min or max',
    ],
  ];
  for (const [text, message] of mistakes) {
    let error: unknown;
    try {
      parseChecksFile(text, 'f.yaml');
    } catch (err) {
      error = err;
    }
    t.type(error, ConfigError, JSON.stringify(text));
    t.equal((error as ConfigError).option, 'checksFile');
    t.equal(
      (error as ConfigError).message.slice(0, `--checks-file ${message}`.length),
      `--checks-file ${message}`,
    );
  }
});
