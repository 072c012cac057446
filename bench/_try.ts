import { routingScale } from './routing-scale.js';
for (const n of [100, 1000]) console.log(JSON.stringify(routingScale(n), null, 1));
