import { startAgent, type AgentOptions } from "../../src/agent/agent.js";
import type { EcsEvent } from "../../src/ecs/ecsEvent.js";
import { createOpsLogger } from "../../src/output/opsLogger.js";
import { testHost } from "../ecs/helpers.js";
import { FakeBackend } from "./fakeBackend.js";
import { memoryAlertLog } from "./memoryAlertLog.js";

/**
 * An agent on a FakeBackend with `rulePaths`, its alerts kept in memory and its agent log in `opsFile`: no actions,
 * block falls back to report, a 60 s heartbeat, the test host, no /proc seeding; `extra` overrides any of these.
 */
export async function startTestAgent(rulePaths: string[], opsFile: string, extra: Partial<AgentOptions> = {}) {
  const backend = new FakeBackend();
  const alerts: EcsEvent[] = [];
  const ops = createOpsLogger({ file: opsFile, console: false });
  const agent = await startAgent({
    backend,
    rulePaths,
    actions: new Map(),
    alertLog: memoryAlertLog(alerts),
    ops,
    blockFallback: "report",
    heartbeatMs: 60_000,
    host: testHost,
    seedFromProc: false,
    ...extra,
  });
  return { agent, backend, alerts, ops };
}
