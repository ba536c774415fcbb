/** How a partner answered the gateway's probe of its `/ready`. */
export type PartnerState = 'up' | 'not ready' | 'unreachable';

/** Options of {@link createPartnerProbe}. */
export interface PartnerProbeOptions {
  /** The subgraphs to probe with the URLs the gateway calls, read at each probe (a new supergraph may name others). */
  subgraphs(): readonly { name: string; url: string }[];
  /** How long one probe waits for an answer (default 1000 ms): longer is `unreachable`. */
  timeoutMs?: number;
  /** How long a round of answers is reused (default 2000 ms), so a load balancer's polling does not multiply into the partners. */
  cacheMs?: number;
}

/**
 * The state of each partner of the served supergraph, for the gateway's `/ready`: a GET of each
 * subgraph's `/ready` (`up` on 200, `not ready` on any other answer, as when its database is down
 * or it is draining, `unreachable` with no answer in time), all at once, one round per `cacheMs`
 * however many ask meanwhile.
 */
export function createPartnerProbe(options: PartnerProbeOptions): () => Promise<Record<string, PartnerState>> {
  const timeoutMs = options.timeoutMs ?? 1000;
  const cacheMs = options.cacheMs ?? 2000;
  let last: { at: number; of: string; states: Promise<Record<string, PartnerState>> } | undefined;
  return () => {
    const subgraphs = options.subgraphs();
    const of = subgraphs.map((s) => `${s.name} ${s.url}`).join('\n');
    const now = performance.now();
    if (last && last.of === of && now - last.at < cacheMs) return last.states;
    const states = Promise.all(subgraphs.map(async ({ name, url }) => [name, await probe(url, timeoutMs)] as const)).then(
      (entries) => Object.fromEntries(entries) as Record<string, PartnerState>,
    );
    last = { at: now, of, states };
    return states;
  };
}

async function probe(url: string, timeoutMs: number): Promise<PartnerState> {
  try {
    const res = await fetch(new URL('/ready', url), { signal: AbortSignal.timeout(timeoutMs) });
    await res.body?.cancel();
    return res.ok ? 'up' : 'not ready';
  } catch {
    return 'unreachable';
  }
}
