import type { EcsEvent } from "../../src/ecs/ecsEvent.js";
import type { AlertLog } from "../../src/output/alertLog.js";

/** An AlertLog that keeps alerts in `alerts`: every alert accepted is written, none spooled or lost. */
export function memoryAlertLog(alerts: EcsEvent[]): AlertLog {
  return {
    write: (a) => alerts.push(a),
    flush: async () => {},
    close: async () => {},
    get accepted() {
      return alerts.length;
    },
    get written() {
      return alerts.length;
    },
    spooled: 0,
    lost: 0,
    lossCause: undefined,
  };
}
