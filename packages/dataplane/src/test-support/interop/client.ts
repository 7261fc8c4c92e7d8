// The gRPC interoperability test client, written from the published case descriptions
// (grpc/grpc doc/interop-test-descriptions.md) on @grpc/grpc-js. Each case makes its calls and asserts what
// the description says the client asserts; a failed assertion throws with the case's name and what was seen.
import * as grpc from "@grpc/grpc-js";
import assert from "node:assert/strict";
import { loadTestProtos, type ServiceCtor } from "./server.js";

/* eslint-disable @typescript-eslint/no-explicit-any -- grpc-js clients made from proto-loader are untyped */
type AnyClient = grpc.Client & Record<string, any>;

export interface InteropTarget {
  /** host:port the client dials (the server, or a proxy in front of it). */
  address: string;
  /** `:authority` to send (a mesh sidecar routes by it); default: the address. */
  authority?: string;
}

export interface InteropClients {
  test: AnyClient;
  /** Same target, sending every message gzip-compressed. */
  compressed: AnyClient;
  unimplemented: AnyClient;
  close(): void;
}

export function connectInterop(target: InteropTarget): InteropClients {
  const { TestService, UnimplementedService } = loadTestProtos();
  const options: grpc.ChannelOptions = {};
  if (target.authority !== undefined) options["grpc.default_authority"] = target.authority;
  const make = (C: ServiceCtor, extra: grpc.ChannelOptions = {}) =>
    new C(target.address, grpc.credentials.createInsecure(), { ...options, ...extra }) as AnyClient;
  const test = make(TestService);
  // A separate channel: grpc-js picks compression per channel.
  const compressed = make(TestService, {
    "grpc.default_compression_algorithm": grpc.compressionAlgorithms.gzip,
    // Keeps it from sharing the plain channel's subchannel (and its compression negotiation).
    "grpc.use_local_subchannel_pool": 1,
  });
  const unimplemented = make(UnimplementedService);
  return {
    test,
    compressed,
    unimplemented,
    close() {
      test.close();
      compressed.close();
      unimplemented.close();
    },
  };
}

interface UnaryResult<T> {
  error: grpc.ServiceError | null;
  response: T | null;
  initial: grpc.Metadata | null;
  status: grpc.StatusObject;
}

function unary<T>(
  client: AnyClient,
  method: string,
  request: object,
  metadata = new grpc.Metadata(),
  options: grpc.CallOptions = {},
): Promise<UnaryResult<T>> {
  return new Promise((resolve) => {
    let error: grpc.ServiceError | null = null;
    let response: T | null = null;
    let initial: grpc.Metadata | null = null;
    const call = client[method](request, metadata, options, (e: grpc.ServiceError | null, r: T) => {
      error = e;
      response = r ?? null;
    }) as grpc.ClientUnaryCall;
    call.on("metadata", (md: grpc.Metadata) => (initial = md));
    // 'status' comes after the callback: everything is known by then.
    call.on("status", (status: grpc.StatusObject) => resolve({ error, response, initial, status }));
  });
}

interface Msg {
  payload?: { body: Buffer } | null;
  aggregatedPayloadSize?: number;
}

const zeros = (n: number) => ({ type: "COMPRESSABLE", body: Buffer.alloc(n) });
const isZeros = (b: Buffer) => b.every((x) => x === 0);

function expectOk(r: UnaryResult<unknown>, what: string): void {
  assert.equal(
    r.status.code,
    grpc.status.OK,
    `${what}: expected OK, got ${grpc.status[r.status.code]} (${r.status.code}) "${r.status.details}"`,
  );
  assert.ok(r.response !== null, `${what}: response is null`);
}

/** Reads a server or duplex stream to its end: messages, initial metadata, final status. */
function collect(call: grpc.ClientReadableStream<Msg> | grpc.ClientDuplexStream<object, Msg>) {
  return new Promise<{ messages: Msg[]; initial: grpc.Metadata | null; status: grpc.StatusObject }>(
    (resolve) => {
      const messages: Msg[] = [];
      let initial: grpc.Metadata | null = null;
      call.on("data", (m: Msg) => messages.push(m));
      call.on("metadata", (md: grpc.Metadata) => (initial = md));
      call.on("error", () => {}); // the status says it
      call.on("status", (status: grpc.StatusObject) => resolve({ messages, initial, status }));
    },
  );
}

