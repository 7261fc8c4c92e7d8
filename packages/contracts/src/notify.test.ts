import { describe, expect, it } from "vitest";
import {
  decodeNotifyPayload,
  encodeNotifyPayload,
  ZConfigChangedPayload,
  ZJoinTokenRevokedPayload,
} from "./notify.js";

describe("notify payloads", () => {
  it("round-trips what the console sends", () => {
    const text = encodeNotifyPayload(ZConfigChangedPayload, { generation: 7 });
    expect(text).toBe('{"generation":7}');
    expect(decodeNotifyPayload(ZConfigChangedPayload, text)).toEqual({ generation: 7 });
    const revoked = encodeNotifyPayload(ZJoinTokenRevokedPayload, { joinTokenId: "jt1" });
    expect(decodeNotifyPayload(ZJoinTokenRevokedPayload, revoked)).toEqual({ joinTokenId: "jt1" });
  });

  it("reads a bare notify as no generation, and refuses what is not of the shape", () => {
    expect(decodeNotifyPayload(ZConfigChangedPayload, "{}")).toEqual({});
    expect(decodeNotifyPayload(ZConfigChangedPayload, undefined)).toEqual({});
    expect(decodeNotifyPayload(ZConfigChangedPayload, "not json")).toBeNull();
    expect(decodeNotifyPayload(ZConfigChangedPayload, '{"generation":1.5}')).toBeNull();
    expect(decodeNotifyPayload(ZJoinTokenRevokedPayload, '{"joinTokenId":3}')).toBeNull();
  });
});
