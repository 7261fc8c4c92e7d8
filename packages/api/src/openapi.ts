import { generateOpenApiDocument } from "trpc-to-openapi";
import { appRouter } from "./root.js";

export const REST_BASE_PATH = "/api/v1";

let doc: ReturnType<typeof generateOpenApiDocument> | undefined;

/** The OpenAPI document for everything under /api/v1, generated from the same procedures as tRPC. */
export function openApiDocument(baseUrl: string) {
  doc ??= generateOpenApiDocument(appRouter, {
    title: "Trellis API",
    description:
      "Automation API for the Trellis service mesh. Authenticate with `Authorization: Bearer <token>`.",
    version: "1.0.0",
    baseUrl: REST_BASE_PATH,
    securitySchemes: { bearer: { type: "http", scheme: "bearer" } },
  });
  return { ...doc, servers: [{ url: new URL(REST_BASE_PATH, baseUrl).toString() }] };
}
