/**
 * Fields that rules may name and that ECS does not define, with their Elasticsearch mapping types: what macsensor
 * itself writes (src/ecs/mapper.ts, ecsEvent.ts) and the Elastic Defend extension fields (`*.Ext.*` and
 * capitalised top-level names) that Elastic's endpoint rules test. Types as in the Defend package mapping
 * (shared/reference/ecs-process-events.md §3, and the non-ECS schema Elastic's detection-rules validate against).
 */

/** What macsensor writes beyond ECS. */
export const MACSENSOR_FIELD_TYPES: Readonly<Record<string, string>> = {
  "macsensor.source": "keyword",
  "macsensor.partial": "keyword",
  "macsensor.executable_truncated": "boolean",
  "macsensor.exit_signal": "long",
  "macsensor.raw_bytes.field": "keyword",
  "macsensor.raw_bytes.index": "long",
  "macsensor.raw_bytes.base64": "keyword",
  "macsensor.path_truncated": "boolean",
  "macsensor.original_path_truncated": "boolean",
  /** open events: "read" and/or "write", from the open flags. */
  "macsensor.open_mode": "keyword",
  // Defend's own fields that the mapper fills, as Defend names them.
  "process.Ext.ancestry": "keyword",
  "process.Ext.command_line_truncated": "boolean",
  "process.parent.Ext.command_line_truncated": "boolean",
  "process.Ext.script.path": "keyword",
  "process.Ext.effective_parent.entity_id": "keyword",
  "process.Ext.effective_parent.executable": "keyword",
  "process.Ext.effective_parent.name": "keyword",
  "process.Ext.effective_parent.pid": "long",
  "user.Ext.real.id": "keyword",
  "user.Ext.real.name": "keyword",
  "group.Ext.real.id": "keyword",
  "group.Ext.real.name": "keyword",
  "file.Ext.original.name": "keyword",
  "file.Ext.original.path": "keyword",
  "file.Ext.original.extension": "keyword",
  "file.Ext.original.directory": "keyword",
};

/** Elastic Defend's extension fields that rules reference and macsensor does not (yet) fill. */
export const DEFEND_FIELD_TYPES: Readonly<Record<string, string>> = {
  "process.Ext.trusted": "boolean",
  "process.Ext.trusted_descendant": "boolean",
  "process.Ext.script.content": "match_only_text",
  "process.Ext.token.integrity_level_name": "keyword",
  "process.Ext.relative_file_creation_time": "double",
  "process.Ext.relative_file_name_modify_time": "double",
  "process.Ext.api.name": "keyword",
  "process.parent.Ext.real.pid": "long",
  "process.ai_agent.name": "keyword",
  "process.ai_agent.is_descendant": "boolean",
  "host.os.Ext.variant": "keyword",
  "file.Ext.header_bytes": "keyword",
  "file.Ext.entropy": "long",
  "file.Ext.windows.zone_identifier": "long",
  "dll.Ext.relative_file_creation_time": "double",
  "dll.Ext.relative_file_name_modify_time": "double",
  "dll.Ext.device.product_id": "keyword",
  "Effective_process.entity_id": "keyword",
  "Effective_process.executable": "keyword",
  "Effective_process.name": "keyword",
  "Effective_process.pid": "long",
  "Target.process.name": "keyword",
  "Target.process.executable": "keyword",
  "Target.process.pid": "long",
  // macOS persistence (launchd plist) file events.
  "Persistence.name": "keyword",
};
