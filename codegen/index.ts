/**
 * protocache's generator: `.proto` entities → schema lock → typed codecs and
 * cache accessors. The CLI (`protocache gen`, `protocache check`) drives it.
 * @packageDocumentation
 */
export { findProjectRoot, loadConfig, projectCommands, type GenConfig, type ProjectCommands } from "./config.js";
export { generatorVersion } from "./version.js";
export { GenError, GenErrors, formatGenErrors, formatLocation, type SourceLocation } from "./errors.js";
export { analyzeProject, planGeneration, readLock, today, type GenAnalysis, type GenOptions, type GenPlan } from "./gen.js";
export { diffOutput, listFiles, syncOutput, type OutputDiff, type SyncResult } from "./output.js";
export { canonicalClosure, formatSchemaId, schemaIdOf } from "./schema-id.js";
export { parseKeyTemplate, type KeyTemplate, type KeySegment } from "./key-template.js";
export { parseLock, retire, retiredMessages, revisionsOf, serializeLock, verifyLock, type LockEntry, type LockRetirement, type LockRevision, type SchemaLock } from "./lock.js";
export { isInt64, type DeclaredDefault, type EntityModel } from "./entities.js";
export { entityMessagesInProto, loadLockRevisions, loadProjectSchemas, type LockedEntity, type ProjectSchemas } from "./project-schemas.js";
export { CheckEnvironmentError, formatFinding, runCheck, type CheckOptions, type CheckReport, type Finding } from "./check/index.js";
export { objectWeight } from "./emit-decode.js";
