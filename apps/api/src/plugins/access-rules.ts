// Every API route declares who may call it (`config.access`, see access.ts): one without a rule
// fails at boot. The table of routes and rules is kept for the authorization matrix test.
import fp from 'fastify-plugin';
import type { AccessRule } from '../access.ts';

export interface RouteAccess {
  method: string;
  url: string;
  access: AccessRule;
}

export default fp(
  async (app) => {
    const table: RouteAccess[] = [];
    app.decorate('routeAccess', table);
    app.addHook('onRoute', (route) => {
      if (!route.url.startsWith('/v1/')) return; // docs and the OpenAPI document are public
      const access = route.config?.access;
      if (!access) throw new Error(`${[route.method].flat().join(',')} ${route.url} declares no access rule (config.access)`);
      for (const method of [route.method].flat()) if (method !== 'HEAD') table.push({ method, url: route.url, access });
    });
  },
  { name: 'jielong-access-rules', fastify: '5.x' },
);
