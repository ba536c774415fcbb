export { type GatewayConfig, DEFAULT_SUPERGRAPH, SUBGRAPH_NAMES, type SubgraphName, loadGatewayConfig } from './config.js';
export { type GatewayServerOptions, type ListeningGateway, createGatewayServer, listenGateway } from './server.js';
