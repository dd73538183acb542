#!/usr/bin/env node
// The protocache CLI. Runs the TypeScript sources through tsx's loader, so a
// fresh clone needs no build step.
import { register } from "tsx/esm/api";

register();
await import(new URL("../cli/main.ts", import.meta.url).href);
