/** Types of compiled-cli.mjs (plain JavaScript: it must run before any TypeScript can). */
export declare function inputsHash(root: string, inputs: readonly string[], read?: (file: string) => Uint8Array): string | null;
/** The compiled build's directory when it matches the sources exactly, else null. */
export declare function freshBuild(root?: string): string | null;
/** Builds and publishes; null when another process holds the build lock. */
export declare function buildCli(root?: string): Promise<string | null>;
/** The compiled entry to import (building first if stale), or null: run the sources. */
export declare function compiledMain(root?: string): Promise<string | null>;
/** Whether the build bundles TensorFlow.js (not when @tensorflow/tfjs-node is installed). */
export declare function bundlesTensorflow(root?: string): boolean;
