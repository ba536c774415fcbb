/** What the browser tests share: the system Chromium, where screenshots go, and how a test launches it. */
import { existsSync, mkdirSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { type Browser, chromium } from 'playwright-core';

/** Where the browser tests write their screenshots (git-ignored). */
export const OUTPUT = fileURLToPath(new URL('../test-output/', import.meta.url));

/** The system Chromium (`CHROMIUM_PATH` wins), or undefined: the browser tests are then skipped, loudly. */
export const CHROMIUM = [process.env.CHROMIUM_PATH, '/usr/bin/chromium', '/usr/bin/chromium-browser', '/usr/lib/chromium/chromium', '/usr/bin/google-chrome']
  .filter((p): p is string => Boolean(p))
  .find((p) => existsSync(p));

/** Says loudly, once per file, that its browser tests are skipped when there is no Chromium. */
export function warnWithoutChromium(file: string): void {
  if (!CHROMIUM) console.warn(`\n*** ${file}: SKIPPED the browser tests: Chromium not installed (apt-get install chromium) ***\n`);
}

/** Launches the system Chromium headless (and makes the screenshot folder). */
export async function launchChromium(): Promise<Browser> {
  mkdirSync(OUTPUT, { recursive: true });
  return chromium.launch({
    executablePath: CHROMIUM!,
    // Root cannot use Chromium's sandbox; a container's /dev/shm is small.
    args: [...(process.getuid?.() === 0 ? ['--no-sandbox'] : []), '--disable-dev-shm-usage'],
  });
}

/**
 * A promise read only if a check needs it: one that rejects unread (a request's headers asked for
 * after its page reloaded) must not become an unhandled rejection that fails the whole run.
 */
export function settledLater<T>(promise: Promise<T>): Promise<T> {
  promise.catch(() => undefined);
  return promise;
}
