import { runSubgraph } from '@partnerskap/kit';
import { plans } from './index.js';

await runSubgraph(plans, process.env);
