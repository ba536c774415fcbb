/** `npm run token -- --role school-owner --org 0301`: prints a development token (refused in production). */
import { parseArgs } from 'node:util';
import { ROLES, identityFromClaims } from '@partnerskap/common';
import { loadOrCreateDevKey, signDevToken } from './dev-key.js';

// `service` is never a client's role: the gateway refuses it in a client token (only subgraphs' own service tokens carry it).
const CLIENT_ROLES = ROLES.filter((role) => role !== 'service');
const USAGE = `usage: npm run token -- --role <${CLIENT_ROLES.join('|')}> [--org <organisation or teacher id>] [--expires 8h]`;
if (process.env.NODE_ENV === 'production') {
  console.error('The development key is not for production: tokens there come from your identity provider.');
  process.exit(2);
}
const { values } = parseArgs({ options: { role: { type: 'string' }, org: { type: 'string' }, expires: { type: 'string', default: '8h' } } });
const identity = identityFromClaims({ role: values.role, org: values.org });
if (!identity || identity.role === 'service') {
  console.error(
    `${USAGE}\n(institution: 9-digit org number; school-owner: 2- or 4-digit county/municipality number or 9-digit org number; union: code such as UDF; teacher: id such as t-0123456789)`,
  );
  process.exit(2);
}
console.log(await signDevToken(await loadOrCreateDevKey(), identity, values.expires));