function sizes(messages: Msg[]): number[] {
  return messages.map((m) => m.payload?.body.length ?? -1);
}

const ECHO_INITIAL = "x-grpc-test-echo-initial";
const ECHO_TRAILING = "x-grpc-test-echo-trailing-bin";
const INITIAL_VALUE = "test_initial_metadata_value";
const TRAILING_VALUE = Buffer.from([0xab, 0xab, 0xab]);
// special_status_message: whitespace, a BMP and a non-BMP character, as the published case has it.
const SPECIAL_MESSAGE = "\t\ntest with whitespace\r\nand Unicode BMP ☺ and non-BMP 😈\t\n";

export type InteropCase = (c: InteropClients) => Promise<void>;

export const INTEROP_CASES = {
  async empty_unary(c) {
    const r = await unary(c.test, "EmptyCall", {});
    expectOk(r, "EmptyCall");
  },

  async large_unary(c) {
    const r = await unary<Msg>(c.test, "UnaryCall", { responseSize: 314159, payload: zeros(271828) });
    expectOk(r, "UnaryCall");
    const body = r.response!.payload!.body;
    assert.equal(body.length, 314159, "response payload size");
    assert.ok(isZeros(body), "response payload is zeros");
  },

  async client_compressed_unary(c) {
    const req = (expect: boolean) => ({
      expectCompressed: { value: expect },
      responseSize: 314159,
      payload: zeros(271828),
    });
    // The probe: an uncompressed message that says it is compressed must be refused.
    const probe = await unary(c.test, "UnaryCall", req(true));
    assert.equal(probe.status.code, grpc.status.INVALID_ARGUMENT, "probe must fail with INVALID_ARGUMENT");
    const compressed = await unary<Msg>(c.compressed, "UnaryCall", req(true));
    expectOk(compressed, "compressed UnaryCall");
    assert.equal(compressed.response!.payload!.body.length, 314159);
    const plain = await unary<Msg>(c.test, "UnaryCall", req(false));
    expectOk(plain, "uncompressed UnaryCall");
    assert.equal(plain.response!.payload!.body.length, 314159);
  },

  async client_streaming(c) {
    const result = new Promise<UnaryResult<Msg>>((resolve) => {
      let error: grpc.ServiceError | null = null;
      let response: Msg | null = null;
      const call = c.test.StreamingInputCall((e: grpc.ServiceError | null, r: Msg) => {
        error = e;
        response = r ?? null;
      }) as grpc.ClientWritableStream<object>;
      call.on("status", (status: grpc.StatusObject) => resolve({ error, response, initial: null, status }));
      for (const n of [27182, 8, 1828, 45904]) call.write({ payload: zeros(n) });
      call.end();
    });
    const r = await result;
    expectOk(r, "StreamingInputCall");
    assert.equal(r.response!.aggregatedPayloadSize, 74922, "aggregated_payload_size");
  },

  async client_compressed_streaming(c) {
    const stream = (client: AnyClient, messages: [object, number][]) =>
      new Promise<UnaryResult<Msg>>((resolve) => {
        let error: grpc.ServiceError | null = null;
        let response: Msg | null = null;
        const call = client.StreamingInputCall((e: grpc.ServiceError | null, r: Msg) => {
          error = e;
          response = r ?? null;
        }) as grpc.ClientWritableStream<object>;
        call.on("status", (status: grpc.StatusObject) => resolve({ error, response, initial: null, status }));
        // grpc-js takes per-message write flags in the encoding argument: 2 is NoCompress.
        for (const [m, flags] of messages) call.write(m, flags as unknown as BufferEncoding);
        call.end();
      });
    const probe = await stream(c.test, [[{ expectCompressed: { value: true }, payload: zeros(27182) }, 0]]);
    assert.equal(probe.status.code, grpc.status.INVALID_ARGUMENT, "probe must fail with INVALID_ARGUMENT");
    const r = await stream(c.compressed, [
      [{ expectCompressed: { value: true }, payload: zeros(27182) }, 0],
      [{ expectCompressed: { value: false }, payload: zeros(45904) }, 2],
    ]);
    expectOk(r, "compressed StreamingInputCall");
    assert.equal(r.response!.aggregatedPayloadSize, 73086, "aggregated_payload_size");
  },

  async server_streaming(c) {
    const want = [31415, 9, 2653, 58979];
    const call = c.test.StreamingOutputCall({
      responseParameters: want.map((size) => ({ size })),
    }) as grpc.ClientReadableStream<Msg>;
    const r = await collect(call);
    assert.equal(r.status.code, grpc.status.OK, `status ${r.status.code} "${r.status.details}"`);
    assert.deepEqual(sizes(r.messages), want, "response sizes, in order");
    for (const m of r.messages) assert.ok(isZeros(m.payload!.body), "payload is zeros");
  },

  async ping_pong(c) {
    const steps: [number, number][] = [
      [31415, 27182],
      [9, 8],
      [2653, 1828],
      [58979, 45904],
    ];
    const call = c.test.FullDuplexCall() as grpc.ClientDuplexStream<object, Msg>;
    const got: number[] = [];
    const done = new Promise<grpc.StatusObject>((resolve) => {
      call.on("status", resolve);
      call.on("error", () => {});
    });
    const next = () =>
      new Promise<Msg>((resolve, reject) => {
        const onData = (m: Msg) => {
          call.off("status", onStatus);
          resolve(m);
        };
        const onStatus = (s: grpc.StatusObject) => {
          call.off("data", onData);
          reject(new Error(`stream ended before a reply: ${s.code} "${s.details}"`));
        };
        call.once("data", onData);
        call.once("status", onStatus);
      });
    for (const [size, body] of steps) {
      const reply = next();
      call.write({ responseParameters: [{ size }], payload: zeros(body) });
      got.push((await reply).payload!.body.length);
    }
    call.end();
    const status = await done;
    assert.equal(status.code, grpc.status.OK, `status ${status.code} "${status.details}"`);
    assert.deepEqual(got, [31415, 9, 2653, 58979], "reply sizes, in order");
  },

  async empty_stream(c) {
    const call = c.test.FullDuplexCall({ deadline: Date.now() + 10_000 }) as grpc.ClientDuplexStream<
      object,
      Msg
    >;
    const r = collect(call);
    call.end();
    const { messages, status } = await r;
    assert.equal(status.code, grpc.status.OK, `status ${status.code} "${status.details}"`);
    assert.equal(messages.length, 0, "zero responses");
  },

  async cancel_after_begin(c) {
    const status = await new Promise<grpc.StatusObject>((resolve) => {
      const call = c.test.StreamingInputCall(() => {}) as grpc.ClientWritableStream<object>;
      call.on("status", resolve);
      call.cancel();
    });
    assert.equal(status.code, grpc.status.CANCELLED, `status ${status.code} "${status.details}"`);
  },

  async cancel_after_first_response(c) {
    const call = c.test.FullDuplexCall() as grpc.ClientDuplexStream<object, Msg>;
    const status = new Promise<grpc.StatusObject>((resolve) => {
      call.on("status", resolve);
      call.on("error", () => {});
    });
    const first = await new Promise<Msg>((resolve) => {
      call.once("data", resolve);
      call.write({ responseParameters: [{ size: 31415 }], payload: zeros(27182) });
    });
    assert.equal(first.payload!.body.length, 31415, "first reply size");
    call.cancel();
    const s = await status;
    assert.equal(s.code, grpc.status.CANCELLED, `status ${s.code} "${s.details}"`);
  },

  async timeout_on_sleeping_server(c) {
    const call = c.test.FullDuplexCall({ deadline: Date.now() + 1 }) as grpc.ClientDuplexStream<object, Msg>;
    const r = collect(call);
    call.write({ payload: zeros(27182) });
    const { status } = await r;
    assert.equal(status.code, grpc.status.DEADLINE_EXCEEDED, `status ${status.code} "${status.details}"`);
  },

  async custom_metadata(c) {
    const md = () => {
      const m = new grpc.Metadata();
      m.set(ECHO_INITIAL, INITIAL_VALUE);
      m.set(ECHO_TRAILING, TRAILING_VALUE);
      return m;
    };
    const checkMetadata = (what: string, initial: grpc.Metadata | null, trailing: grpc.Metadata) => {
      assert.deepEqual(initial?.get(ECHO_INITIAL), [INITIAL_VALUE], `${what}: initial metadata`);
      assert.deepEqual(trailing.get(ECHO_TRAILING), [TRAILING_VALUE], `${what}: trailing metadata`);
    };
    const u = await unary<Msg>(c.test, "UnaryCall", { responseSize: 314159, payload: zeros(271828) }, md());
    expectOk(u, "UnaryCall");
    assert.equal(u.response!.payload!.body.length, 314159);
    checkMetadata("UnaryCall", u.initial, u.status.metadata);

    const call = c.test.FullDuplexCall(md()) as grpc.ClientDuplexStream<object, Msg>;
    const r = collect(call);
    call.write({ responseParameters: [{ size: 314159 }], payload: zeros(271828) });
    call.end();
    const d = await r;
    assert.equal(
      d.status.code,
      grpc.status.OK,
      `FullDuplexCall status ${d.status.code} "${d.status.details}"`,
    );
    assert.deepEqual(sizes(d.messages), [314159]);
    checkMetadata("FullDuplexCall", d.initial, d.status.metadata);
  },

  async status_code_and_message(c) {
    const responseStatus = { code: 2, message: "test status message" };
    const u = await unary(c.test, "UnaryCall", { responseStatus });
    assert.equal(u.status.code, 2, `UnaryCall status ${u.status.code} "${u.status.details}"`);
    assert.equal(u.status.details, responseStatus.message);
    const call = c.test.FullDuplexCall() as grpc.ClientDuplexStream<object, Msg>;
    const r = collect(call);
    call.write({ responseStatus });
    call.end();
    const d = await r;
    assert.equal(d.status.code, 2, `FullDuplexCall status ${d.status.code} "${d.status.details}"`);
    assert.equal(d.status.details, responseStatus.message);
  },

  async special_status_message(c) {
    const u = await unary(c.test, "UnaryCall", { responseStatus: { code: 2, message: SPECIAL_MESSAGE } });
    assert.equal(u.status.code, 2, `status ${u.status.code} "${u.status.details}"`);
    assert.equal(u.status.details, SPECIAL_MESSAGE);
  },

  async unimplemented_method(c) {
    const u = await unary(c.test, "UnimplementedCall", {});
    assert.equal(u.status.code, grpc.status.UNIMPLEMENTED, `status ${u.status.code} "${u.status.details}"`);
  },

  async unimplemented_service(c) {
    const u = await unary(c.unimplemented, "UnimplementedCall", {});
    assert.equal(u.status.code, grpc.status.UNIMPLEMENTED, `status ${u.status.code} "${u.status.details}"`);
  },

  /** Not a published case: unary calls must not wait for a full-duplex stream open on the same connection. */
  async unary_while_bidi_open(c) {
    const call = c.test.FullDuplexCall() as grpc.ClientDuplexStream<object, Msg>;
    const r = collect(call);
    const first = new Promise<Msg>((resolve) => call.once("data", resolve));
    call.write({ responseParameters: [{ size: 10 }] });
    await first; // the stream is open end to end
    const t0 = Date.now();
    const results = await Promise.all(
      Array.from({ length: 20 }, () =>
        unary(c.test, "UnaryCall", { responseSize: 1000 }, undefined, {
          deadline: Date.now() + 5000,
        }),
      ),
    );
    for (const u of results) expectOk(u, "UnaryCall while a stream is open");
    assert.ok(Date.now() - t0 < 5000, "unary calls finished while the stream stayed open");
    call.end();
    const d = await r;
    assert.equal(
      d.status.code,
      grpc.status.OK,
      `FullDuplexCall status ${d.status.code} "${d.status.details}"`,
    );
  },
} satisfies Record<string, InteropCase>;

export type InteropCaseName = keyof typeof INTEROP_CASES;
export const INTEROP_CASE_NAMES = Object.keys(INTEROP_CASES) as InteropCaseName[];
