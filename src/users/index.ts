/**
 * users: user names and uids from /etc/passwd (read once), for accounting
 * and reservations, which name users, and jobs, which carry uids.
 */
import { readFileSync } from 'node:fs';

let byUid: Map<number, string> | undefined;

function table(): Map<number, string> {
  if (byUid === undefined) {
    byUid = new Map();
    try {
      for (const line of readFileSync('/etc/passwd', 'utf8').split('\n')) {
        const [name, , id] = line.split(':');
        if (name && id !== undefined && /^\d+$/.test(id)) byUid.set(Number(id), name);
      }
    } catch { /* no passwd file: names are uids */ }
  }
  return byUid;
}

/** The user name of a uid, or the uid as text when it has none. */
export function userName(uid: number): string {
  return table().get(uid) ?? String(uid);
}

/** The uid of a user name (or of a numeric name); -1 when unknown. */
export function userId(user: string): number {
  if (/^\d+$/.test(user)) return Number(user);
  for (const [uid, n] of table()) if (n === user) return uid;
  return -1;
}
