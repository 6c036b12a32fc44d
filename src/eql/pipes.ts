/**
 * `| head N` and `| tail N`, applied in order to the stream of hits. `head` passes the first N and then lets
 * the matcher stop working; `tail` keeps the last N and releases them when the stream ends.
 */
import type { Pipe } from "./ast.js";
import type { Hit } from "./api.js";

interface PipeStage {
  push(hit: Hit): Hit[];
  finish(): Hit[];
  /** No further hit can pass this stage. */
  closed(): boolean;
}

function head(n: number): PipeStage {
  let passed = 0;
  return {
    push: (hit) => (passed < n ? (passed++, [hit]) : []),
    finish: () => [],
    closed: () => passed >= n,
  };
}

function tail(n: number): PipeStage {
  let kept: Hit[] = [];
  return {
    push: (hit) => {
      if (n > 0) {
        kept.push(hit);
        if (kept.length > 2 * n + 64) kept = kept.slice(-n);
      }
      return [];
    },
    finish: () => {
      const out = n > 0 ? kept.slice(-n) : [];
      kept = [];
      return out;
    },
    closed: () => n === 0,
  };
}

export interface PipeChain {
  /** Passes hits through every pipe; returns what comes out at the end. */
  push(hits: Hit[]): Hit[];
  finish(): Hit[];
  /** Whether no hit can come out any more (the matcher may stop evaluating). */
  closed(): boolean;
}

export function pipeChain(pipes: readonly Pipe[]): PipeChain | null {
  if (pipes.length === 0) return null;
  const stages = pipes.map((p) => (p.kind === "head" ? head(p.count) : tail(p.count)));
  const through = (from: number, hits: Hit[]): Hit[] => {
    let current = hits;
    for (let i = from; i < stages.length && current.length > 0; i++) {
      const next: Hit[] = [];
      for (const h of current) for (const out of stages[i].push(h)) next.push(out);
      current = next;
    }
    return current;
  };
  return {
    push: (hits) => (hits.length === 0 ? hits : through(0, hits)),
    finish: () => {
      let carried: Hit[] = [];
      for (let i = 0; i < stages.length; i++) {
        const next: Hit[] = [];
        for (const h of carried) for (const out of stages[i].push(h)) next.push(out);
        for (const out of stages[i].finish()) next.push(out);
        carried = next;
      }
      return carried;
    },
    closed: () => stages.some((s) => s.closed()),
  };
}
