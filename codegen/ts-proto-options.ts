/**
 * ts-proto's options, owned by the generator: the generated codecs read and
 * write exactly the shapes these produce, so a project cannot (and need not)
 * configure them. docs/codegen.md explains each one.
 */
export const tsProtoOptions: readonly string[] = [
  "onlyTypes=true",
  "forceLong=bigint",
  "useJsonName=true",
  "oneof=unions",
  "useMapType=true",
  "unknownFields=false",
  "useDate=false",
  "importSuffix=.js",
  "esModuleInterop=true",
  "exportCommonSymbols=false",
  "outputServices=false",
  "emitImportedFiles=false",
];
