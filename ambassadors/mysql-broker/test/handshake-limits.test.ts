/**
 * The client's first packet (its handshake response or SSLRequest) is judged before the backend reads
 * a byte of it: over --max-handshake-size, or not a MySQL handshake at all, the client gets a
 * protocol-correct ERR packet (sequence 2, SQL state 08S01) and the connection closes, counted in
 * podkit_mysql_broker_limit_rejections_total. Real clients, TLS included, pass untouched.
 */

import { execFile } from 'node:child_process';
import { writeFileSync } from 'node:fs';
import { connect, type Socket } from 'node:net';
import { join } from 'node:path';
import t, { type Test } from 'tap';
import { CertificateAuthority, writeCert } from '../../../test/support/certs.js';
import { startMariaDb } from '../../../test/support/mariadb.js';
import { waitFor } from '../../../test/support/wait.js';
import { parseErrPayload, readPacket } from '../src/protocol.js';
import { backendArg, connectError, connectVia, mariadbCli, metric, startBroker } from './helpers.js';

const dir = t.testdir();
const ca = await CertificateAuthority.create();
const server = await writeCert(dir, 'server', await ca.localhost());
const caFile = join(dir, 'ca.crt');
writeFileSync(caFile, ca.certPem);
const db = await startMariaDb(t, {
  args: [`--ssl-ca=${caFile}`, `--ssl-cert=${server.cert}`, `--ssl-key=${server.key}`],
});

const rejections = (adminUrl: string, limit: string) =>
  metric(adminUrl, 'podkit_mysql_broker_limit_rejections_total', { limit });

interface Exchange {
  greeting: Buffer;
  /** Every byte after the greeting, until the broker closed the connection. */
  after: Buffer;
}

/**
 * A raw client: waits for the greeting (unless `early`), sends `bytes`, and reads until the broker
 * closes. `early` sends before the greeting, as a port scanner or an HTTP client would.
 */
function exchange(target: { host: string; port: number }, bytes: Buffer, early = false): Promise<Exchange> {
  return new Promise((resolve, reject) => {
    const socket: Socket = connect(target.port, target.host);
    let received = Buffer.alloc(0);
    let greeting: Buffer | undefined;
    if (early) socket.write(bytes);
    socket.on('data', (chunk: Buffer) => {
      received = Buffer.concat([received, chunk]);
      if (greeting) return;
      const first = readPacket(received);
      if (!first) return;
      greeting = received.subarray(0, first.size);
      received = received.subarray(first.size);
      // The broker may close before all of an oversized packet is written: that is the point.
      if (!early) socket.write(bytes, () => {});
    });
    socket.on('error', (err: NodeJS.ErrnoException) => {
      if (err.code !== 'ECONNRESET' && err.code !== 'EPIPE') reject(err);
    });
    socket.on('close', () => {
      if (!greeting) return reject(new Error(`closed before the greeting (${received.length} bytes)`));
      resolve({ greeting, after: received });
    });
    socket.setTimeout(20_000, () => socket.destroy(new Error('the broker did not close the connection')));
  });
}

function errOf(t: Test, after: Buffer): { code: number; message: string; sequence: number; state: string } {
  const packet = readPacket(after);
  if (!packet) throw new Error(`no complete packet after the greeting: ${after.toString('hex')}`);
  t.equal(packet.payload[0], 0xff, 'an ERR packet');
  t.equal(packet.size, after.length, 'and nothing after it');
  const state = packet.payload.subarray(3, 9).toString('latin1');
  return { ...parseErrPayload(packet.payload), sequence: packet.sequence, state };
}

/** A header announcing `length` bytes with sequence `sequence`, and `body` (possibly less than announced). */
function framed(length: number, sequence: number, body: Buffer = Buffer.alloc(0)): Buffer {
  const header = Buffer.alloc(4);
  header.writeUIntLE(length, 0, 3);
  header[3] = sequence;
  return Buffer.concat([header, body]);
}

t.test('an oversized first packet: ERR 1153 from the broker, closed, counted', async (t) => {
  const broker = await startBroker(t, ['--backends', backendArg(db)]);
  const { greeting, after } = await exchange(broker, framed(1024 * 1024, 1, Buffer.alloc(200_000, 0x61)));
  t.equal(readPacket(greeting)?.payload[0], 10, 'the backend greeting came first');
  const err = errOf(t, after);
  t.equal(err.code, 1153, 'ER_NET_PACKET_TOO_LARGE');
  t.equal(err.sequence, 2, 'sequence 2: the answer to the client packet');
  t.equal(err.state, '#08S01');
  t.match(err.message, /1048576 bytes, over --max-handshake-size 65536/);
  t.equal(await rejections(broker.adminUrl, 'handshake_size'), 1);
  t.equal(await rejections(broker.adminUrl, 'handshake_malformed'), 0);
  await broker.waitForLog((l) => l.msg === 'client handshake refused' && l.limit === 'handshake_size');
});

