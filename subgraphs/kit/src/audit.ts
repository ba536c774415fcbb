import { randomBytes } from 'node:crypto';
import { type Collection } from 'mongodb';
import { type Identity } from '@partnerskap/common';

/** One line of a subgraph's audit trail: who did what to which record, when. Pseudonymous ids only. */
export interface AuditDoc {
  _id: string;
  at: Date;
  /** The action: the mutation's name. */
  action: string;
  /** The record acted on (an application, study, round, plan, statement id). */
  target: string;
  /** The organisation whose slice the record is (an owner, institution, union; `udir` for the catalogue): whose trail it is in. */
  org: string;
  /** Who did it: the role and organisation or pseudonymous teacher id of the caller. */
  actor: { role: string; id: string | null };
  /** What changed, as plain facts without personal data (a decision's outcome, a rank). */
  details: Record<string, unknown>;
}

/** A new audit line. */
export function auditEntry(identity: Identity, at: Date, action: string, target: string, org: string, details: Record<string, unknown> = {}): AuditDoc {
  return { _id: randomBytes(12).toString('hex'), at, action, target, org, actor: { role: identity.role, id: identity.org ?? null }, details };
}

/** The audit lines of a trail a caller may read: the directorate all of them, a partner those of its own organisation. */
export async function readAudit(audit: Collection<AuditDoc>, identity: Identity, first: number): Promise<AuditDoc[]> {
  const filter = identity.role === 'directorate' ? {} : { org: identity.org ?? '\u0000' };
  return audit.find(filter).sort({ at: -1, _id: 1 }).limit(first).toArray();
}

/** An audit line as the API shows it (`AuditEntry`). */
export function auditView(doc: AuditDoc) {
  return {
    at: doc.at,
    action: doc.action,
    target: doc.target,
    org: doc.org,
    actorRole: doc.actor.role,
    actorId: doc.actor.id,
    details: JSON.stringify(doc.details),
  };
}

/** Creates the indexes the trail is read and re-keyed by. */
export async function ensureAuditIndexes(audit: Collection<AuditDoc>): Promise<void> {
  await audit.createIndexes([{ key: { org: 1, at: -1 } }, { key: { at: -1 } }, { key: { 'actor.id': 1 } }]);
}
