import amqp from 'amqplib';
import t from 'tap';
import { alive } from './process.js';
import { startRabbitMq } from './rabbitmq.js';

t.test(
  'a private broker: confirmed publish, its own password, restart on the same data, gone after teardown',
  async (t) => {
    let pids: number[] = [];
    await t.test('broker', async (t) => {
      const rabbit = await startRabbitMq(t);
      t.match(rabbit.url, /^amqp:\/\/podkit:[^@]+@127\.0\.0\.1:\d+\/$/);

      const connection = await amqp.connect(rabbit.url);
      const channel = await connection.createConfirmChannel();
      await channel.assertQueue('support-test', { durable: true });
      await new Promise<void>((resolve, reject) =>
        channel.sendToQueue(
          'support-test',
          Buffer.from('kept across a restart'),
          { persistent: true },
          (err) => (err ? reject(err) : resolve()),
        ),
      );
      await connection.close();

      const wrong = new URL(rabbit.url);
      wrong.password = 'not-the-password';
      await t.rejects(amqp.connect(wrong.toString()), /ACCESS_REFUSED|403/, 'another password is refused');

      await rabbit.stop();
      await t.rejects(amqp.connect(rabbit.url), 'no broker while stopped');
      await rabbit.start();

      const again = await amqp.connect(rabbit.url);
      const reader = await again.createChannel();
      const message = await reader.get('support-test', { noAck: true });
      t.equal(
        message ? message.content.toString() : 'no message',
        'kept across a restart',
        'persistent message survived',
      );
      await again.close();

      pids = await rabbit.pids();
      t.ok(pids.every(alive), 'the VM and its epmd run');
    });
    t.ok(
      pids.every((pid) => !alive(pid)),
      'no process of the broker outlives its test',
    );
  },
);
