import { readFileSync } from 'node:fs';
import { ApolloGateway } from '@apollo/gateway';
import { describe, expect, it } from 'vitest';
import { DEFAULT_SUPERGRAPH } from './config.js';
import { loadableSupergraph } from './supergraph.js';

const sdl = readFileSync(DEFAULT_SUPERGRAPH, 'utf8');

describe('loadableSupergraph', () => {
  it('keeps the authorization directives but drops their for: SECURITY purpose', () => {
    expect(sdl).toMatch(/policy\/v0\.1", for: SECURITY\)/);
    const loadable = loadableSupergraph(sdl);
    expect(loadable).not.toMatch(/for: SECURITY/);
    expect(loadable).toMatch(/@policy\(policies: \[\["application"\]\]\)/);
  });

  it('is what lets @apollo/gateway load the supergraph', async () => {
    const refused = new ApolloGateway({ supergraphSdl: sdl });
    await expect(refused.load()).rejects.toThrow(/for: SECURITY/);
    const gateway = new ApolloGateway({ supergraphSdl: loadableSupergraph(sdl) });
    await expect(gateway.load()).resolves.toBeDefined();
    await gateway.stop();
  });
});
