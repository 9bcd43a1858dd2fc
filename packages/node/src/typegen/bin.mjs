#!/usr/bin/env node
// `npx ripcord <command>`: loads the TypeScript CLI through tsx (the project runs TypeScript directly).
import { register } from 'tsx/esm/api';

register();
const { runCli } = await import('./cli.ts');
process.exitCode = await runCli(process.argv.slice(2));
