import { beforeAll, describe, expect, it } from "vitest";
import { esErrorCode } from "../../src/cli/runCommand.js";
import { createEsBackend } from "../../src/sensor/esBackend.js";
import { type EsTestAddon, loadEsTestAddon } from "../native/es-standin/loadAddon.js";

// `macsensor run` with backend auto falls back to eslogger exactly when ES says the binary is not entitled; it
// recognises that from the code the addon puts on the error, which the ES backend keeps as the cause.
describe("the ES failure a run falls back on", () => {
  let addon: EsTestAddon;
  beforeAll(() => {
    addon = loadEsTestAddon();
  }, 300_000);

  const failureCode = async (newClientResult: number): Promise<string | undefined> => {
    addon.standin.setNewClientResult(newClientResult);
    try {
      await createEsBackend({ binding: addon }).start(() => {});
      throw new Error("started");
    } catch (err) {
      return esErrorCode(err);
    } finally {
      addon.standin.setNewClientResult(0);
    }
  };

  it("is ES_NOT_ENTITLED for es_new_client's NOT_ENTITLED (3), and other results carry their own names", async () => {
    expect(await failureCode(3)).toBe("ES_NOT_ENTITLED");
    expect(await failureCode(5)).toBe("ES_NOT_PRIVILEGED");
    expect(await failureCode(4)).toBe("ES_NOT_PERMITTED");
  });

  it("is undefined for errors without a code", () => {
    expect(esErrorCode(new Error("x"))).toBeUndefined();
    expect(esErrorCode("text")).toBeUndefined();
  });
});
