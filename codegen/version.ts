import { createRequire } from "node:module";

/** protocache's version, printed in every generated file's header. */
export const generatorVersion: string = `v${(createRequire(import.meta.url)("../package.json") as { version: string }).version}`;
