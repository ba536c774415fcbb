import { type DocumentNode } from 'graphql';

/**
 * Memoises what depends only on an operation's text: Apollo's document cache hands every request
 * with the same text the same parsed document, so the result is kept per document (weakly) and
 * operation name, and computed once.
 */
export function perOperation<T>(compute: (document: DocumentNode, operationName: string | null | undefined) => T) {
  const byDocument = new WeakMap<DocumentNode, Map<string, T>>();
  return (document: DocumentNode, operationName: string | null | undefined): T => {
    let byName = byDocument.get(document);
    if (!byName) byDocument.set(document, (byName = new Map()));
    const key = operationName ?? '';
    if (!byName.has(key)) byName.set(key, compute(document, operationName));
    return byName.get(key)!;
  };
}
