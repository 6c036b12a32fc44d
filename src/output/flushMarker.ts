/**
 * Flushing a winston logger: a marker record travels the same stream pipeline as the records before it, so when
 * every marker-aware transport (our file transport) has seen it, everything logged earlier is on disk.
 */
import type { Logger } from "winston";

export const FLUSH_MARKER = Symbol.for("macsensor.flushMarker");

export interface FlushMarker {
  arrived(): void;
}

/** True for the transports that acknowledge flush markers. */
export interface MarkerAware {
  readonly acknowledgesFlushMarkers: true;
}

function isMarkerAware(transport: unknown): transport is MarkerAware {
  return (transport as Partial<MarkerAware>).acknowledgesFlushMarkers === true;
}

/** Resolves when everything logged to `logger` before the call has been written by its file transports. */
export function flushLogger(logger: Logger): Promise<void> {
  const aware = logger.transports.filter(isMarkerAware).length;
  if (aware === 0 || logger.writableEnded || logger.destroyed) return Promise.resolve();
  // The most important level passes every level filter.
  const levels = Object.entries(logger.levels).sort((a, b) => a[1] - b[1]);
  const level = levels[0]?.[0] ?? "error";
  return new Promise((resolve) => {
    let remaining = aware;
    const marker: FlushMarker = {
      arrived() {
        if (--remaining === 0) resolve();
      },
    };
    logger.log({ level, message: "", [FLUSH_MARKER]: marker });
  });
}

export function flushMarkerOf(info: object): FlushMarker | undefined {
  return (info as { [FLUSH_MARKER]?: FlushMarker })[FLUSH_MARKER];
}
