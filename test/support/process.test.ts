import t from 'tap';
import { schemaProblem } from './process.js';

const good = { time: '2026-12-04T10:00:00.123Z', level: 'info', component: 'tls-proxy', msg: 'listening' };
const line = (fields: Record<string, unknown>) => JSON.stringify({ ...good, ...fields });

t.test('the log schema: time (ISO 8601), level, component, msg', async (t) => {
  t.equal(schemaProblem(JSON.stringify(good), 'tls-proxy'), undefined, 'a pino line passes');
  t.equal(schemaProblem('listening on :8443', 'tls-proxy'), 'not JSON');
  t.equal(schemaProblem('[1]', 'tls-proxy'), 'not a JSON object');
  t.match(
    schemaProblem(line({ time: 1764842400123 }), 'tls-proxy'),
    /time/,
    'epoch milliseconds are not ISO 8601',
  );
  t.match(schemaProblem(line({ level: 30 }), 'tls-proxy'), /level/, 'a number is not a level label');
  t.match(schemaProblem(line({ component: 'git-pull' }), 'tls-proxy'), /component/);
  t.match(schemaProblem(line({ msg: undefined }), 'tls-proxy'), /msg/);
});
