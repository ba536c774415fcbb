import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { DEFAULT_SUPERGRAPH } from './config.js';
import { readSupergraph } from './supergraph.js';

// The gateway derives the public contract from every supergraph it loads (hot reloads too); the
// rules themselves are tested on small composed SDLs in tools/schema/contract.test.ts.
const sdl = readFileSync(DEFAULT_SUPERGRAPH, 'utf8');

describe('the public contract of a loaded supergraph', () => {
  it('comes with the committed supergraph: no personal type, no guarded field', () => {
    const { contract } = readSupergraph(sdl);
    expect(contract?.tag).toBe('public');
    expect(contract!.excluded).toEqual(
      expect.arrayContaining(['Application', 'Teacher', 'Feedback', 'AuditEntry', 'Mutation', 'Study.feedback', 'Query.teacher']),
    );
    expect(contract!.apiSchema.getType('Study')).toBeDefined();
  });

  it('is absent from a supergraph that tags nothing public: the public is served the API schema as before', () => {
    expect(readSupergraph(sdl.replaceAll(' @tag(name: "public")', '')).contract).toBeUndefined();
  });

  it('refuses a supergraph that tags a guarded field public, naming it (the one it serves stays)', () => {
    const contradiction = sdl.replace(
      '): Teacher @join__field(graph: PLANS) @authenticated',
      '): Teacher @join__field(graph: PLANS) @authenticated @tag(name: "public")',
    );
    expect(contradiction).not.toBe(sdl);
    expect(() => readSupergraph(contradiction)).toThrow('tags what callers without a token can never read (it is guarded): Query.teacher (@authenticated)');
  });
});
