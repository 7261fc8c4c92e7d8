// The app router. Edit when adding a router: one per noun, mounted under its noun.
import { serviceRouter } from "./router/service.js";
import { createCallerFactory, createTRPCRouter } from "./trpc.js";

export const appRouter = createTRPCRouter({
  service: serviceRouter,
});

export type AppRouter = typeof appRouter;
export const createCaller = createCallerFactory(appRouter);
