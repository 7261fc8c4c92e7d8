// The gRPC interoperability test server, written from the published case descriptions
// (grpc/grpc doc/interop-test-descriptions.md, "Server" features) on @grpc/grpc-js: EmptyCall, UnaryCall,
// StreamingInputCall, StreamingOutputCall, FullDuplexCall, Echo Status, Echo Metadata, CompressedRequest and
// ResponseParameters.interval_us. UnimplementedCall and UnimplementedService are left unimplemented on purpose.
import * as grpc from "@grpc/grpc-js";
import * as protoLoader from "@grpc/proto-loader";
import { fileURLToPath } from "node:url";
import { dirname, join } from "node:path";

// test-support is never built into dist/: this always runs from the source tree, beside the .proto files.
const PROTO_ROOT = join(dirname(fileURLToPath(import.meta.url)), "proto");

export interface Payload {
  type?: string | number;
  body: Buffer;
}
export interface EchoStatus {
  code: number;
  message: string;
}
export interface SimpleRequest {
  responseSize?: number;
  payload?: Payload | null;
  responseStatus?: EchoStatus | null;
  expectCompressed?: { value: boolean } | null;
}
export interface ResponseParameters {
  size: number;
  intervalUs?: number;
}
export interface StreamingOutputCallRequest {
  responseParameters?: ResponseParameters[];
  payload?: Payload | null;
  responseStatus?: EchoStatus | null;
}
export interface StreamingInputCallRequest {
  payload?: Payload | null;
  expectCompressed?: { value: boolean } | null;
}

export type ServiceCtor = grpc.ServiceClientConstructor;

/** The TestService and UnimplementedService definitions, loaded from the test protos. */
export function loadTestProtos(): { TestService: ServiceCtor; UnimplementedService: ServiceCtor } {
  const def = protoLoader.loadSync("grpc/testing/test.proto", {
    includeDirs: [PROTO_ROOT],
    keepCase: false,
    longs: Number,
    enums: String,
    defaults: true,
    oneofs: true,
  });
  const pkg = grpc.loadPackageDefinition(def) as unknown as {
    grpc: { testing: { TestService: ServiceCtor; UnimplementedService: ServiceCtor } };
  };
  return pkg.grpc.testing;
}

const ECHO_INITIAL = "x-grpc-test-echo-initial";
const ECHO_TRAILING = "x-grpc-test-echo-trailing-bin";

/** Echo Metadata: the initial key back as initial metadata, the trailing key back as trailing metadata. */
function echoMetadata(call: {
  metadata: grpc.Metadata;
  sendMetadata(md: grpc.Metadata): void;
}): grpc.Metadata {
  const initial = call.metadata.get(ECHO_INITIAL);
  if (initial.length > 0) {
    const md = new grpc.Metadata();
    md.set(ECHO_INITIAL, initial[0]!);
    call.sendMetadata(md);
  }
  const trailing = new grpc.Metadata();
  const t = call.metadata.get(ECHO_TRAILING);
  if (t.length > 0) trailing.set(ECHO_TRAILING, t[0]!);
  return trailing;
}

/**
 * CompressedRequest: the encoding the call's messages arrived with. grpc-js strips `grpc-encoding` from the
 * metadata it hands to a handler and keeps it on the call object; read it there, and fail loudly if that ever
 * moves, rather than letting the compression cases pass without checking anything.
 */
function incomingEncoding(call: object): string {
  const inner = (call as { call?: { incomingEncoding?: unknown } }).call;
  const enc = inner?.incomingEncoding;
  if (typeof enc !== "string") throw new Error("cannot read the call's grpc-encoding from grpc-js");
  return enc;
}

function payload(size: number): { type: string; body: Buffer } {
  return { type: "COMPRESSABLE", body: Buffer.alloc(size) };
}

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

export interface InteropServer {
  port: number;
  /** Calls seen, by method name (for assertions that a call did or did not reach the server). */
  calls: Map<string, number>;
  /** Calls that ended because the client cancelled them (grpc-js 'cancelled'). */
  cancelled: number;
  close(): Promise<void>;
}

