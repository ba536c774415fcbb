import { createHash } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { ErrorCode, type Identity, type PlainAnswer, type PreparedRequest, errorBody } from '@partnerskap/common';
import { Kind, type OperationDefinitionNode, parse, print, visit } from 'graphql';
import { type Logger } from './log.js';

/** The `format` of Apollo's persisted query manifest, the registry's file format. */
export const MANIFEST_FORMAT = 'apollo-persisted-query-manifest';

/** One registered document: Apollo's manifest entry, with the partner that registered it as `clientName` (Apollo Router's field). */
export interface ManifestOperation {
  /** The SHA-256 of `body`, lower-case hex: what a client sends as `documentId` (`sha256:<id>` or bare) or as APQ's `sha256Hash`. */
  id: string;
  /** The operation's name. */
  name: string;
  type: 'query' | 'mutation' | 'subscription';
  /** The document: the operation and the fragments it uses. */
  body: string;
  /** The partner whose frontend sends it (`operations/` says which; `npm run schema:check` reports by it). */
  clientName?: string;
}

/** Apollo's persisted query manifest: the registry of trusted documents (`operations/manifest.json`, made by `npm run documents`). */
export interface PersistedQueryManifest {
  format: typeof MANIFEST_FORMAT;
  version: 1;
  operations: ManifestOperation[];
}

/** The committed registry. */
export const DEFAULT_MANIFEST = fileURLToPath(new URL('../../operations/manifest.json', import.meta.url));

/**
 * The roles held to registered documents in production when nothing is configured: every partner's
 * people. Not the public (its documents are bounded by the limits, the cost budget and the contract),
 * and never `service` (the subgraphs' own feed queries, built per partner, signed with the gateway's secret).
 */
export const DEFAULT_TRUSTED_DOCUMENT_ROLES: readonly Identity['role'][] = Object.freeze(['directorate', 'institution', 'school-owner', 'union', 'teacher']);

/** The SHA-256 of a text, lower-case hex. */
export const sha256Hex = (text: string): string => createHash('sha256').update(text).digest('hex');

const isRecord = (value: unknown): value is Record<string, unknown> => typeof value === 'object' && value !== null && !Array.isArray(value);
const TYPES = new Set(['query', 'mutation', 'subscription']);

/** What is wrong with a manifest (none: it is one): its shape, an id that is not its body's SHA-256, a duplicate id or name. */
export function manifestProblems(value: unknown): string[] {
  if (!isRecord(value) || value.format !== MANIFEST_FORMAT || value.version !== 1 || !Array.isArray(value.operations))
    return [`expected { "format": "${MANIFEST_FORMAT}", "version": 1, "operations": [...] }`];
  const problems: string[] = [];
  const ids = new Map<string, string>();
  const names = new Map<string, string>();
  value.operations.forEach((op: unknown, i) => {
    if (!isRecord(op) || typeof op.id !== 'string' || typeof op.name !== 'string' || typeof op.body !== 'string' || !TYPES.has(String(op.type))) {
      problems.push(`operations[${i}] needs an id, a name, a type (query, mutation or subscription) and a body`);
      return;
    }
    const owner = typeof op.clientName === 'string' ? ` (${op.clientName})` : '';
    if (op.clientName !== undefined && typeof op.clientName !== 'string') problems.push(`operations[${i}] ${op.name}: clientName must be a string`);
    if (op.id !== sha256Hex(op.body)) problems.push(`operations[${i}] ${op.name}${owner}: its id is not the SHA-256 of its body`);
    const sameId = ids.get(op.id);
    if (sameId !== undefined) problems.push(`operations[${i}] ${op.name}${owner}: the same document as ${sameId} (id ${op.id})`);
    const sameName = names.get(op.name);
    if (sameName !== undefined) problems.push(`operations[${i}] ${op.name}${owner}: the name is taken by ${sameName}`);
    ids.set(op.id, `${op.name}${owner}`);
    names.set(op.name, `operations[${i}]${owner}`);
  });
  return problems;
}

