import t from 'tap';
import {
  describeExpectation,
  type Expectation,
  judge,
  type Observed,
  toObserved,
} from '../src/expectation.js';

const cases: [string, Expectation, Observed, boolean, RegExp?][] = [
  ['equals number, numeric text', { kind: 'equals', value: 1 }, '1', true],
  ['equals number, number', { kind: 'equals', value: 0 }, 0, true],
  ['equals number, other number', { kind: 'equals', value: 1 }, 2, false, /^observed 2, expected 1$/],
  ['equals number, NULL', { kind: 'equals', value: 0 }, null, false, /^observed NULL, expected 0$/],
  ['equals number, empty text is not 0', { kind: 'equals', value: 0 }, '', false],
  ['equals text', { kind: 'equals', value: 'ON' }, 'ON', true],
  [
    'equals text is case-sensitive',
    { kind: 'equals', value: 'ON' },
    'on',
    false,
    /observed "on", expected "ON"/,
  ],
  ['equals text, number observed', { kind: 'equals', value: '5' }, 5, true],
  ['equals null', { kind: 'equals', value: null }, null, true],
  ['equals null, value observed', { kind: 'equals', value: null }, 'x', false, /expected NULL/],
  ['min passes at the bound', { kind: 'range', min: 3 }, 3, true],
  ['min fails below', { kind: 'range', min: 3 }, 2, false, /^observed 2 is below the minimum 3$/],
  ['max passes at the bound', { kind: 'range', max: 10 }, '10', true],
  ['max fails above', { kind: 'range', max: 10 }, 10.5, false, /^observed 10.5 is above the maximum 10$/],
  ['min and max, inside', { kind: 'range', min: 1, max: 2 }, 1.5, true],
  ['range, decimal text', { kind: 'range', min: 1 }, '1.25', true],
  ['range, NULL', { kind: 'range', min: 1 }, null, false, /^observed NULL is not a number$/],
  ['range, text', { kind: 'range', max: 1 }, 'abc', false, /^observed "abc" is not a number$/],
  ['regex match', { kind: 'regex', pattern: /^10\.\d+/ }, '10.11.19-MariaDB', true],
  ['regex on a number', { kind: 'regex', pattern: /^4\d$/ }, 42, true],
  [
    'regex mismatch',
    { kind: 'regex', pattern: /^v2/ },
    'v1.9',
    false,
    /^observed "v1.9" does not match \/\^v2\/$/,
  ],
  ['regex, NULL', { kind: 'regex', pattern: /x/ }, null, false, /observed NULL/],
  ['rows exactly', { kind: 'rows', exactly: 3 }, 3, true],
  ['rows exactly, fewer', { kind: 'rows', exactly: 3 }, 1, false, /^returned 1 row, expected exactly 3$/],
  ['rows min', { kind: 'rows', min: 1 }, 0, false, /^row count 0 is below the minimum 1$/],
  ['rows max', { kind: 'rows', max: 5 }, 6, false, /^row count 6 is above the maximum 5$/],
  ['rows range, inside', { kind: 'rows', min: 1, max: 5 }, 5, true],
  ['succeeds', { kind: 'succeeds' }, null, true],
];

t.test('judge: every expectation kind, passing and failing, with the reason a person reads', async (t) => {
  for (const [name, expect, observed, ok, reason] of cases) {
    const verdict = judge(expect, observed);
    t.equal(verdict.ok, ok, name);
    if (reason) t.match(verdict.reason, reason, `${name}: reason`);
    if (ok) t.equal(verdict.reason, undefined, `${name}: no reason when passing`);
  }
});

t.test('describeExpectation: the checks-file form, for the probe body', async (t) => {
  t.same(describeExpectation({ kind: 'equals', value: 'ON' }), { equals: 'ON' });
  t.same(describeExpectation({ kind: 'range', min: 1 }), { min: 1 });
  t.same(describeExpectation({ kind: 'range', min: 1, max: 9 }), { min: 1, max: 9 });
  t.same(describeExpectation({ kind: 'regex', pattern: /^a+$/ }), { regex: '^a+$' });
  t.same(describeExpectation({ kind: 'rows', exactly: 2 }), { rows: 2 });
  t.same(describeExpectation({ kind: 'rows', max: 4 }), { rows: { max: 4 } });
  t.equal(describeExpectation({ kind: 'succeeds' }), 'query succeeds');
});

t.test('toObserved: mysql2 values become JSON-safe', async (t) => {
  t.equal(toObserved(undefined), null);
  t.equal(toObserved(null), null);
  t.equal(toObserved(7), 7);
  t.equal(toObserved('1.50'), '1.50', 'DECIMAL text is kept exactly');
  t.equal(toObserved(2n ** 64n), '18446744073709551616');
  t.equal(toObserved(Buffer.from('bin')), 'bin');
  t.equal(toObserved(new Date('2026-01-02T03:04:05Z')), '2026-01-02T03:04:05.000Z');
  t.equal(toObserved(true), 1);
});
