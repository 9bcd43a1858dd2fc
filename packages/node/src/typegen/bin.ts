#!/usr/bin/env node
// `npx ripcord <command>` (the package's bin): see cli.ts.
import { runCli } from './cli.js';

process.exitCode = await runCli(process.argv.slice(2));