/** A manifest from its JSON text; throws naming every problem. */
export function parseManifest(text: string, where: string): PersistedQueryManifest {
  let value: unknown;
  try {
    value = JSON.parse(text);
  } catch (err) {
    throw new Error(`Trusted documents: ${where} is not JSON (${(err as Error).message})`, { cause: err });
  }
  const problems = manifestProblems(value);
  if (problems.length > 0) throw new Error(`Trusted documents: ${where} is not a valid manifest:\n- ${problems.join('\n- ')}`);
  return value as PersistedQueryManifest;
}

/** GraphQL's punctuators (`...` by its dots) and the string quote: no space is needed beside them. */
const PUNCTUATION = new Set('!$&().:=@[]{|}"');

/**
 * A document's text without what GraphQL ignores (whitespace, commas, comments): two texts of the
 * same tokens come out equal, whatever their layout. One pass over the characters, with no tokens
 * and no tree, so a caller's document is compared with the registry without being parsed (the
 * registry's own bodies are parsed once, at start). Strings are kept as they are; one space
 * separates two names or numbers, none is kept beside a punctuator.
 */
export function normalizeDocument(text: string): string {
  let out = '';
  let space = false;
  let afterPunctuation = true;
  const n = text.length;
  let i = 0;
  while (i < n) {
    const c = text[i]!;
    if (c === ' ' || c === '\t' || c === '\n' || c === '\r' || c === ',' || c === '\uFEFF') {
      space = true;
      i++;
    } else if (c === '#') {
      while (i < n && text[i] !== '\n' && text[i] !== '\r') i++;
      space = true;
    } else if (c === '"') {
      let end: number;
      if (text.startsWith('"""', i)) {
        end = i + 3;
        while (end < n && !text.startsWith('"""', end)) end += text.startsWith('\\"""', end) ? 4 : 1;
        end = Math.min(n, end + 3);
      } else {
        end = i + 1;
        while (end < n && text[end] !== '"' && text[end] !== '\n') end += text[end] === '\\' ? 2 : 1;
        end = Math.min(n, end + 1);
      }
      out += text.slice(i, end);
      space = false;
      afterPunctuation = true;
      i = end;
    } else {
      const punctuation = PUNCTUATION.has(c);
      if (space && !punctuation && !afterPunctuation) out += ' ';
      out += c;
      space = false;
      afterPunctuation = punctuation;
      i++;
    }
  }
  return out;
}

/**
 * A registered body without the `__typename` Apollo Client adds to each selection (the registry
 * holds documents as Apollo Client sends them; the same document sent as its file says is the same
 * document). Undefined when there is none to remove.
 */
function withoutTypenames(body: string): string | undefined {
  let removed = false;
  const document = visit(parse(body, { noLocation: true }), {
    Field: (node) => {
      if (node.name.value !== '__typename' || node.alias) return undefined;
      removed = true;
      return null;
    },
  });
  return removed ? print(document) : undefined;
}

/** Options of {@link createTrustedDocuments}. */
export interface TrustedDocumentsOptions {
  /**
   * The roles that may send registered documents only (`TRUSTED_DOCUMENTS_ROLES`): by id, or as the
   * text of one. Default: {@link DEFAULT_TRUSTED_DOCUMENT_ROLES} in production, none in development;
   * empty: nobody. `service` cannot be listed.
   */
  roles?: readonly Identity['role'][];
  /** The registry (`TRUSTED_DOCUMENTS_MANIFEST`, default {@link DEFAULT_MANIFEST}), read once at start. */
  manifestPath?: string;
  /** The registry itself, instead of a file (tests). */
  manifest?: PersistedQueryManifest;
}

/** The gateway's trusted documents: what {@link createTrustedDocuments} makes. */
export interface TrustedDocuments {
  /** The roles held to registered documents. */
  readonly roles: ReadonlySet<string>;
  /** How many documents are registered. */
  readonly size: number;
  /** Resolves a registered document's id to its text, and refuses what the caller's role may not send: before Apollo parses anything. */
  prepare(request: { identity: Identity; requestId?: string | undefined; method: string; body: unknown; search: URLSearchParams }): PreparedRequest | undefined;
}

