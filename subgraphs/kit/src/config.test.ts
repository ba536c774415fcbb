import { describe, expect, it } from 'vitest';
import { loadSubgraphConfig } from './config.js';

describe('loadSubgraphConfig', () => {
  it('has development defaults', () => {
    expect(loadSubgraphConfig({}, 'plans', 4003)).toMatchObject({ port: 4003, database: 'partnerskap_plans', development: true });
  });

  it('lists every problem at once, and requires GATEWAY_SECRET in production', () => {
    expect(() => loadSubgraphConfig({ NODE_ENV: 'production', PORT: '-1', MONGODB_URI: 'http://x' }, 'plans', 4003)).toThrow(
      /PORT[\s\S]*MONGODB_URI[\s\S]*GATEWAY_SECRET/,
    );
  });
});