t.test('not a MySQL client: ERR 1043 (or 1153), never forwarded, counted', async (t) => {
  const broker = await startBroker(t, ['--backends', backendArg(db)]);
  const badSequence = await exchange(broker, framed(40, 0, Buffer.alloc(40)));
  const bad = errOf(t, badSequence.after);
  t.equal(bad.code, 1043, 'ER_HANDSHAKE_ERROR');
  t.match(bad.message, /Bad handshake .*sequence 0, expected 1/);

  const noUser = Buffer.alloc(40, 0x41);
  noUser.writeUInt32LE(0x0000_0200 | 0x0000_8000, 0);
  const unterminated = errOf(t, (await exchange(broker, framed(40, 1, noUser))).after);
  t.equal(unterminated.code, 1043);
  t.match(unterminated.message, /no user name/);

  // "GET" read as a length is 5 MB: refused from the header, before the rest arrives.
  const http = await exchange(broker, Buffer.from('GET / HTTP/1.1\r\nHost: db\r\n\r\n'), true);
  t.equal(errOf(t, http.after).code, 1153, 'an HTTP request sent before the greeting');

  t.equal(await rejections(broker.adminUrl, 'handshake_malformed'), 2);
  t.equal(await rejections(broker.adminUrl, 'handshake_size'), 1);
});

t.test(
  'real clients: plain and TLS pass; a handshake over a small limit is refused as they read it',
  async (t) => {
    const broker = await startBroker(t, ['--backends', backendArg(db), '--max-handshake-size', '256']);
    const plain = await mariadbCli(broker, db.password, 'SELECT 6 * 7');
    t.equal(plain.stdout.trim(), '42', plain.stderr);
    // The SSLRequest is the first packet, then the TLS handshake and the real response inside it.
    const tls = await connectVia(broker, db, { ssl: { ca: ca.certPem } });
    const [rows] = await tls.query(
      "SELECT VARIABLE_VALUE AS v FROM information_schema.SESSION_STATUS WHERE VARIABLE_NAME = 'Ssl_version'",
    );
    t.match((rows as { v: string }[])[0]?.v, /^TLSv1\.[23]$/, 'TLS through the broker');
    await tls.end();

    // mysql2 sends connection attributes; a long user name takes it over 256 bytes.
    const err = await connectError(broker, { ...db, user: 'u'.repeat(300) });
    t.equal(err.code, 'ER_NET_PACKET_TOO_LARGE', 'mysql2 reads the ERR packet');
    t.equal(err.errno, 1153);
    t.equal(await rejections(broker.adminUrl, 'handshake_size'), 1);
  },
);

t.test('the mariadb client prints the refusal as a server error', async (t) => {
  // The smallest limit: the client's handshake response is larger (without TLS: an SSLRequest fits).
  const broker = await startBroker(t, ['--backends', backendArg(db), '--max-handshake-size', '64']);
  const cli = await new Promise<{ code: number | null; stderr: string }>((resolve) => {
    execFile(
      'mariadb',
      ['-h', broker.host, '-P', String(broker.port), '-u', 'root', '--skip-ssl', '-e', 'SELECT 1'],
      { env: { ...process.env, MYSQL_PWD: db.password }, timeout: 30_000 },
      (err, _stdout, stderr) =>
        resolve({ code: err ? (typeof err.code === 'number' ? err.code : null) : 0, stderr }),
    );
  });
  t.not(cli.code, 0);
  t.match(cli.stderr, /ERROR 1153 \(08S01\).*--max-handshake-size 64/);
  t.equal(await rejections(broker.adminUrl, 'handshake_size'), 1);
});

t.test('with --workers the workers count and the primary sums', async (t) => {
  const broker = await startBroker(t, ['--backends', backendArg(db), '--workers', '2']);
  for (let i = 0; i < 2; i++) {
    t.equal(errOf(t, (await exchange(broker, framed(0x10_0000, 1))).after).code, 1153);
  }
  await waitFor(async () => (await rejections(broker.adminUrl, 'handshake_size')) === 2, {
    what: 'two rejections summed from the workers',
  });
  const plain = await mariadbCli(broker, db.password, 'SELECT 6 * 7');
  t.equal(plain.stdout.trim(), '42', plain.stderr);
});
