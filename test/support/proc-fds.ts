/**
 * Which process holds what, from /proc: a process's children, its open file descriptors, and which
 * process holds the server side of a TCP connection (so a test can tell which worker serves a client).
 */

import { readdirSync, readFileSync, readlinkSync } from 'node:fs';

/** The pids of `pid`'s children (empty once it is gone). */
export function children(pid: number): number[] {
  try {
    return readFileSync(`/proc/${pid}/task/${pid}/children`, 'utf8')
      .trim()
      .split(/\s+/)
      .filter(Boolean)
      .map(Number);
  } catch {
    return [];
  }
}

/** How many file descriptors `pid` has open. */
export function openFdCount(pid: number): number {
  return readdirSync(`/proc/${pid}/fd`).length;
}

/** The inodes of the sockets `pid` has open. */
export function socketInodes(pid: number): Set<string> {
  const inodes = new Set<string>();
  for (const fd of readdirSync(`/proc/${pid}/fd`)) {
    try {
      const target = readlinkSync(`/proc/${pid}/fd/${fd}`);
      const match = /^socket:\[(\d+)\]$/.exec(target);
      if (match) inodes.add(match[1] as string);
    } catch {
      // Closed between the listing and the read.
    }
  }
  return inodes;
}

/**
 * The inode of the server side of a TCP connection on this host: local port `serverPort`, remote port
 * `clientPort` (the client socket's own local port). Undefined when there is none.
 */
export function serverSideInode(serverPort: number, clientPort: number): string | undefined {
  for (const table of ['/proc/net/tcp', '/proc/net/tcp6']) {
    let text: string;
    try {
      text = readFileSync(table, 'utf8');
    } catch {
      continue;
    }
    for (const line of text.split('\n').slice(1)) {
      const fields = line.trim().split(/\s+/);
      if (fields.length < 10) continue;
      const localPort = Number.parseInt((fields[1] as string).split(':')[1] as string, 16);
      const remotePort = Number.parseInt((fields[2] as string).split(':')[1] as string, 16);
      if (localPort === serverPort && remotePort === clientPort && fields[9] !== '0') return fields[9];
    }
  }
  return undefined;
}