export async function startInteropServer(): Promise<InteropServer> {
  const { TestService } = loadTestProtos();
  const server = new grpc.Server();
  const state: Omit<InteropServer, "port" | "close"> = { calls: new Map(), cancelled: 0 };
  const seen = (name: string) => state.calls.set(name, (state.calls.get(name) ?? 0) + 1);
  const watchCancel = (call: { on(e: "cancelled", f: () => void): unknown }) =>
    call.on("cancelled", () => state.cancelled++);

  server.addService(TestService.service, {
    EmptyCall(_call: grpc.ServerUnaryCall<object, object>, cb: grpc.sendUnaryData<object>) {
      seen("EmptyCall");
      cb(null, {});
    },
    UnaryCall(call: grpc.ServerUnaryCall<SimpleRequest, object>, cb: grpc.sendUnaryData<object>) {
      seen("UnaryCall");
      const trailing = echoMetadata(call);
      const req = call.request;
      if (req.expectCompressed?.value && incomingEncoding(call) === "identity") {
        cb({ code: grpc.status.INVALID_ARGUMENT, details: "expected a compressed request" }, null, trailing);
        return;
      }
      if (req.responseStatus && req.responseStatus.code !== 0) {
        cb({ code: req.responseStatus.code, details: req.responseStatus.message }, null, trailing);
        return;
      }
      cb(null, { payload: payload(req.responseSize ?? 0) }, trailing);
    },
    StreamingInputCall(
      call: grpc.ServerReadableStream<StreamingInputCallRequest, object>,
      cb: grpc.sendUnaryData<object>,
    ) {
      seen("StreamingInputCall");
      watchCancel(call);
      let total = 0;
      let failed = false;
      call.on("data", (m: StreamingInputCallRequest) => {
        if (failed) return;
        if (m.expectCompressed?.value && incomingEncoding(call) === "identity") {
          failed = true;
          cb({ code: grpc.status.INVALID_ARGUMENT, details: "expected a compressed message" });
          return;
        }
        total += m.payload?.body.length ?? 0;
      });
      call.on("end", () => {
        if (!failed) cb(null, { aggregatedPayloadSize: total });
      });
    },
    StreamingOutputCall(call: grpc.ServerWritableStream<StreamingOutputCallRequest, object>) {
      seen("StreamingOutputCall");
      watchCancel(call);
      const trailing = echoMetadata(call);
      void (async () => {
        for (const p of call.request.responseParameters ?? []) {
          if (p.intervalUs) await sleep(p.intervalUs / 1000);
          if (call.cancelled) return;
          call.write({ payload: payload(p.size) });
        }
        const st = call.request.responseStatus;
        if (st && st.code !== 0)
          call.emit("error", { code: st.code, details: st.message, metadata: trailing });
        else call.end(trailing);
      })();
    },
    FullDuplexCall(call: grpc.ServerDuplexStream<StreamingOutputCallRequest, object>) {
      seen("FullDuplexCall");
      watchCancel(call);
      const trailing = echoMetadata(call);
      // Responses go out in order, each after its interval; the call closes after the half-close and the last one.
      let chain = Promise.resolve();
      let ended = false;
      call.on("data", (m: StreamingOutputCallRequest) => {
        if (ended) return;
        const st = m.responseStatus;
        if (st && st.code !== 0) {
          // Echo Status: close with it and process nothing further.
          ended = true;
          chain = chain.then(() => {
            call.emit("error", { code: st.code, details: st.message, metadata: trailing });
          });
          return;
        }
        for (const p of m.responseParameters ?? []) {
          chain = chain.then(async () => {
            if (p.intervalUs) await sleep(p.intervalUs / 1000);
            if (!call.cancelled && !ended) call.write({ payload: payload(p.size) });
          });
        }
      });
      call.on("end", () => {
        chain = chain.then(() => {
          if (!ended && !call.cancelled) {
            ended = true;
            call.end(trailing);
          }
        });
      });
    },
    HalfDuplexCall(call: grpc.ServerDuplexStream<StreamingOutputCallRequest, object>) {
      seen("HalfDuplexCall");
      const queued: StreamingOutputCallRequest[] = [];
      call.on("data", (m: StreamingOutputCallRequest) => queued.push(m));
      call.on("end", () => {
        for (const m of queued)
          for (const p of m.responseParameters ?? []) call.write({ payload: payload(p.size) });
        call.end();
      });
    },
  });

  const port = await new Promise<number>((resolve, reject) =>
    server.bindAsync("127.0.0.1:0", grpc.ServerCredentials.createInsecure(), (err, p) =>
      err ? reject(err) : resolve(p),
    ),
  );
  return Object.assign(state, {
    port,
    close: () =>
      new Promise<void>((resolve) => {
        server.tryShutdown(() => resolve());
        // Calls a case left hanging (a cancelled stream the server never saw end) must not hold the suite.
        setTimeout(() => {
          server.forceShutdown();
          resolve();
        }, 2000).unref();
      }),
  });
}
