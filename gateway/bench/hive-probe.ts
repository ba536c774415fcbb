import { readFileSync } from 'node:fs';
import { createServer } from 'node:http';
import { createGatewayRuntime } from '@graphql-hive/gateway-runtime';
const sdl = readFileSync(new URL('../../schema/supergraph.graphql', import.meta.url), 'utf8');
const gw = createGatewayRuntime({ supergraph: sdl, logging: false });
const server = createServer(gw);
server.listen(0, async () => {
  const port = (server.address() as any).port;
  const r = await fetch(`http://127.0.0.1:${port}/graphql`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ query: '{ subjects { code } }' }) });
  console.log(r.status, (await r.text()).slice(0, 300));
  server.close(); await gw.dispose?.();
});
