// A peer test of the OpenAPI document: the client an automation user would generate from the live
// /api/openapi.json (openapi-typescript + openapi-fetch), type-checked with tsc against a small program that
// handles a 401, a 404 and two 422s (a bad query parameter; a change with a bad field in its second YAML
// document, located by `issues[].at`) by their documented shapes, then run against the live server. If the
// document describes an error body the server does not send, the program does not compile or reads undefined.
import { execFile } from "node:child_process";
import { cpSync, mkdirSync, mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { createRequire } from "node:module";
import { join } from "node:path";
import { promisify } from "node:util";
import openapiTS, { astToString } from "openapi-typescript";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { createDb, type Db } from "@trellis/db";
import { createTestDatabase, type TestDatabase } from "@trellis/db/testing";
import { bootstrap } from "@trellis/services";
import { serve, type TestServer } from "./testing.js";
import { handleOpenApiRequest, handleRestRequest } from "./index.js";

const run = promisify(execFile);
const TOKEN = "trls_api_openapi_client_token_0123456789";
const PACKAGE_DIR = new URL("..", import.meta.url).pathname;
const TSC = createRequire(import.meta.url).resolve("typescript/bin/tsc");

let tdb: TestDatabase;
let db: Db;
let server: TestServer;
/** Where the generated client and the program are compiled: inside the package, so `openapi-fetch` resolves. */
let work = "";

beforeAll(async () => {
  tdb = await createTestDatabase("api_openapi_client");
  db = createDb(tdb.url);
  await bootstrap(db, { adminPassword: "correct horse battery staple", bootstrapToken: TOKEN });
  server = await serve(async (req) => {
    const path = new URL(req.url).pathname;
    if (path === "/api/openapi.json") return handleOpenApiRequest(req, { publicUrl: server.url });
    return handleRestRequest(db, req);
  });
  mkdirSync(join(PACKAGE_DIR, "test-results"), { recursive: true });
  work = mkdtempSync(join(PACKAGE_DIR, "test-results", "openapi-client-"));
}, 120_000);

afterAll(async () => {
  if (work) rmSync(work, { recursive: true, force: true });
  await server?.close();
  await db?.$disconnect();
  await tdb?.drop();
});

describe("a client generated from /api/openapi.json", () => {
  it("compiles a program that reads errors by their documented shape, and the server sends that shape", async () => {
    const doc = (await (await fetch(`${server.url}/api/openapi.json`)).json()) as {
      servers: { url: string }[];
    };
    const schema = astToString(await openapiTS(new URL(`${server.url}/api/openapi.json`)));
    writeFileSync(join(work, "schema.d.ts"), schema);
    cpSync(join(PACKAGE_DIR, "test", "openapi-client", "program.ts"), join(work, "program.ts"));
    writeFileSync(join(work, "package.json"), JSON.stringify({ type: "module" }));
    writeFileSync(
      join(work, "tsconfig.json"),
      JSON.stringify({
        compilerOptions: {
          target: "ES2023",
          lib: ["ES2023", "DOM"],
          module: "NodeNext",
          moduleResolution: "NodeNext",
          strict: true,
          noUncheckedIndexedAccess: true,
          skipLibCheck: true,
          types: ["node"],
          outDir: "out",
        },
        files: ["program.ts", "schema.d.ts"],
      }),
    );

    // tsc as a user runs it: a type error here means the document lies about a body the program reads.
    const tsc = await run(process.execPath, [TSC, "-p", work]).catch(
      (e: { stdout: string; stderr: string }) => ({ ...e, failed: true }),
    );
    expect(
      "failed" in tsc ? tsc.stdout + tsc.stderr : "",
      "tsc on the program and the generated client",
    ).toBe("");

    const { stdout } = await run(process.execPath, [
      join(work, "out", "program.js"),
      doc.servers[0]!.url,
      TOKEN,
    ]);
    const seen = JSON.parse(stdout) as Record<string, unknown>;
    const problem = "application/problem+json";
    expect(seen.unauthorized).toEqual({
      status: 401,
      contentType: problem,
      title: expect.any(String),
      detail: expect.stringMatching(/sign in|token/),
      code: "AUTH_REQUIRED",
      paths: [],
      at: [],
    });
    expect(seen.notFound).toEqual({
      status: 404,
      contentType: problem,
      title: expect.any(String),
      detail: "no change request 999999",
      code: "NOT_FOUND",
      paths: [],
      at: [],
    });
    expect(seen.invalid).toEqual({
      status: 422,
      contentType: problem,
      title: expect.any(String),
      detail: expect.any(String),
      code: "VALIDATION_FAILED",
      paths: ["namespace"],
      at: [{ path: ["namespace"] }],
    });
    expect(seen.invalidChange).toEqual({
      status: 422,
      contentType: problem,
      title: expect.any(String),
      detail: expect.any(String),
      code: "CHANGE_INVALID",
      paths: ["[1].spec.rules[0].timeout"],
      at: [{ doc: 1, path: ["spec", "rules", 0, "timeout"] }],
    });
  }, 120_000);
});

describe("the OpenAPI document", () => {
  type Responses = Record<string, { content?: Record<string, { schema: unknown }>; headers?: object }>;
  type Doc = {
    servers: { url: string }[];
    paths: Record<string, Record<string, { responses: Responses; requestBody?: unknown }>>;
    components: { schemas: Record<string, unknown> };
  };
  const get = async (headers: Record<string, string> = {}) =>
    (await (await fetch(`${server.url}/api/openapi.json`, { headers })).json()) as Doc;

  it("names the configured public URL as its server, whatever the request's Host or X-Forwarded-Proto", async () => {
    const other = await serve(async (req) =>
      handleOpenApiRequest(req, { publicUrl: "https://trellis.example.com" }),
    );
    try {
      const res = await fetch(`${other.url}/api/openapi.json`, {
        headers: { "x-forwarded-proto": "http", "x-forwarded-host": "evil.example" },
      });
      const doc = (await res.json()) as Doc;
      expect(doc.servers[0]?.url).toBe("https://trellis.example.com/api/v1");
    } finally {
      await other.close();
    }
  });

  it("describes every error response as a problem document with the one Problem schema", async () => {
    const doc = await get();
    expect(Object.keys(doc.components.schemas).filter((s) => s.startsWith("error."))).toEqual([]);
    expect(doc.components.schemas.Problem).toMatchObject({
      required: expect.arrayContaining(["type", "title", "status", "code"]),
      properties: {
        issues: {
          items: {
            required: ["path", "at", "message"],
            properties: {
              at: {
                required: ["path"],
                properties: {
                  doc: { type: "integer" },
                  path: { type: "array", items: { anyOf: [{ type: "string" }, { type: "integer" }] } },
                },
              },
            },
          },
        },
      },
    });
    for (const [path, ops] of Object.entries(doc.paths))
      for (const [method, op] of Object.entries(ops))
        for (const [status, res] of Object.entries(op.responses)) {
          if (status.startsWith("2")) continue;
          expect(res.content, `${method} ${path} ${status}`).toEqual({
            "application/problem+json": { schema: { $ref: "#/components/schemas/Problem" } },
          });
        }
  });

  it("lists the statuses each operation can answer", async () => {
    const doc = await get();
    const statuses = (path: string, method: string) => Object.keys(doc.paths[path]![method]!.responses);
    expect(statuses("/services", "get")).toEqual(["200", "401", "403", "422", "500"]);
    expect(statuses("/changes/{id}", "get")).toEqual(["200", "401", "403", "404", "422", "500"]);
    expect(statuses("/changes", "post")).toEqual(["200", "401", "403", "409", "413", "415", "422", "500"]);
    expect(statuses("/changes/{id}/approve", "post")).toEqual(
      expect.arrayContaining(["401", "403", "404", "409", "413", "422"]),
    );
    expect(statuses("/users/{name}/roles", "delete")).toContain("409");
    expect(statuses("/tokens/sign-in", "post")).toEqual(["200", "401", "413", "415", "422", "429", "500"]);
    expect(doc.paths["/services"]!.get!.responses["401"]!.headers).toHaveProperty("WWW-Authenticate");
  });
});

describe("REST methods", () => {
  it("answers 405 with Allow, as a problem, for a known path called with a method it does not have", async () => {
    const res = await fetch(`${server.url}/api/v1/services`, {
      method: "DELETE",
      headers: { authorization: `Bearer ${TOKEN}` },
    });
    expect(res.status).toBe(405);
    expect(res.headers.get("allow")).toBe("GET");
    expect(res.headers.get("content-type")).toBe("application/problem+json");
    expect(await res.json()).toMatchObject({ status: 405, code: "METHOD_NOT_ALLOWED" });

    // `/changes/preview` is also `/changes/{id}`: both templates' methods are allowed.
    const preview = await fetch(`${server.url}/api/v1/changes/preview`, { method: "DELETE" });
    expect(preview.status).toBe(405);
    expect(preview.headers.get("allow")).toBe("GET, POST");

    // An unknown path stays 404.
    expect((await fetch(`${server.url}/api/v1/nope`, { method: "DELETE" })).status).toBe(404);
  });

  it("answers a body that is not JSON with the documented 415, not a 500", async () => {
    const res = await fetch(`${server.url}/api/v1/changes`, {
      method: "POST",
      headers: { authorization: `Bearer ${TOKEN}`, "content-type": "text/plain" },
      body: "title: hello",
    });
    expect(res.status).toBe(415);
    expect(await res.json()).toMatchObject({ status: 415, code: "UNSUPPORTED_MEDIA_TYPE" });
  });
});
