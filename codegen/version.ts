import pkg from "../package.json" with { type: "json" };

/** protocache's version, printed in every generated file's header. */
export const generatorVersion: string = `v${pkg.version}`;
