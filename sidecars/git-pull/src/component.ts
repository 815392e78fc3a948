/**
 * git-pull: keeps a shared volume in sync with a git repository, so a push deploys. One worktree per
 * commit, published by an atomic symlink swap; the last good revision stays live through any failure;
 * the app hears about each publish by a command, an HTTP call or a signal; POST /sync syncs now.
 */

import { stat } from 'node:fs/promises';
import { isAbsolute, join, resolve } from 'node:path';
import { BurstGarbage } from '../../../lib/burst-garbage.js';
import { defineComponent } from '../../../lib/component.js';
import { ConfigError } from '../../../lib/errors.js';
import { HttpClient } from '../../../lib/http-client.js';
import { signalNotifier, webhookNotifier } from '../../../lib/notify-app.js';
import { checkNotifyOptions } from '../../../lib/option-groups/notify.js';
import { invalid } from '../../../lib/options.js';
import { execHook, notifyApp, revisionMessage } from './hooks.js';
import { createGitPullMetrics } from './metrics.js';
import { Notifier, type Revision } from './notifier.js';
import { gitPullOptions } from './options.js';
import { GitRepo } from './repo.js';
import { registerSyncEndpoint } from './sync-endpoint.js';
import { SyncLoop, type SyncOutcome } from './sync-loop.js';
import { Syncer } from './syncer.js';

/** Names under --root that git-pull itself uses. */
const reservedNames = new Set(['.git', '.worktrees', '.', '..']);