const refusal = (status: number, code: string, message: string, extensions: Record<string, unknown> = {}): { refused: PlainAnswer } => ({
  refused: { status, headers: { 'cache-control': 'private, no-cache, must-revalidate' }, body: errorBody(code, message, extensions) },
});

/** The id a client sent, as the registry keys it: `sha256:<hex>` (the GraphQL-over-HTTP persisted documents convention) or bare hex. */
const idOf = (documentId: string): string => (documentId.startsWith('sha256:') ? documentId.slice(7) : documentId).toLowerCase();

/** An id quoted back in a message: never a long string a client chose. */
const quoted = (id: string): string => JSON.stringify(id.length > 80 ? `${id.slice(0, 80)}…` : id);

/**
 * The registry of trusted documents and who is held to it. Any caller may send a registered
 * document by its id: `documentId` (body or query string; `sha256:<hex>` or bare hex) or APQ's
 * `extensions.persistedQuery.sha256Hash` without `query`; the gateway puts the registered text in
 * its place, and Apollo runs it as usual. A caller whose role is held to registered documents may
 * send nothing else: a `query` text is let through only when it is a registered document's (compared
 * without layout and comments, and with or without Apollo Client's `__typename`s, by
 * {@link normalizeDocument}, never parsed), and a hash only when it is a registered id (Apollo's own
 * APQ cache, which anyone may fill, is not asked for them). Refusals: HTTP 404
 * `PERSISTED_QUERY_NOT_IN_LIST` (an unknown id) and HTTP 403 `QUERY_NOT_IN_SAFELIST` (an unregistered
 * document), Apollo Router's codes and statuses. Throws at start when a role is held and the
 * registry cannot be read, or when it is not a valid manifest.
 */
