import { readFile, stat } from 'node:fs/promises';
import { type SupergraphManager } from '@apollo/gateway';
import { type Logger } from './log.js';
import { type LoadedSupergraph, readSupergraph } from './supergraph.js';

/** Where the gateway reads its supergraph, and how often it looks for a new one. */
export type SupergraphSourceOptions = (
  | { /** A fixed SDL: never reloaded (tests, embedding). */ sdl: string }
  | { /** A file (`SUPERGRAPH_PATH`), read again every `pollMs`. */ path: string }
  | { /** A URL (`SUPERGRAPH_SOURCE_URL`), fetched again every `pollMs` (with `If-None-Match`). */ url: string }
) & {
  /** Milliseconds between looks for a new supergraph (default 1000; 0 never looks again). */
  pollMs?: number;
  /**
   * Refuses a supergraph the gateway could not serve beyond what Apollo checks (e.g. a subgraph
   * without a secret): returns the reason, or undefined to accept.
   */
  check?: (supergraph: LoadedSupergraph) => string | undefined;
  /** Called with each supergraph just before the gateway swaps to it (the first one included). */
  willApply?: (supergraph: LoadedSupergraph) => void;
  /** Called after each look that found a new supergraph: applied, or refused with the reason. */
  onReload?: (outcome: { applied: true; supergraph: LoadedSupergraph } | { applied: false; reason: string }) => void;
  logger: Logger;
};

/** The supergraph source's view for the rest of the gateway. */
export interface SupergraphSource extends SupergraphManager {
  /** The supergraph being served (undefined before the first load). */
  current(): LoadedSupergraph | undefined;
  /** Looks for a new supergraph now (what the poll does); resolves when it is applied or refused. */
  poll(): Promise<void>;
}

const FETCH_TIMEOUT_MS = 5000;

/**
 * The gateway's supergraph, from a fixed SDL, a file or a URL, as an Apollo `SupergraphManager`:
 * each new text is validated and everything derived from it (guards, costs, the `for: SECURITY`
 * treatment) is built before the gateway swaps to it, in one step; requests in flight finish on
 * the supergraph they started with. An invalid new supergraph is refused with a log line and the
 * old one keeps serving. A supergraph that cannot be read or is invalid at start stops the start.
 */
export function supergraphSource(options: SupergraphSourceOptions): SupergraphSource {
  const { logger } = options;
  const pollMs = 'sdl' in options ? 0 : (options.pollMs ?? 1000);
  let current: LoadedSupergraph | undefined;
  /** The last text looked at (applied or refused): the same text is not judged twice. */
  let lastText: string | undefined;
  let etag: string | undefined;
  /** The file's inode, mtime and size at the last read: an unchanged file is not read again every poll (a file renamed over it is a new inode). */
  let fileStamp: string | undefined;
  let update: ((sdl: string) => void) | undefined;
  let timer: NodeJS.Timeout | undefined;
  let polling: Promise<void> | undefined;

  const where = 'sdl' in options ? 'the given SDL' : 'path' in options ? options.path : options.url;

  /** The text at the source, or undefined when it has not changed since the last look. */
  async function read(): Promise<string | undefined> {
    if ('sdl' in options) return options.sdl;
    if ('path' in options) {
      const info = await stat(options.path);
      const stamp = `${info.ino}:${info.mtimeMs}:${info.size}`;
      if (stamp === fileStamp) return undefined;
      fileStamp = stamp;
      return readFile(options.path, 'utf8');
    }
    const response = await fetch(options.url, { headers: etag ? { 'if-none-match': etag } : {}, signal: AbortSignal.timeout(FETCH_TIMEOUT_MS) });
    if (response.status === 304) return undefined;
    if (!response.ok) throw new Error(`HTTP ${response.status} from ${options.url}`);
    etag = response.headers.get('etag') ?? undefined;
    return response.text();
  }

  /** Validates a text and derives the gateway's state from it, or throws with the reason. */
  function judge(text: string): LoadedSupergraph {
    const supergraph = readSupergraph(text);
    const reason = options.check?.(supergraph);
    if (reason) throw new Error(reason);
    return supergraph;
  }

  async function look(): Promise<void> {
    let text: string | undefined;
    try {
      text = await read();
    } catch (err) {
      // A source that cannot be read for a moment (a file being replaced, a registry down) is not a new supergraph.
      logger.warn({
        msg: 'supergraph source unreadable; still serving the current supergraph',
        source: where,
        reason: (err as Error).message,
        supergraph: current?.id,
      });
      return;
    }
    if (text === undefined || text === lastText) return;
    lastText = text;
    let next: LoadedSupergraph;
    try {
      next = judge(text);
      options.willApply?.(next);
      update!(next.loadable);
    } catch (err) {
      const reason = (err as Error).message;
      logger.error({ msg: 'new supergraph refused; still serving the current one', source: where, reason, supergraph: current?.id });
      options.onReload?.({ applied: false, reason });
      return;
    }
    const previous = current;
    current = next;
    logger.info({ msg: 'supergraph updated', source: where, supergraph: next.id, previous: previous?.id, subgraphs: next.subgraphs.map((s) => s.name) });
    options.onReload?.({ applied: true, supergraph: next });
  }

  const poll = (): Promise<void> => (polling ??= look().finally(() => (polling = undefined)));

  return {
    current: () => current,
    poll,
    async initialize(hooks) {
      update = hooks.update;
      const text = await read();
      if (text === undefined) throw new Error(`no supergraph at ${where}`);
      lastText = text;
      try {
        current = judge(text);
      } catch (err) {
        throw new Error(`The supergraph at ${where} cannot be served: ${(err as Error).message}`, { cause: err });
      }
      options.willApply?.(current);
      if (pollMs > 0) {
        timer = setInterval(() => void poll(), pollMs);
        timer.unref();
      }
      return {
        supergraphSdl: current.loadable,
        cleanup: async () => {
          if (timer) clearInterval(timer);
          await polling;
        },
      };
    },
  };
}
