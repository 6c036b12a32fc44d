// What checking rule queries against ECS field types costs at load:
//  (a) first use of the ECS schema in a fresh process (module import + building the lookup; the target is on its
//      CPU time), and its heap;
//  (b) per rule, the type check beside parse+check+compile, over the shipped rules and the demo rule;
//  (c) one "did you mean" search over every known field name (only paid for unknown fields).
import { readdirSync, readFileSync } from "node:fs";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import { parse } from "smol-toml";

const root = fileURLToPath(new URL("../", import.meta.url));

globalThis.gc?.();
const heapBefore = process.memoryUsage().heapUsed;
const t0 = performance.now();
const cpu0 = process.cpuUsage();
const { ecsFieldSchema } = await import("../dist/ecs/ecsSchema.js");
const schema = ecsFieldSchema();
schema.lookup("process.pid");
const firstUseMs = performance.now() - t0;
const cpu = process.cpuUsage(cpu0);
// CPU time as well as wall time: on a shared machine the wall time includes waiting for a core.
const firstUseCpuMs = (cpu.user + cpu.system) / 1000;
globalThis.gc?.();
const schemaHeapKb = (process.memoryUsage().heapUsed - heapBefore) / 1024;

const { compileQuery } = await import("../dist/eql/index.js");
const { checkFieldTypes } = await import("../dist/eql/typeCheck.js");

const files = [
  ...readdirSync(join(root, "rules/macos")).map((f) => join(root, "rules/macos", f)),
  ...readdirSync(join(root, "samples/linux-demo")).map((f) => join(root, "samples/linux-demo", f)),
].filter((f) => f.endsWith(".toml"));
const queries = files.map((f) => parse(readFileSync(f, "utf8")).rule.query);

function perRuleUs(fn) {
  const rounds = 300;
  for (let i = 0; i < 20; i++) queries.forEach(fn);
  const start = performance.now();
  for (let i = 0; i < rounds; i++) queries.forEach(fn);
  return ((performance.now() - start) * 1000) / (rounds * queries.length);
}

const compiled = queries.map((q) => compileQuery(q));
const compileUs = perRuleUs((q) => compileQuery(q));
let i = 0;
const checkUs = perRuleUs(() => checkFieldTypes(compiled[i++ % compiled.length].ast, schema));

const misspelt = ["process.nmae", "process.parent.exectuable", "proces.code_signature.trusted", "winlog.event_data.SubjectUserSid"];
misspelt.forEach((n) => schema.closest(n));
const s0 = performance.now();
for (let k = 0; k < 25; k++) for (const n of misspelt) schema.closest(n);
const closestUs = ((performance.now() - s0) * 1000) / (25 * misspelt.length);

const result = {
  rules: queries.length,
  schema_first_use_ms: +firstUseMs.toFixed(1),
  schema_first_use_cpu_ms: +firstUseCpuMs.toFixed(1),
  schema_heap_kb: Math.round(schemaHeapKb),
  compile_us_per_rule: +compileUs.toFixed(1),
  type_check_us_per_rule: +checkUs.toFixed(1),
  closest_name_us: +closestUs.toFixed(0),
  target_schema_first_use_cpu_ms: 50,
  target_type_check_share_of_compile: 0.5,
};
result.meets_targets = firstUseCpuMs < 50 && checkUs < 0.5 * compileUs;
console.log(JSON.stringify(result));
