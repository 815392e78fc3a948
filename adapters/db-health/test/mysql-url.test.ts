import t from 'tap';
import { ConfigError } from '../../../lib/errors.js';
import { parseOptions } from '../../../lib/options.js';
import { parseMysqlUrl } from '../src/mysql-url.js';
import { dbHealthOptions } from '../src/options.js';

const parse = (argv: string[], env: NodeJS.ProcessEnv = {}) =>
  parseOptions(dbHealthOptions, argv, env, { component: 'db-health' }).values;

t.test('a URL without a password names host, port, user and database', async (t) => {
  t.same(parseMysqlUrl('mysql://health@db.example:3307/shop'), {
    host: 'db.example',
    port: 3307,
    user: 'health',
    database: 'shop',
    display: 'mysql://health@db.example:3307/shop',
  });
  t.same(parseMysqlUrl('mysql://root@127.0.0.1/'), {
    host: '127.0.0.1',
    port: 3306,
    user: 'root',
    display: 'mysql://root@127.0.0.1:3306/',
  });
  t.equal(parseMysqlUrl('mariadb://a%40b@[::1]:3306/').host, '::1');
  t.equal(parseMysqlUrl('mariadb://a%40b@[::1]:3306/').user, 'a@b');
});

t.test('--mysql-url is parsed once by the option layer, and logs as its URL', async (t) => {
  const target = parse(['--mysql-url', 'mysql://health@db.example:3307/shop']).mysqlUrl;
  t.equal(target?.host, 'db.example');
  t.equal(target?.port, 3307);
  t.equal(String(target), 'mysql://health@db.example:3307/shop');
  t.equal(JSON.stringify({ target }), '{"target":"mysql://health@db.example:3307/shop"}');
  t.equal(parse([], { PODKIT_DB_HEALTH_MYSQL_URL: 'mysql://a@b/' }).mysqlUrl?.user, 'a');
});

t.test('refusals name the option and never echo a password', async (t) => {
  const refusals: [string, RegExp][] = [
    [
      'mysql://root:s3cret-pw@db:3306/',
      /^--mysql-url must not contain a password \(found one for user "root"\)/,
    ],
    ['mysql://:s3cret-pw@db/', /^--mysql-url must not contain a password/],
    ['http://root@db/', /^--mysql-url must start with mysql:\/\/ \(got http:\/\/\)/],
    ['mysql://db:3306/', /^--mysql-url must name a user/],
    ['mysql://root@db/shop?ssl=1', /^--mysql-url takes no query or fragment/],
    ['mysql://root@db/a/b', /^--mysql-url names at most one database/],
    ['not a url s3cret-pw', /^--mysql-url is not a URL/],
    ['mysql://root:s3cret-pw@bad host/', /^--mysql-url is not a URL/],
  ];
  for (const [raw, message] of refusals) {
    const refuse = (argv: string[], env: NodeJS.ProcessEnv = {}) => {
      try {
        parse(argv, env);
      } catch (caught) {
        return caught;
      }
      return undefined;
    };
    const err = refuse(['--mysql-url', raw]);
    t.type(err, ConfigError, raw);
    t.match((err as Error).message, message, raw);
    t.notMatch((err as Error).message, /s3cret-pw/, `${raw}: the password is not echoed`);
    const fromEnv = refuse([], { PODKIT_MYSQL_URL: raw }) as Error;
    t.match(fromEnv.message, /^--mysql-url \(from env PODKIT_MYSQL_URL\) /, `${raw}: the variable is named`);
    t.notMatch(fromEnv.message, /s3cret-pw/);
  }
});
