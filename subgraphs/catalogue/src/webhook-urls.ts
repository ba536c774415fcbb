/**
 * Which receiver URLs a webhook may have, and which addresses a delivery may connect to: https to
 * public addresses in production; plain http to this machine only in development. The address is
 * checked again at every delivery, after DNS (a name that resolves to a private address later, as
 * in DNS rebinding, is refused then).
 */
import { type LookupAddress, lookup as dnsLookup } from 'node:dns';
import { BlockList, isIP } from 'node:net';
import { badUserInput } from '@partnerskap/kit';

/** The longest receiver URL accepted. */
export const MAX_URL_LENGTH = 2000;

/** Addresses no production delivery connects to: this machine, private networks, link-local (cloud metadata), reserved ranges. */
const PRIVATE = new BlockList();
for (const [net, bits] of [
  ['0.0.0.0', 8],
  ['10.0.0.0', 8],
  ['100.64.0.0', 10],
  ['127.0.0.0', 8],
  ['169.254.0.0', 16],
  ['172.16.0.0', 12],
  ['192.0.0.0', 24],
  ['192.0.2.0', 24],
  ['192.168.0.0', 16],
  ['198.18.0.0', 15],
  ['198.51.100.0', 24],
  ['203.0.113.0', 24],
  ['224.0.0.0', 4],
  ['240.0.0.0', 4],
] as const)
  PRIVATE.addSubnet(net, bits, 'ipv4');
for (const [net, bits] of [
  ['::', 128],
  ['::1', 128],
  // NAT64 reaches IPv4 hosts (IPv4-mapped ones, ::ffff:a.b.c.d, are matched by the IPv4 ranges above).
  ['64:ff9b::', 96],
  ['2001:db8::', 32],
  ['fc00::', 7],
  ['fe80::', 10],
  ['ff00::', 8],
] as const)
  PRIVATE.addSubnet(net, bits, 'ipv6');

/** Whether an IP address is loopback, private, link-local or reserved. */
export function isPrivateAddress(address: string): boolean {
  const family = isIP(address);
  if (family === 0) return true;
  return PRIVATE.check(address, family === 4 ? 'ipv4' : 'ipv6');
}

const LOOPBACK_NAMES = new Set(['localhost', '127.0.0.1', '[::1]']);

/**
 * A receiver URL as registered (normalised), or BAD_USER_INPUT at `field`: https with a public
 * host; in development also `http://localhost`, `http://127.0.0.1` or `http://[::1]`. No
 * credentials in the URL (they would be logged and shown): sign-in is the signature's job.
 */
export function checkWebhookUrl(raw: string, options: { development: boolean }, field = 'input.url'): string {
  if (typeof raw !== 'string' || raw.length === 0 || raw.length > MAX_URL_LENGTH)
    throw badUserInput(`${field} must be a URL of 1 to ${MAX_URL_LENGTH} characters`, field);
  let url: URL;
  try {
    url = new URL(raw.trim());
  } catch {
    throw badUserInput(`${field} is not a URL`, field);
  }
  if (url.username || url.password) throw badUserInput(`${field} must not hold a user name or password`, field);
  // `localhost.` is localhost: a trailing dot changes nothing for DNS.
  const host = url.hostname.toLowerCase().replace(/\.$/, '');
  const loopback = LOOPBACK_NAMES.has(host) || host.endsWith('.localhost');
  if (url.protocol === 'http:') {
    if (!(options.development && loopback)) throw badUserInput(`${field} must be an https URL (plain http only to localhost, in development)`, field);
  } else if (url.protocol !== 'https:') {
    throw badUserInput(`${field} must be an https URL`, field);
  }
  if (!options.development) {
    const literal = host.startsWith('[') ? host.slice(1, -1) : host;
    if (loopback || (isIP(literal) !== 0 && isPrivateAddress(literal)) || !host.includes('.')) {
      throw badUserInput(`${field} must name a public host: deliveries never go to this machine or a private network`, field);
    }
  }
  url.hash = '';
  return url.href;
}

type LookupCallback = (err: NodeJS.ErrnoException | null, address: string | LookupAddress[], family?: number) => void;

/** A refused connection's error: the delivery fails (and is retried) like any unreachable receiver. */
function privateError(hostname: string): NodeJS.ErrnoException {
  return Object.assign(new Error(`${hostname} resolves to a private address: deliveries go to public addresses only`), { code: 'EPRIVATEADDRESS' });
}

/**
 * A `lookup` for `http.request` that refuses private addresses (production): what the socket
 * connects to is checked, not what the name resolved to at registration.
 */
export function publicOnlyLookup(hostname: string, options: { all?: boolean; family?: number | string }, callback: LookupCallback): void {
  dnsLookup(hostname, { ...(options as object), all: true }, (err, addresses) => {
    if (err) return callback(err, options.all ? [] : '');
    if (addresses.length === 0 || addresses.some((a) => isPrivateAddress(a.address))) return callback(privateError(hostname), options.all ? [] : '');
    if (options.all) return callback(null, addresses);
    return callback(null, addresses[0]!.address, addresses[0]!.family);
  });
}

/** Whether a delivery may connect to the URL's host when it is an IP literal (no lookup happens then). */
export function literalAllowed(url: URL, development: boolean): boolean {
  if (development) return true;
  const host = url.hostname.startsWith('[') ? url.hostname.slice(1, -1) : url.hostname;
  return isIP(host) === 0 || !isPrivateAddress(host);
}
