import {
  ZNamespaceSettings,
  ZNamespaceSettingsGetInput,
  ZNamespaceSettingsSetInput,
} from "@trellis/contracts";
import { getNamespaceSettings, setNamespaceSettings } from "@trellis/services";
import { authedProcedure, createTRPCRouter } from "../trpc.js";

export const settingsRouter = createTRPCRouter({
  get: authedProcedure
    .meta({
      openapi: {
        method: "GET",
        path: "/namespaces/{namespace}/settings",
        tags: ["settings"],
        summary: "A namespace's settings (viewers of the namespace)",
        protect: true,
      },
    })
    .input(ZNamespaceSettingsGetInput)
    .output(ZNamespaceSettings)
    .query(({ ctx, input }) => getNamespaceSettings(ctx.db, ctx.actor, input.namespace)),
  set: authedProcedure
    .meta({
      openapi: {
        method: "PUT",
        path: "/namespaces/{namespace}/settings",
        tags: ["settings"],
        summary: "Set how many approvals a change request needs, 1 to 10 (admins of the namespace)",
        protect: true,
      },
    })
    .input(ZNamespaceSettingsSetInput)
    .output(ZNamespaceSettings)
    .mutation(({ ctx, input }) => setNamespaceSettings(ctx.db, ctx.actor, input)),
});
