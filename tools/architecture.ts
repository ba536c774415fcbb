/**
 * The picture of docs/architecture.md as data: the folders of the repository and which of them each
 * may import. It is kept in one place so that the lint rule (`eslint.config.ts`, `boundaries`) and
 * the independent check of the real import graph (`test/architecture.test.ts`) hold the same picture.
 * Plain data, no imports: the ESLint configuration loads it before anything is compiled.
 */

/** The name of a layer: a folder of the table, `subgraph` standing for every `subgraphs/<name>/`. */
export type LayerName =
  | 'common'
  | 'embedded-mongo'
  | 'kit'
  | 'subgraph'
  | 'gateway'
  | 'schema'
  | 'operations'
  | 'client'
  | 'tools'
  | 'demo'
  | 'launcher'
  | 'bench'
  | 'test'
  | 'config';

/** One row of the table. */
export interface Layer {
  readonly name: LayerName;
  /** The folder, relative to the repository root, `*` standing for one folder of any name; `.` for the root's own files. */
  readonly folder: string;
  /** Whether it is an npm workspace: imported by its package name only, never by a relative path. */
  readonly workspace: boolean;
  /** The layers it may import, besides itself (a subgraph: itself only, never another subgraph). */
  readonly mayImport: readonly LayerName[];
}

/** The deployables and the store, which the programs on top may all import. */
const WORKSPACES: readonly LayerName[] = ['common', 'embedded-mongo', 'kit', 'subgraph', 'gateway'];

/**
 * The rows, in the order a path is matched against them (`subgraphs/kit/` before `subgraphs/*`).
 * The data folders (`schema/`, `operations/`, `client/`) hold no code of ours beyond their own
 * tests and the generated client kit, which import nothing of ours.
 */
export const LAYERS: readonly Layer[] = [
  { name: 'common', folder: 'common', workspace: true, mayImport: [] },
  { name: 'embedded-mongo', folder: 'embedded-mongo', workspace: true, mayImport: [] },
  { name: 'kit', folder: 'subgraphs/kit', workspace: true, mayImport: ['common'] },
  { name: 'subgraph', folder: 'subgraphs/*', workspace: true, mayImport: ['kit', 'common'] },
  { name: 'gateway', folder: 'gateway', workspace: true, mayImport: ['common'] },
  { name: 'schema', folder: 'schema', workspace: false, mayImport: [] },
  { name: 'operations', folder: 'operations', workspace: false, mayImport: [] },
  { name: 'client', folder: 'client', workspace: false, mayImport: [] },
  { name: 'tools', folder: 'tools', workspace: false, mayImport: WORKSPACES },
  { name: 'demo', folder: 'demo', workspace: false, mayImport: [...WORKSPACES, 'tools'] },
  { name: 'launcher', folder: 'launcher', workspace: false, mayImport: [...WORKSPACES, 'tools', 'demo'] },
  { name: 'bench', folder: 'bench', workspace: false, mayImport: [...WORKSPACES, 'tools', 'demo', 'launcher'] },
  {
    name: 'test',
    folder: 'test',
    workspace: false,
    mayImport: [...WORKSPACES, 'schema', 'operations', 'client', 'tools', 'demo', 'launcher', 'bench'],
  },
  // The root's own configuration (eslint.config.ts, vitest.config.ts): the lint rule reads this table.
  { name: 'config', folder: '.', workspace: false, mayImport: ['tools'] },
];

/** Where a file sits: its layer and, for a subgraph, which one. */
export interface Place {
  readonly layer: LayerName;
  /** The folder of the layer the file is in (`subgraphs/plans`, `gateway`, `.`). */
  readonly folder: string;
}

/** The layer of a path relative to the repository root (forward slashes), or `undefined` for a path outside every folder of the table. */
export function placeOf(path: string): Place | undefined {
  const parts = path.split('/');
  for (const layer of LAYERS) {
    if (layer.folder === '.') {
      if (parts.length === 1) return { layer: layer.name, folder: '.' };
      continue;
    }
    const pattern = layer.folder.split('/');
    if (parts.length <= pattern.length) continue;
    if (pattern.every((p, i) => p === '*' || p === parts[i])) return { layer: layer.name, folder: parts.slice(0, pattern.length).join('/') };
  }
  return undefined;
}

/** Whether code at `from` may import code at `to`: the same folder, or a layer its row allows. */
export function mayImport(from: Place, to: Place): boolean {
  if (from.folder === to.folder) return true;
  const row = LAYERS.find((l) => l.name === from.layer);
  return row !== undefined && row.mayImport.includes(to.layer);
}