export const gitPull = defineComponent({
  options: gitPullOptions,

  check(o, given) {
    const { transport } = o.repo;
    const link = o.link || o.repo.name;
    if (link.includes('/') || reservedNames.has(link) || link.startsWith('.worktrees')) {
      throw invalid(
        'link',
        `${JSON.stringify(link)} must be a plain name under --root, not .git or .worktrees`,
      );
    }
    if (o.repo.password && transport !== 'http') {
      throw invalid('repo', 'has a password, which only http(s) remotes take: use --ssh-key-file for ssh');
    }
    if ((o.username !== undefined || o.password.isSet) && transport !== 'http') {
      throw invalid(
        o.password.isSet ? 'password' : 'username',
        `is for http(s) remotes; ${o.repo.display} is ${transport}`,
      );
    }
    if (o.password.isSet && !(o.username ?? o.repo.username)) {
      throw invalid('username', 'is needed with --password-file (or write the user into the URL)');
    }
    if (o.username !== undefined && !o.password.isSet && !o.repo.password) {
      throw invalid('password', 'is needed with --username: set --password-file or PODKIT_PASSWORD');
    }
    if ((o.sshKeyFile || o.knownHostsFile) && transport !== 'ssh') {
      throw invalid(
        o.sshKeyFile ? 'sshKeyFile' : 'knownHostsFile',
        `is for ssh remotes; ${o.repo.display} is ${transport}`,
      );
    }
    checkNotifyOptions(o, given);
  },

  async start(o, ctx) {
    const { log, health } = ctx;
    const root = resolve(o.root);
    const linkPath = join(root, o.link || o.repo.name);
    const rootStats = await stat(root).catch(() => undefined);
    if (rootStats && !rootStats.isDirectory())
      throw new ConfigError('root', `--root ${root} is not a directory`);
    const linkProblem = await Syncer.checkLink(linkPath);
    if (linkProblem) throw new ConfigError('link', linkProblem);
    // A user name alone in an http(s) URL is taken for a token (GitHub's, GitLab's https://TOKEN@host).
    const urlToken =
      o.repo.transport === 'http' && o.repo.username && !o.repo.password && !o.password.isSet
        ? o.repo.username
        : undefined;
    if (o.repo.password || urlToken) {
      log.warn(
        'the credentials in --repo can be read from the pod spec and process list: prefer --password-file',
      );
    }
    if (!isAbsolute(o.root)) log.warn({ root }, '--root is relative: resolved against the working directory');

    const metrics = createGitPullMetrics(ctx.registry);
    metrics.consecutiveFailures.set(0);
    health.readiness.set('revision', false, 'waiting for the first sync');

    const client = new HttpClient({ caFile: o.caFile });
    // One attempt per delivery: the Notifier below retries (one-time mode: not at all).
    const webhook = webhookNotifier(o, client, { attempts: 1 });
    const signal = signalNotifier(o);
    const notifiers = [
      o.exechookCommand
        ? { kind: 'exechook' as const, deliver: execHook(o.exechookCommand, o.exechookTimeout) }
        : undefined,
      webhook
        ? {
            kind: 'webhook' as const,
            deliver: notifyApp(webhook, (revision) => revisionMessage(revision, o.webhookMethod)),
          }
        : undefined,
      signal ? { kind: 'signal' as const, deliver: notifyApp(signal, () => undefined) } : undefined,
    ]
      .filter((hook) => hook !== undefined)
      .map((hook) => new Notifier({ ...hook, log, metrics, retry: !o.oneTime }));
    let deliveries: Promise<boolean>[] = [];

    const syncer = new Syncer({
      repo: new GitRepo({
        root,
        url: o.repo.url,
        transport: o.repo.transport,
        depth: o.depth,
        submodules: o.submodules,
      }),
      address: o.repo,
      urlSecrets: [o.repo.password, urlToken],
      ref: o.ref,
      linkPath,
      keepWorktrees: o.keepWorktrees,
      git: { symlinks: o.symlinks },
      log,
      credentials: async () => ({
        transport: o.repo.transport,
        ...(o.repo.origin ? { origin: o.repo.origin } : {}),
        ...((o.username ?? o.repo.username) ? { username: o.username ?? o.repo.username } : {}),
        ...(o.password.isSet
          ? { password: await o.password.read() }
          : o.repo.password
            ? { password: o.repo.password }
            : urlToken
              ? { password: '' }
              : {}),
        ...(o.sshKeyFile ? { sshKeyFile: o.sshKeyFile } : {}),
        ...(o.knownHostsFile ? { knownHostsFile: o.knownHostsFile } : {}),
      }),
      onLive(hash, how) {
        health.readiness.set('revision', true, { hash, how });
        metrics.revision.reset();
        metrics.revision.set({ hash, ref: o.ref }, 1);
      },
    });

    // A sync is a burst of git processes between long waits: its garbage goes back when it is over.
    const garbage = new BurstGarbage();
    const loop = new SyncLoop({
      sync: (signal) => syncer.sync(signal),
      cleanup: (signal) => syncer.cleanup(signal),
      afterSync: async () => {
        const collected = await garbage.burstOver();
        // A line either way, so that the end of a sync's housekeeping can be seen (tests wait for it).
        if (collected) log.debug(collected, 'collected the garbage of syncs');
        else log.debug('no garbage of syncs worth collecting yet');
      },
      periodMs: o.period,
      syncTimeoutMs: o.syncTimeout,
      maxFailures: o.maxFailures,
      maxBackoffMs: o.maxBackoff,
      oneTime: o.oneTime,
      log,
      metrics,
      onPublished(result) {
        const revision: Revision = { hash: result.hash, ref: o.ref, worktree: result.worktree };
        deliveries = notifiers.map((notifier) => notifier.notify(revision));
      },
      onOneTimeDone(outcome: SyncOutcome) {
        void Promise.all(deliveries).then((results) => {
          const hash = outcome.result === 'error' ? undefined : outcome.hash;
          if (results.every(Boolean)) ctx.stop(0, `one-time sync done: ${hash} is live`);
          else ctx.stop(1, `one-time sync: ${hash} is live but a hook failed (see the log)`);
        });
      },
      onFatal: (reason) => ctx.stop(1, reason),
    });

    registerSyncEndpoint(ctx.admin, {
      token: o.syncToken,
      open: o.syncOpen,
      minIntervalMs: o.syncMinInterval,
      requestSync: () => loop.request(),
      accepting: () => health.phase !== 'draining',
      log,
      metrics,
    });
    loop.start();

    return {
      async close() {
        for (const notifier of notifiers) notifier.close();
        await loop.close();
        client.close();
      },
    };
  },
});
