import type { TypedSchema } from "../eql/typeCheck.js";

/**
 * The field types a command checks queries against, from `--no-ecs-types` / `--mapping FILE`: undefined for the
 * default (ECS), null for none, or the mapping file's; an exit code (2) after printing the problem.
 */
export async function fieldTypesOption(command: string, noEcsTypes: boolean | undefined, mapping: string | undefined): Promise<TypedSchema | null | undefined | number> {
  if (noEcsTypes && mapping !== undefined) {
    process.stderr.write(`macsensor ${command}: --no-ecs-types and --mapping cannot be used together\n`);
    return 2;
  }
  if (noEcsTypes) return null;
  if (mapping === undefined) return undefined;
  const { mappingFileSchema } = await import("../ecs/ecsSchema.js");
  try {
    return mappingFileSchema(mapping);
  } catch (err) {
    const e = err as NodeJS.ErrnoException;
    process.stderr.write(`macsensor ${command}: ${e.code ? `cannot read ${mapping}: ${e.message}` : e.message}\n`);
    return 2;
  }
}
