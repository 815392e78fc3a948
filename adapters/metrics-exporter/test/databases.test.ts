/**
 * The Redis and MySQL sources against real servers: a private redis-server (Debian's) and a private
 * MariaDB, both on free loopback ports. One exporter reads both at every scrape; Redis going away is
 * up 0 for it alone, and it is read again once Redis is back.
 */

import { Redis } from 'ioredis';
import t from 'tap';
import { startMariaDb } from '../../../test/support/mariadb.js';
import { startRedis } from '../../../test/support/redis.js';
import { waitFor } from '../../../test/support/wait.js';
import { checkedMetrics, metricValue, scrape, startExporter, tempDir, writeFile } from './helpers.js';

t.test('Redis INFO and MariaDB global status in one scrape; Redis down is up 0, then back', async (t) => {
  const [redis, db] = await Promise.all([startRedis(t), startMariaDb(t)]);
  const client = new Redis({ port: redis.port, host: '127.0.0.1', lazyConnect: true });
  t.teardown(() => client.disconnect());
  await client.connect();
  await client.mset('a', '1', 'b', '2', 'c', '3');
  await client.expire('a', 600);
  await client.get('a');

  const password = writeFile(tempDir(), 'mysql-password', `${db.password}\n`);
  const exporter = await startExporter(t, [
    ...['--redis-url', `${redis.url}/0`],
    ...['--mysql-url', db.url, '--mysql-password-file', password],
  ]);
  await waitFor(
    async () =>
      metricValue(
        (await checkedMetrics(exporter.adminUrl)) ?? '',
        'podkit_metrics_exporter_up{source="redis"}',
      ) === 1,
    { what: 'the redis source up' },
  );

  const text = await scrape(t, exporter.adminUrl);
  t.equal(metricValue(text, 'podkit_metrics_exporter_up{source="redis"}'), 1);
  t.equal(metricValue(text, 'podkit_metrics_exporter_up{source="mysql"}'), 1);
  t.equal(metricValue(text, 'redis_db_keys{db="db0"}'), 3, 'INFO keyspace');
  t.equal(metricValue(text, 'redis_db_expires{db="db0"}'), 1);
  t.ok((metricValue(text, 'redis_connected_clients') as number) >= 2, 'the test and the exporter');
  t.ok((metricValue(text, 'redis_keyspace_hits_total') as number) >= 1, 'a counter gets _total');
  t.ok((metricValue(text, 'redis_commands_total{cmd="mset"}') as number) >= 1, 'INFO commandstats');
  t.match(text, /^redis_uptime_in_seconds \d+$/m);
  t.match(
    text,
    /^redis_instance_info\{redis_version="7\.[^"]+",redis_mode="standalone",os="[^"]+",arch_bits="64",role="master"\} 1$/m,
  );
  t.ok((metricValue(text, 'mysql_global_status_threads_connected') as number) >= 1, 'SHOW GLOBAL STATUS');
  t.ok((metricValue(text, 'mysql_global_status_uptime') as number) >= 0);
  t.ok((metricValue(text, 'mysql_global_status_questions') as number) >= 1);
  t.ok((metricValue(text, 'mysql_global_variables_max_connections') as number) >= 1, 'a key variable');
  t.equal(metricValue(text, 'mysql_global_variables_read_only'), 0, 'OFF is 0');
  t.match(text, /^mysql_version_info\{version="[^"]*MariaDB[^"]*"\} 1$/m);
  t.notMatch(text, /^mysql_global_status_.*[A-Z]/m, 'names in lower case');
  await scrape(t, exporter.adminUrl, 'openmetrics');

  await redis.stop();
  const down = await scrape(t, exporter.adminUrl);
  t.equal(metricValue(down, 'podkit_metrics_exporter_up{source="redis"}'), 0, 'Redis gone: up 0');
  t.equal(metricValue(down, 'podkit_metrics_exporter_up{source="mysql"}'), 1, 'MySQL still read');
  t.notMatch(down, /^redis_db_keys/m);

  await redis.start();
  await waitFor(
    async () =>
      metricValue(
        (await checkedMetrics(exporter.adminUrl)) ?? '',
        'podkit_metrics_exporter_up{source="redis"}',
      ) === 1,
    { timeoutMs: 15_000, what: 'the redis source up again' },
  );
  const back = await scrape(t, exporter.adminUrl);
  t.equal(
    metricValue(back, 'redis_db_keys{db="db0"}'),
    undefined,
    'a fresh Redis (no persistence) has no keys',
  );
  t.match(back, /^redis_connected_clients \d+$/m);
  await exporter.waitForLog('source up again');
});
