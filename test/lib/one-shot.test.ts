/**
 * Component.oneShot: a mode that replaces the server (an exec probe). Its exit code is the process's,
 * start() is never called and no admin server binds; undefined starts the component as usual.
 */

import { EventEmitter } from 'node:events';
import { PassThrough } from 'node:stream';
import t from 'tap';
import { defineComponent } from '../../lib/component.js';
import { runComponent } from '../../lib/lifecycle.js';
import { invalid, opt } from '../../lib/options.js';
import { waitFor } from '../support/wait.js';

function fixture() {
  const calls = { started: 0 };
  const definition = defineComponent({
    options: {
      once: opt.string({ description: 'Exit at once with this output, or "bad" for a config error.' }),
    },
    async oneShot(options, io) {
      if (options.once === undefined) return undefined;
      if (options.once === 'bad') throw invalid('once', 'must not be "bad"');
      io.stdout.write(`once: ${options.once}\n`);
      return 1;
    },
    async start(_options, { health }) {
      calls.started++;
      health.readiness.set('fixture', true);
      return { close: async () => {} };
    },
  });
  const component = { name: 'one-shot-fixture', summary: 'test fixture', adminPort: 9498, ...definition };
  return { component, calls };
}

function memoryIo() {
  const stdout = new PassThrough();
  const stderr = new PassThrough();
  const text = { stdout: '', stderr: '' };
  stdout.on('data', (chunk) => {
    text.stdout += chunk;
  });
  stderr.on('data', (chunk) => {
    text.stderr += chunk;
  });
  return { io: { stdout, stderr, signals: new EventEmitter() }, text };
}

const noTerminationLog = ['--termination-log', '/nonexistent/termination-log'];

t.test('a one-shot mode returns its exit code without starting the component', async (t) => {
  const { component, calls } = fixture();
  const { io, text } = memoryIo();
  // The admin port is taken: a one-shot run must not try to bind it.
  const code = await runComponent(
    component,
    ['--once', 'probe', '--admin-address', '127.0.0.1:1', ...noTerminationLog],
    {},
    io,
  );
  t.equal(code, 1);
  t.equal(text.stdout, 'once: probe\n', 'the mode wrote its output');
  t.equal(calls.started, 0, 'start() was not called');
});

t.test('a ConfigError from a one-shot mode exits 2 with the one-line reason', async (t) => {
  const { component } = fixture();
  const { io, text } = memoryIo();
  const code = await runComponent(component, ['--once', 'bad', ...noTerminationLog], {}, io);
  t.equal(code, 2);
  t.equal(text.stderr, 'podkit one-shot-fixture: --once must not be "bad"\n');
});

t.test('undefined from the one-shot hook starts the component as usual', async (t) => {
  const { component, calls } = fixture();
  const { io } = memoryIo();
  const running = runComponent(
    component,
    ['--admin-address', '127.0.0.1:0', '--log-level', 'silent', ...noTerminationLog],
    {},
    io,
  );
  await waitFor(() => calls.started === 1, { what: 'start() called' });
  io.signals.emit('SIGTERM');
  t.equal(await running, 0);
});
