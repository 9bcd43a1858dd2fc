import type { Linter } from 'eslint';

/** The shared kernel's folders under src/. */
export const KERNEL: string[];
/** Node's built-in modules by their bare names. */
export const NODE_BUILTINS: string[];
/** The flat-config blocks of the layer rules, for the repository at `root`. */
export function layerConfigs(root: string): Linter.Config[];
