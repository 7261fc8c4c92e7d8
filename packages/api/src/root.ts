// The app router. Edit when adding a router: one per noun, mounted under its noun.
import { apiTokenRouter } from "./router/api-token.js";
import { joinTokenRouter } from "./router/join-token.js";
import { serviceRouter } from "./router/service.js";
import { trafficRouter } from "./router/traffic.js";
import { graphRouter } from "./router/graph.js";
import { userRouter } from "./router/user.js";
import { auditRouter } from "./router/audit.js";
import { settingsRouter } from "./router/settings.js";
import { proxyRouter } from "./router/proxy.js";
import { traceRouter } from "./router/trace.js";
import { signInRouter } from "./router/sign-in.js";
import { resourceRouter } from "./router/resource.js";
import { changeRouter } from "./router/change.js";
import { policyRouter } from "./router/policy.js";
import { demoFaultRouter } from "./router/demo-fault.js";
import { createCallerFactory, createTRPCRouter } from "./trpc.js";

export const appRouter = createTRPCRouter({
  service: serviceRouter,
  traffic: trafficRouter,
  graph: graphRouter,
  joinToken: joinTokenRouter,
  apiToken: apiTokenRouter,
  user: userRouter,
  audit: auditRouter,
  settings: settingsRouter,
  proxy: proxyRouter,
  trace: traceRouter,
  signIn: signInRouter,
  resource: resourceRouter,
  change: changeRouter,
  policy: policyRouter,
  demoFault: demoFaultRouter,
});

export type AppRouter = typeof appRouter;
export const createCaller = createCallerFactory(appRouter);
