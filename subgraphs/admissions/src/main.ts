import { runSubgraph } from '@partnerskap/kit';
import { admissions } from './index.js';

await runSubgraph(admissions, process.env);
