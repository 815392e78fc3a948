import fc from 'fast-check';
import t from 'tap';
import { formatLocalDateTime, toLocalDateTime } from '../src/local-date-time.js';

t.test("Jackson's two forms of a LocalDateTime give the same ISO local value", async (t) => {
  t.equal(toLocalDateTime('2024-01-02T10:30:00'), '2024-01-02T10:30:00');
  t.equal(toLocalDateTime('2024-01-02T10:30'), '2024-01-02T10:30:00', 'seconds are optional');
  t.equal(toLocalDateTime('2024-01-02T10:30:05.123456789'), '2024-01-02T10:30:05', 'fraction dropped');
  t.equal(toLocalDateTime('2024-01-02T10:30:00+02:00'), '2024-01-02T08:30:00', 'an offset is applied');
  t.equal(toLocalDateTime([2024, 1, 2, 10, 30]), '2024-01-02T10:30:00');
  t.equal(toLocalDateTime([2024, 1, 2, 10, 30, 5, 999]), '2024-01-02T10:30:05', 'nanos dropped');
  for (const bad of [
    '2024-02-30T10:00:00',
    '2024-01-02',
    'tomorrow',
    [2024, 13, 1, 0, 0],
    [2024, 1],
    5,
    null,
  ])
    t.equal(toLocalDateTime(bad), undefined, `rejects ${JSON.stringify(bad)}`);
  t.equal(formatLocalDateTime(new Date('2024-01-02T10:30:00Z')), '2024-01-02T10:30:00');
  t.equal(formatLocalDateTime(null), null);
});

t.test('property: every date-time reads the same as an ISO string and as an array', async () => {
  fc.assert(
    fc.property(
      fc.date({
        min: new Date('0001-01-01T00:00:00Z'),
        max: new Date('9999-12-31T23:59:59Z'),
        noInvalidDate: true,
      }),
      (date) => {
        const iso = date.toISOString().slice(0, 19);
        const parts = [
          date.getUTCFullYear(),
          date.getUTCMonth() + 1,
          date.getUTCDate(),
          date.getUTCHours(),
          date.getUTCMinutes(),
          date.getUTCSeconds(),
        ];
        return toLocalDateTime(iso) === iso && toLocalDateTime(parts) === iso;
      },
    ),
    { numRuns: 300 },
  );
});