export function createTrustedDocuments(options: TrustedDocumentsOptions, development: boolean, logger?: Logger): TrustedDocuments {
  const roles = new Set<string>(options.roles ?? (development ? [] : DEFAULT_TRUSTED_DOCUMENT_ROLES));
  if (roles.has('service'))
    throw new Error("Trusted documents: the service role cannot be held to registered documents (the subgraphs' feed queries are built per partner)");
  let manifest = options.manifest;
  if (!manifest) {
    const path = options.manifestPath ?? DEFAULT_MANIFEST;
    let text: string | undefined;
    try {
      text = readFileSync(path, 'utf8');
    } catch (err) {
      // With nobody held to it, a missing default registry only means no ids are known; a registry named and missing is a mistake.
      const why = `Trusted documents: the registry ${path} cannot be read (${(err as NodeJS.ErrnoException).code ?? (err as Error).message})`;
      if (roles.size > 0)
        throw new Error(
          `${why}, and ${[...roles].join(', ')} may send registered documents only: build it with npm run documents, set TRUSTED_DOCUMENTS_MANIFEST to it, or TRUSTED_DOCUMENTS_ROLES=none`,
          { cause: err },
        );
      if (options.manifestPath !== undefined) throw new Error(why, { cause: err });
    }
    if (text !== undefined) manifest = parseManifest(text, path);
  } else {
    const problems = manifestProblems(manifest);
    if (problems.length > 0) throw new Error(`Trusted documents: not a valid manifest:\n- ${problems.join('\n- ')}`);
  }
  const byId = new Map<string, ManifestOperation>();
  const byText = new Map<string, ManifestOperation>();
  for (const op of manifest?.operations ?? []) {
    byId.set(op.id, op);
    byText.set(normalizeDocument(op.body), op);
    const bare = withoutTypenames(op.body);
    if (bare !== undefined) byText.set(normalizeDocument(bare), op);
  }

  const notInList = (id: string, requestId: string | undefined, identity: Identity) => {
    logger?.info({ requestId, code: ErrorCode.PERSISTED_QUERY_NOT_IN_LIST, role: identity.role, msg: 'an unknown persisted document id' });
    return refusal(404, ErrorCode.PERSISTED_QUERY_NOT_IN_LIST, `Persisted document ${quoted(id)} is not in the registry of trusted documents`);
  };
  return {
    roles,
    size: byId.size,
    prepare({ identity, requestId, method, body, search }) {
      const held = roles.has(identity.role);
      // Undefined: the request goes on as it came (nothing to resolve, nobody to hold).
      if (!held && byId.size === 0) return undefined;
      const post = method === 'POST';
      // Apollo refuses a POST body that is not an object (batching is off) before it reads a document.
      if (post && !isRecord(body)) return undefined;
      let params: Record<string, unknown>;
      if (post) params = body as Record<string, unknown>;
      else {
        params = {};
        for (const key of ['documentId', 'query', 'extensions']) {
          const values = search.getAll(key);
          if (values.length > 1) return refusal(400, 'BAD_REQUEST', `The request parameter ${key} is given more than once`, { field: key });
          if (values.length === 1) params[key] = values[0];
        }
        if (typeof params.extensions === 'string') {
          try {
            params.extensions = JSON.parse(params.extensions) as unknown;
          } catch {
            // Apollo refuses it (a malformed `extensions`); no hash is read from it here.
            params.extensions = undefined;
          }
        }
      }
      const { documentId, query } = params;
      const persisted = isRecord(params.extensions) ? params.extensions.persistedQuery : undefined;
      const hash = isRecord(persisted) && typeof persisted.sha256Hash === 'string' ? persisted.sha256Hash : undefined;
      /** The request with a registered document's text in place of its id. */
      const resolved = (op: ManifestOperation): PreparedRequest => {
        if (post) {
          const { documentId: _, ...rest } = params;
          return { body: { ...rest, query: op.body }, search: search.toString() === '' ? '' : `?${search.toString()}` };
        }
        const next = new URLSearchParams(search);
        next.delete('documentId');
        next.set('query', op.body);
        return { body, search: `?${next.toString()}` };
      };

      if (documentId !== undefined && documentId !== null) {
        if (typeof documentId !== 'string')
          return refusal(400, 'BAD_REQUEST', 'documentId must be a string: sha256:<hex> or the hex alone', { field: 'documentId' });
        if ((query !== undefined && query !== null) || (persisted !== undefined && persisted !== null))
          return refusal(400, 'BAD_REQUEST', 'Send documentId alone, without query or extensions.persistedQuery', { field: 'documentId' });
        const op = byId.get(idOf(documentId));
        return op ? resolved(op) : notInList(documentId, requestId, identity);
      }
      if (hash !== undefined && (query === undefined || query === null)) {
        const op = byId.get(hash.toLowerCase());
        if (op) return resolved(op);
        // Anyone else's hash is Apollo's APQ (its cache, or PERSISTED_QUERY_NOT_FOUND for the client to send the text).
        return held ? notInList(hash, requestId, identity) : undefined;
      }
      // A missing or non-string query is Apollo's to refuse (a bad request), before it parses anything.
      if (!held || typeof query !== 'string' || byText.has(normalizeDocument(query))) return undefined;
      logger?.info({
        requestId,
        code: ErrorCode.QUERY_NOT_IN_SAFELIST,
        role: identity.role,
        msg: 'an unregistered document from a role held to registered ones',
      });
      return refusal(
        403,
        ErrorCode.QUERY_NOT_IN_SAFELIST,
        `A caller with the role ${identity.role} may send registered documents only, by id or as their text, and this document is not registered (docs/frontend.md: Trusted documents)`,
      );
    },
  };
}

/** The operation a registered body holds (its name and type), or why it is not one operation. */
export function operationOf(body: string): { name: string; type: ManifestOperation['type'] } | string {
  let document;
  try {
    document = parse(body, { noLocation: true });
  } catch (err) {
    return (err as Error).message;
  }
  const operations = document.definitions.filter((d): d is OperationDefinitionNode => d.kind === Kind.OPERATION_DEFINITION);
  if (operations.length !== 1) return `holds ${operations.length} operations, not one`;
  const [op] = operations as [OperationDefinitionNode];
  if (!op.name) return 'its operation has no name';
  return { name: op.name.value, type: op.operation };
}
