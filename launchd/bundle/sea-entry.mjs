// Entry of the single-executable build, bundled to one CommonJS file by build-pkg.sh (a Node 24 SEA runs one
// CommonJS script). A SEA's argv is [executable, executable, ...arguments], so the command starts at index 2.
// Exit codes as dist/cli/main.js: 2 for errors macsensor raises on purpose, 70 for anything else.
import { main } from "../../dist/cli/main.js";
import { MacsensorError } from "../../dist/errors.js";

main(process.argv.slice(2)).then(
  (code) => {
    process.exitCode = code;
  },
  (err) => {
    const known = err instanceof MacsensorError;
    process.stderr.write(`macsensor: ${known ? "" : "internal error: "}${err instanceof Error ? err.message : String(err)}\n`);
    process.exitCode = known ? 2 : 70;
  },
);
