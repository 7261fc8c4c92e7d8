// The gRPC side of the benchmark: the interop suite's TestService (UnaryCall and StreamingOutputCall), loaded
// from its .proto files so the bench and the interop tests speak the same thing, and the two calls the bench
// makes. Imported only where gRPC runs, so the HTTP roles' RSS does not carry grpc-js and protobufjs.
import * as grpc from "@grpc/grpc-js";
import * as protoLoader from "@grpc/proto-loader";
import { join, dirname } from "node:path";
import { fileURLToPath } from "node:url";

const PROTO_ROOT = join(dirname(fileURLToPath(import.meta.url)), "../src/test-support/interop/proto");

export { grpc };

export const UNARY_BYTES = 100; // request payload and response payload
export const STREAM_MESSAGES = 10;
export const STREAM_MESSAGE_BYTES = 1024;

/** The TestService client constructor; its `.service` is the server-side definition. */
export function loadTestService() {
  const def = protoLoader.loadSync("grpc/testing/test.proto", {
    includeDirs: [PROTO_ROOT],
    keepCase: false,
    longs: Number,
    enums: String,
    defaults: true,
    oneofs: true,
  });
  return grpc.loadPackageDefinition(def).grpc.testing.TestService;
}

/** A unary call: UNARY_BYTES out, UNARY_BYTES back. */
export function unaryCall(client) {
  const req = { responseSize: UNARY_BYTES, payload: { body: Buffer.alloc(UNARY_BYTES) } };
  return () =>
    new Promise((resolve, reject) => {
      client.UnaryCall(req, (err, res) => {
        if (err) reject(err);
        else if (res.payload.body.length !== UNARY_BYTES) reject(new Error(`short unary response`));
        else resolve();
      });
    });
}

/**
 * A server stream: one small request, STREAM_MESSAGES messages back; the call is done at its OK status. Each
 * message's size is checked too: bytes lost or added on the way show up as a wrong count or a wrong size.
 */
export function streamCall(client) {
  const req = {
    responseParameters: Array.from({ length: STREAM_MESSAGES }, () => ({ size: STREAM_MESSAGE_BYTES })),
  };
  return () =>
    new Promise((resolve, reject) => {
      let n = 0;
      let wrong = 0;
      const call = client.StreamingOutputCall(req);
      call.on("data", (m) => (m.payload?.body.length === STREAM_MESSAGE_BYTES ? n++ : wrong++));
      call.on("error", reject); // a non-OK status; 'status' follows
      call.on("status", (st) => {
        if (st.code !== 0)
          reject(Object.assign(new Error(`status ${st.code} ${st.details}`), { code: st.code }));
        else if (n !== STREAM_MESSAGES || wrong > 0)
          reject(new Error(`stream ended after ${n} whole messages and ${wrong} of a wrong size`));
        else resolve();
      });
    });
}
