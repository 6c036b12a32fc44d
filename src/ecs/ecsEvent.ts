/**
 * An ECS document as nested plain objects ({"process": {"args": [...]}}), exactly what goes to the log and to
 * Elasticsearch. Rules read fields by dotted path.
 *
 * Text that was not valid UTF-8 is shown with U+FFFD in its ECS field, and its exact bytes are kept in
 * `macsensor.raw_bytes`: [{"field": "process.args", "index": 2, "base64": "..."}] (index only for array fields).
 */
export type EcsEvent = Record<string, unknown>;

export interface RawBytesEntry {
  field: string;
  index?: number;
  base64: string;
}
