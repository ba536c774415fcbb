/** One sample of Prometheus' text format: `name{label="value",...} 1.5`. */
export interface Sample {
  name: string;
  labels: Record<string, string>;
  value: number;
}

/** A parsed exposition: every sample, and each family's declared type. */
export interface Exposition {
  samples: Sample[];
  types: Map<string, string>;
}

const NAME = '[a-zA-Z_:][a-zA-Z0-9_:]*';
const SAMPLE = new RegExp(`^(${NAME})(?:\\{(.*)\\})? (\\S+)(?: -?\\d+)?$`);
const LABEL = /^\s*([a-zA-Z_][a-zA-Z0-9_]*)="((?:[^"\\]|\\.)*)"\s*(?:,|$)/;
const TYPES = new Set(['counter', 'gauge', 'histogram', 'summary', 'untyped']);

/** A float as Prometheus reads it (Go's ParseFloat: `NaN` and `Inf` in any case; prom-client writes `Nan`). */
function parseValue(raw: string, line: string): number {
  if (/^[+]?inf(inity)?$/i.test(raw)) return Infinity;
  if (/^-inf(inity)?$/i.test(raw)) return -Infinity;
  if (/^nan$/i.test(raw)) return NaN;
  const value = Number(raw);
  if (raw === '' || Number.isNaN(value)) throw new Error(`not a sample value: ${line}`);
  return value;
}

/**
 * Parses Prometheus' text format (version 0.0.4) strictly: a line that is neither a `# HELP`,
 * `# TYPE` or other comment nor a well-formed sample throws, as does a sample whose family has no
 * `# TYPE`. For tests and tools that read `/metrics`.
 */
export function parsePrometheusText(text: string): Exposition {
  const samples: Sample[] = [];
  const types = new Map<string, string>();
  for (const line of text.split('\n')) {
    if (line === '') continue;
    if (line.startsWith('#')) {
      const typed = new RegExp(`^# TYPE (${NAME}) (\\S+)$`).exec(line);
      if (typed) {
        if (!TYPES.has(typed[2]!)) throw new Error(`unknown metric type: ${line}`);
        types.set(typed[1]!, typed[2]!);
      } else if (line.startsWith('# TYPE') || (line.startsWith('# HELP') && !new RegExp(`^# HELP ${NAME}( .*)?$`).test(line))) {
        throw new Error(`malformed comment: ${line}`);
      }
      continue;
    }
    const match = SAMPLE.exec(line);
    if (!match) throw new Error(`malformed sample: ${line}`);
    const [, name, rawLabels, rawValue] = match as unknown as [string, string, string | undefined, string];
    const labels: Record<string, string> = {};
    let rest = rawLabels ?? '';
    while (rest.trim() !== '') {
      const label = LABEL.exec(rest);
      if (!label) throw new Error(`malformed labels: ${line}`);
      labels[label[1]!] = label[2]!.replace(/\\n/g, '\n').replace(/\\"/g, '"').replace(/\\\\/g, '\\');
      rest = rest.slice(label[0].length);
    }
    const family = types.has(name) ? name : name.replace(/_(bucket|sum|count)$/, '');
    if (!types.has(family)) throw new Error(`sample without a # TYPE: ${line}`);
    samples.push({ name, labels, value: parseValue(rawValue, line) });
  }
  return { samples, types };
}

/** The sum of a metric's samples whose labels include `labels` (all of them without). */
export function sumOf(exposition: Exposition, name: string, labels: Record<string, string> = {}): number {
  return exposition.samples
    .filter((s) => s.name === name && Object.entries(labels).every(([k, v]) => s.labels[k] === v))
    .reduce((total, s) => total + s.value, 0);
}
