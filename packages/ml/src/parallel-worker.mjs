// Worker thread entry: loads TypeScript through tsx (the package has no build step), then the worker.
import { register } from 'tsx/esm/api';

register();
await import('./parallel-worker.ts');
