import { runSubgraph } from '@partnerskap/kit';
import { catalogue } from './index.js';

await runSubgraph(catalogue, process.env);
