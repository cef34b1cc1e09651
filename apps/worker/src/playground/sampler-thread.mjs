// Thread entry: loads TypeScript through tsx (the worker has no build step), then the sampler.
import { register } from 'tsx/esm/api';

register();
await import('./sampler-thread.ts');
