import { createRequire } from 'node:module';
import { dirname, join } from 'node:path';
import { type StaticAsset } from '@partnerskap/common';

/** Content types of the pages' files. */
export const CONTENT_TYPES = Object.freeze({
  html: 'text/html; charset=utf-8',
  js: 'text/javascript; charset=utf-8',
  css: 'text/css; charset=utf-8',
  text: 'text/plain; charset=utf-8',
});

/**
 * A maker of the gateway's page files (the insights page, the local explorer), each served under
 * the page's Content-Security-Policy, without a referrer, never framed.
 */
export function pageAsset(csp: string): (file: string, contentType: string) => StaticAsset {
  const headers = {
    'content-security-policy': csp,
    'referrer-policy': 'no-referrer',
    // frame-ancestors says it already; browsers that predate it read this one.
    'x-frame-options': 'DENY',
  };
  return (file, contentType) => ({ file, contentType, headers });
}

/** A file of an installed package (a dependency of @partnerskap/gateway), or an error naming the page that needs it. */
export function packageFile(name: string, file: string, neededBy: string): string {
  try {
    return join(dirname(createRequire(import.meta.url).resolve(`${name}/package.json`)), file);
  } catch (err) {
    throw new Error(`${neededBy} needs ${name}, a dependency of @partnerskap/gateway (npm install): ${(err as Error).message}`, { cause: err });
  }
}
