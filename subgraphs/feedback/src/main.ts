import { runSubgraph } from '@partnerskap/kit';
import { feedback } from './index.js';

await runSubgraph(feedback, process.env);
