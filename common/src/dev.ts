/** Development mode and the development secret gateway and subgraphs share on one machine. */
import { createHmac, randomBytes } from 'node:crypto';
import { mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { dirname } from 'node:path';
import { fileURLToPath } from 'node:url';

/** Where this machine's development seed is kept (git-ignored, like the development token key). */
export const DEV_SECRET_FILE = fileURLToPath(new URL('../../.data/dev-gateway-secret', import.meta.url));

/**
 * The secret a subgraph and the gateway share when development is asked for (`PARTNERSKAP_DEV=1`)
 * and none is configured: derived from a random seed made once per machine in `.data/`, so a
 * gateway and a subgraph started apart on one machine agree, while nobody can derive it from the
 * name alone (a fixed string once was, and forged service identities on any non-production gateway).
 */
export function devGatewaySecret(name: string, file = DEV_SECRET_FILE): string {
  return createHmac('sha256', devSeed(file)).update(`gateway-secret:${name}`).digest('base64url');
}

/** Reads the machine's development seed, creating it when there is none (two processes starting at once agree: the first write wins). */
function devSeed(file: string): string {
  try {
    return readFileSync(file, 'utf8').trim();
  } catch {
    mkdirSync(dirname(file), { recursive: true });
    try {
      writeFileSync(file, randomBytes(32).toString('base64url'), { mode: 0o600, flag: 'wx' });
    } catch {
      // another process made it first: read theirs
    }
    return readFileSync(file, 'utf8').trim();
  }
}

/**
 * Whether development is asked for explicitly: `PARTNERSKAP_DEV=1` (NODE_ENV alone never turns it
 * on: a test or staging deployment that forgot a secret must fail, not fall back). Adds a problem
 * for a malformed value or for PARTNERSKAP_DEV=1 with NODE_ENV=production.
 */
export function devModeFromEnv(env: Record<string, string | undefined>, problems: string[]): boolean {
  const raw = env.PARTNERSKAP_DEV;
  if (raw === undefined || raw === '' || raw === '0') return false;
  if (raw !== '1') {
    problems.push(`PARTNERSKAP_DEV must be 1 (development) or 0, got "${raw}"`);
    return false;
  }
  if (env.NODE_ENV === 'production') {
    problems.push('PARTNERSKAP_DEV=1 must not be set with NODE_ENV=production: the development secrets and key are refused there');
    return false;
  }
  return true;
}
